"""Keeping an editor's diagnostics in step with the checks.

After every check the problems of each file are published (an empty list for a file whose problems
are gone). When the user saves source files, the workspace is checked again after a short quiet
time: first the fast tiers (syntax, imports, contract, ruff: well under a second), merged with the
tool tiers' last findings so nothing flickers, then the compiler and the interpreter.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import anyio

from protocol.models import Problem
from protocol.plan import Plan
from server.checks.problems import by_file, sort_problems
from server.checks.service import Checker, load_problems

log = logging.getLogger(__name__)

Publish = Callable[[Path, dict[str, list[Problem]]], None]
DEBOUNCE = 0.3
TOOL_SOURCES = frozenset({"tsc", "python", "smoke"})
SOURCE_SUFFIXES = (".ts", ".tsx", ".js", ".jsx", ".py", ".json", ".css")


def is_source(path: str) -> bool:
    return path.startswith(("frontend/", "backend/")) and path.endswith(SOURCE_SUFFIXES)


class ProblemPublisher:
    def __init__(self, checker: Checker, publish: Publish | None) -> None:
        self.checker = checker
        self._publish = publish
        self._published: dict[Path, set[str]] = {}
        self._pending: dict[Path, anyio.CancelScope] = {}

    def publish(self, root: Path, problems: list[Problem]) -> None:
        if self._publish is None:
            return
        grouped = by_file(problems)
        before = self._published.get(root, set())
        for path in before - set(grouped):
            grouped[path] = []  # its problems are gone: clear them in the editor
        self._published[root] = {path for path, found in grouped.items() if found}
        self._publish(root, grouped)

    async def recheck(self, root: Path, plan: Plan, changed: set[str]) -> None:
        """Check again after the user saved `changed` (debounced: a newer save restarts it)."""
        if not any(is_source(path) for path in changed):
            return
        previous = self._pending.pop(root, None)
        if previous is not None:
            previous.cancel()
        with anyio.CancelScope() as scope:
            self._pending[root] = scope
            await anyio.sleep(DEBOUNCE)
            log.info("checking %s again after changes to %s", root, ", ".join(sorted(changed)))
            last = await anyio.to_thread.run_sync(load_problems, root) or []
            quick = await self.checker.check(root, plan, tools=False)
            kept = [p for p in last if p.source in TOOL_SOURCES]
            self.publish(root, sort_problems([*quick.problems, *kept]))
            full = await self.checker.check(root, plan)
            self.publish(root, full.problems)
            log.info("%s checked again: %d problem(s)", root, len(full.problems))
        if self._pending.get(root) is scope:
            del self._pending[root]
