"""Checking a workspace: every tier, the last result kept in `.stepforge/problems.json`.

Tiers, cheapest first: syntax, imports and packages, the plan contract (pure, milliseconds), ruff,
then the TypeScript compiler and the interpreter importing the app (in the preview's runtime), and
with `runtime` the smoke test of the running app. A tier that cannot run is reported with why.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import anyio
from pydantic import ValidationError

from protocol.models import CheckResult, CheckTier, Problem
from protocol.plan import Plan
from server.checks import smoke
from server.checks.contract import check_contract
from server.checks.imports import check_imports
from server.checks.problems import counts, sort_problems
from server.checks.project import Project, load_project
from server.checks.syntax import check_syntax
from server.checks.toolchain import DockerToolchain, LocalToolchain, Toolchain, ToolUnavailable
from server.checks.tools import RUFF_RULES, parse_harness, parse_ruff, parse_tsc
from server.errors import StepForgeError
from server.preview.docker_runtime import DockerRuntime
from server.preview.service import PreviewService
from server.progress import NoProgress, Progress
from server.workspace.layout import PROBLEMS
from server.workspace.meta import MetaFiles

log = logging.getLogger(__name__)

Tier = Callable[[], Awaitable[list[Problem]]]


@dataclass
class CheckReport:
    problems: list[Problem]
    tiers: list[CheckTier]
    seconds: float = 0.0
    project: Project | None = field(default=None, repr=False)

    def result(self) -> CheckResult:
        return CheckResult(
            problems=self.problems,
            tiers=self.tiers,
            counts=counts(self.problems),
            elapsed_seconds=round(self.seconds, 3),
        )


def ruff_binary() -> str:
    from ruff.__main__ import find_ruff_bin

    return str(find_ruff_bin())


class Checker:
    def __init__(self, previews: PreviewService) -> None:
        self.previews = previews
        self._toolchains: dict[Path, Toolchain] = {}

    async def toolchain(self, root: Path) -> Toolchain:
        """The tools' runtime: the preview's choice (docker when it answers, local otherwise,
        with the same warning)."""
        if root not in self._toolchains:
            runtime, _ = await self.previews.choose_runtime(None)
            if isinstance(runtime, DockerRuntime):
                self._toolchains[root] = DockerToolchain(
                    runtime, root, self.previews.owner, self.previews.settings.container_env
                )
            else:
                self._toolchains[root] = LocalToolchain(root)
        return self._toolchains[root]

    async def aclose(self) -> None:
        for toolchain in self._toolchains.values():
            await anyio.to_thread.run_sync(toolchain.close)
        self._toolchains.clear()

    async def check(
        self,
        root: Path,
        plan: Plan | None,
        *,
        runtime: bool = False,
        tools: bool = True,
        progress: Progress | None = None,
    ) -> CheckReport:
        """Every tier (`tools=False`: the fast ones only, and the result is not kept)."""
        progress = progress or NoProgress()
        started = time.monotonic()
        project = await anyio.to_thread.run_sync(load_project, root, plan)
        tiers: list[CheckTier] = []
        problems: list[Problem] = []

        async def tier(name: str, work: Tier) -> None:
            began = time.monotonic()
            try:
                found = await work()
            except ToolUnavailable as error:
                tiers.append(CheckTier(name=name, ran=False, reason=str(error)))
                return
            except StepForgeError as error:
                tiers.append(CheckTier(name=name, ran=False, reason=error.message))
                return
            problems.extend(found)
            tiers.append(CheckTier(name=name, ran=True, seconds=round(time.monotonic() - began, 3)))

        async def static() -> list[Problem]:
            def run() -> list[Problem]:
                return check_syntax(project) + check_imports(project) + check_contract(project)

            return await anyio.to_thread.run_sync(run)

        progress.report("Checking syntax, imports and the plan's contract", 10)
        await tier("static", static)
        progress.report("Running ruff, the TypeScript compiler and the interpreter", 30)
        async with anyio.create_task_group() as group:
            group.start_soon(tier, "ruff", lambda: self._ruff(root))
            if tools:
                group.start_soon(tier, "tsc", lambda: self._tsc(root, project))
                group.start_soon(tier, "python", lambda: self._python(root, project))
        if runtime:
            progress.report("Running the app: backend endpoints and pages in a browser", 70)
            await tier("smoke", lambda: smoke.run(self.previews, root, project))
        report = CheckReport(
            sort_problems(without_echoes(problems)),
            sorted(tiers, key=lambda t: t.name),
            time.monotonic() - started,
            project,
        )
        if tools:
            await anyio.to_thread.run_sync(save_report, root, report)
        return report

    async def _ruff(self, root: Path) -> list[Problem]:
        if not (root / "backend").is_dir():
            return []
        command = [
            ruff_binary(),
            "check",
            "--isolated",
            "--select",
            RUFF_RULES,
            "--output-format",
            "json",
            "--no-cache",
            "--exit-zero",
            str(root / "backend"),
        ]
        completed = await anyio.run_process(command, check=False)
        return parse_ruff(completed.stdout.decode("utf-8", "replace"), str(root))

    async def _tsc(self, root: Path, project: Project) -> list[Problem]:
        if not project.ts_files():
            return []
        toolchain = await self.toolchain(root)
        run = await anyio.to_thread.run_sync(toolchain.tsc)
        found = parse_tsc(run.output)
        if run.code not in (0, 1, 2) and not found:
            raise ToolUnavailable(f"tsc failed (exit {run.code}): {run.output.strip()[-300:]}")
        return found

    async def _python(self, root: Path, project: Project) -> list[Problem]:
        if "backend/main.py" not in project.files:
            return []
        toolchain = await self.toolchain(root)
        run = await anyio.to_thread.run_sync(toolchain.import_app)
        return parse_harness(run.output, toolchain.backend_dir)


STATIC_SOURCES = frozenset({"syntax", "imports", "packages", "contract"})
TOOL_SOURCES = frozenset({"tsc", "ruff", "python"})


def _rank(source: str) -> int:
    return 0 if source in STATIC_SOURCES else 1 if source in TOOL_SOURCES else 2


def without_echoes(problems: list[Problem]) -> list[Problem]:
    """A later tier's report of what an earlier one already named on the same line (tsc's TS2305
    for a missing export, the interpreter's ImportError for a missing name, the smoke test's
    crash for an import error) is an echo: one defect, one problem."""
    best: dict[tuple[str, int], int] = {}
    for item in problems:
        key = (item.path, item.line)
        best[key] = min(best.get(key, 3), _rank(item.source))
    return [p for p in problems if _rank(p.source) == best[(p.path, p.line)]]


def save_report(root: Path, report: CheckReport) -> None:
    payload = {
        "checked": time.time(),
        "problems": [p.to_wire() for p in report.problems],
        "tiers": [t.to_wire() for t in report.tiers],
    }
    MetaFiles(root).write(PROBLEMS, json.dumps(payload, indent=1))


def load_problems(root: Path) -> list[Problem] | None:
    """The last check's problems, None if there was none (or it is unreadable)."""
    try:
        data = MetaFiles(root).read(PROBLEMS)
    except StepForgeError:
        return None
    if data is None:
        return None
    try:
        return [Problem.model_validate(p) for p in json.loads(data).get("problems", [])]
    except (ValueError, ValidationError, AttributeError):
        return None
