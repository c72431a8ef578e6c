"""The types step of a generation run (pure): the frontend files that call the API wait for the
backend's files of the run to be written (or to have failed), then for one refresh of the
backend's API as TypeScript types (`server.checks.api_types`), so that their prompt carries the
types at first generation too, not only after a check.

A soft edge: a backend file that failed does not skip the files waiting for the types (they are
generated without them, as they would be without a sandbox or with a backend that does not import
yet). An API-calling frontend file that a backend file of the run itself depends on waits for
nothing (no cycle).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from protocol.plan import Plan
from server.checks.api_types import calls_the_api
from server.plan import dag

NAME = "(the backend's API as TypeScript types)"  # the step's name in the scheduler; no path


def is_backend_source(path: str) -> bool:
    return path.startswith("backend/") and path.endswith(".py")


@dataclass
class TypesStep:
    sources: frozenset[str]  # the run's backend files: the API is known once they are settled
    callers: frozenset[str]  # the run's frontend files that call the API: they wait for the step
    started: bool = False
    done: bool = False

    def lets(self, path: str) -> bool:
        """Whether `path` may start as far as the step is concerned."""
        return self.done or path not in self.callers

    def due(
        self, settled: Collection[str], waiting: Collection[str], running: Collection[str]
    ) -> bool:
        """Whether the refresh should start now: every source settled (written, failed or
        skipped), or nothing else running that could settle them. With no caller left waiting
        the step is done without a refresh."""
        if self.started or self.done:
            return False
        if not any(path in waiting for path in self.callers):
            self.done = True
            return False
        return self.sources.issubset(settled) or not running


def plan_step(plan: Plan, targets: list[str], deps: dict[str, list[str]]) -> TypesStep | None:
    """The run's types step, None when the run writes no backend file or no file that calls the
    API (the types on disk, if any, are then as current as the run can make them)."""
    sources = frozenset(p for p in targets if is_backend_source(p))
    if not sources:
        return None
    needed_by_sources: set[str] = set()
    for source in sources:
        needed_by_sources |= dag.transitive_dependencies(deps, source)
    callers = frozenset(
        p
        for p in targets
        if p not in needed_by_sources and calls_the_api(p, None) and p in plan.file_paths()
    )
    return TypesStep(sources, callers) if callers else None
