"""Checking a workspace: every tier, the last result kept in `.stepforge/problems.json`.

Tiers, cheapest first: syntax, imports and packages, the plan contract (pure, milliseconds), ruff,
then the TypeScript compiler and the interpreter importing the app (in the preview's runtime), and
with `runtime` the smoke test of the running app and the behaviour tier (`server.checks.behaviour`:
round trips and the API contract against a backend of its own on a scratch database; after
generate and change also without `runtime`, where the sandbox is available and the
`runtimeChecks` setting is on). A tier that cannot run, or does not finish (a
tool killed or timed out), is reported with why, and the result is then not complete: no
problems found by an incomplete check never reads as a clean project.

The tiers that run the project's code (the interpreter imports the app; the compiler runs the
plugins its tsconfig names; the smoke test runs the app) run in the Docker sandbox, or as local
processes only when the user chose the local runtime (the `previewRuntime` setting or
`STEPFORGE_PREVIEW_RUNTIME=local`, or `toolsRuntime` on the request: `check --tools-runtime
local`). Without Docker and without that choice they are skipped, saying how to enable them.
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

from protocol.models import (
    CheckResult,
    CheckTier,
    PageScreenshot,
    PreviewRuntime,
    Problem,
    ProblemCounts,
)
from protocol.plan import Plan
from server.checks import api_types, behaviour, pages_in_use, smoke
from server.checks.behaviour import findings as behaviour_findings
from server.checks.contract import check_contract
from server.checks.imports import check_imports
from server.checks.problems import counts, problem, sort_problems
from server.checks.project import Project, load_project
from server.checks.syntax import check_syntax
from server.checks.toolchain import DockerToolchain, LocalToolchain, Toolchain, ToolUnavailable
from server.checks.tools import RUFF_RULES, new_nonce, parse_harness, parse_ruff, parse_tsc
from server.errors import StepForgeError
from server.preview.docker_runtime import DockerRuntime
from server.preview.service import PreviewService
from server.progress import NoProgress, Progress
from server.tool_env import tool_environment
from server.workspace.layout import PROBLEMS
from server.workspace.meta import MetaFiles

log = logging.getLogger(__name__)

Tier = Callable[[], Awaitable[list[Problem]]]

NOT_CHOSEN = (
    "not run: no Docker sandbox is available ({reason}) and running this project's code on this "
    "machine was not chosen; start Docker, or pass --tools-runtime local to `stepforge check` / "
    "set STEPFORGE_PREVIEW_RUNTIME=local or the stepforge.previewRuntime user setting to local "
    "to allow it"
)
# Exit codes of a tool that did not finish (`timeout`'s, a signal's): never read as a verdict.
TIMED_OUT, NOT_RUNNABLE = 124, (126, 127)


@dataclass
class CheckReport:
    problems: list[Problem]
    tiers: list[CheckTier]
    seconds: float = 0.0
    project: Project | None = field(default=None, repr=False)
    screenshots: list[PageScreenshot] = field(default_factory=list)

    @property
    def not_run(self) -> list[str]:
        """The tiers that applied but did not run or finish."""
        return [tier.name for tier in self.tiers if not tier.ran]

    @property
    def complete(self) -> bool:
        return not self.not_run

    def result(self) -> CheckResult:
        return CheckResult(
            problems=self.problems,
            tiers=self.tiers,
            counts=ProblemCounts.model_validate(counts(self.problems)),
            elapsed_seconds=round(self.seconds, 3),
            complete=self.complete,
            not_run=self.not_run,
            screenshots=self.screenshots,
        )


def did_not_finish(tool: str, code: int, output: str) -> str | None:
    """Why a tool's run is no verdict (killed, timed out, could not start), or None."""
    if code == TIMED_OUT:
        return f"{tool} did not finish: timed out (exit {code})"
    if code in NOT_RUNNABLE:
        return f"{tool} could not run (exit {code}): {output.strip()[-300:]}"
    if code < 0 or code >= 128:
        how = "killed" if code in (137, -9) else "ended by a signal" if code >= 128 else "lost"
        return f"{tool} did not finish: {how} (exit {code})"
    return None


def ruff_binary() -> str:
    from ruff.__main__ import find_ruff_bin

    return str(find_ruff_bin())


class Checker:
    def __init__(self, previews: PreviewService) -> None:
        self.previews = previews
        self._toolchains: dict[tuple[Path, PreviewRuntime], Toolchain] = {}

    async def code_runtime(self, requested: PreviewRuntime | None) -> PreviewRuntime:
        """Where the tiers that run the project's code run: docker, or local only when the user
        chose it (the request, the previewRuntime setting, STEPFORGE_PREVIEW_RUNTIME). Never
        falls back to local: raises ToolUnavailable saying how to enable the tier instead."""
        configured = self.previews.settings.preview_runtime
        name = requested or (None if configured == "auto" else configured)
        if name == "local":
            return "local"
        docker = self.previews.runtimes["docker"]
        reason = await anyio.to_thread.run_sync(docker.unavailable)
        if reason is None:
            return "docker"
        if name == "docker":
            raise ToolUnavailable(f"not run: the Docker runtime is unavailable: {reason}")
        raise ToolUnavailable(NOT_CHOSEN.format(reason=reason))

    async def toolchain(self, root: Path, requested: PreviewRuntime | None = None) -> Toolchain:
        """The tools' runtime (see `code_runtime`), one per workspace and runtime."""
        wants_local = (requested or self.previews.settings.preview_runtime) == "local"
        if not wants_local and (root, "docker") in self._toolchains:
            return self._toolchains[(root, "docker")]  # warm: no need to ask the engine again
        name = await self.code_runtime(requested)
        key = (root, name)
        if key not in self._toolchains:
            runtime = self.previews.runtimes[name]
            if isinstance(runtime, DockerRuntime):
                self._toolchains[key] = DockerToolchain(
                    runtime, root, self.previews.owner, self.previews.settings.container_env
                )
            else:
                self._toolchains[key] = LocalToolchain(root)
        return self._toolchains[key]

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
        tools_runtime: PreviewRuntime | None = None,
        plan_error: str | None = None,
        behaviour_checks: bool = False,
    ) -> CheckReport:
        """Every tier (`tools=False`: the fast ones only, and the result is not kept).
        `behaviour_checks`: the behaviour tier without the rest of the runtime tier (the repair
        loop's choice where a sandbox is available); `runtime` runs it too.
        `plan_error`: why plan.json could not be read (a problem on it; the contract with the
        plan then goes unchecked, so the check is not complete)."""
        progress = progress or NoProgress()
        started = time.monotonic()
        project = await anyio.to_thread.run_sync(load_project, root, plan)
        tiers: list[CheckTier] = []
        problems: list[Problem] = []
        if plan_error:
            problems.append(
                problem(".stepforge/plan.json", 1, 1, "plan-invalid", plan_error, "contract")
            )
            if plan is None:
                reason = "the checks against the plan did not run: " + plan_error.splitlines()[0]
                tiers.append(CheckTier(name="plan", ran=False, reason=reason[:400]))

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

        if tools and api_types.applies(project):
            # Before every other tier: the compiler (and the import check) read the types.
            progress.report("Writing the frontend's types from the backend's API", 5)
            written: list[bool] = []
            await tier("types", lambda: self._api_types(root, project, tools_runtime, written))
            if any(written):
                project = await anyio.to_thread.run_sync(load_project, root, plan)
        progress.report("Checking syntax, imports and the plan's contract", 10)
        await tier("static", static)
        progress.report("Running ruff, the TypeScript compiler and the interpreter", 30)
        async with anyio.create_task_group() as group:
            group.start_soon(tier, "ruff", lambda: self._ruff(root, project))
            if tools:
                group.start_soon(tier, "tsc", lambda: self._tsc(root, project, tools_runtime))
                group.start_soon(tier, "python", lambda: self._python(root, project, tools_runtime))
        screenshots: list[PageScreenshot] = []
        if runtime:
            progress.report("Running the app: backend endpoints and pages in a browser", 70)
            unused: list[str] = []
            await tier(
                "smoke", lambda: self._smoke(root, project, tools_runtime, screenshots, unused)
            )
            if unused:  # the pages in use, part of the smoke test, did not run: say so
                tiers.append(CheckTier(name=pages_in_use.TIER, ran=False, reason=unused[0]))
        if (runtime or behaviour_checks) and tools and behaviour.applies(project):
            progress.report(
                "Exercising the backend's API: round trips and its OpenAPI contract", 85
            )
            await tier("behaviour", lambda: self._behaviour(root, project, tools_runtime))
        report = CheckReport(
            sort_problems(without_echoes(without_smoke_repeats(problems))),
            sorted(tiers, key=lambda t: t.name),
            time.monotonic() - started,
            project,
            screenshots,
        )
        if tools:
            await anyio.to_thread.run_sync(save_report, root, report)
        return report

    async def _ruff(self, root: Path, project: Project) -> list[Problem]:
        # The files the walk read, not the folder: ruff would read a linked file inside it.
        files = [str(root / path) for path in project.py_files()]
        if not files:
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
            *files,
        ]
        completed = await anyio.run_process(command, check=False, env=tool_environment())
        return parse_ruff(completed.stdout.decode("utf-8", "replace"), str(root))

    async def _api_types(
        self,
        root: Path,
        project: Project,
        requested: PreviewRuntime | None,
        written: list[bool],
    ) -> list[Problem]:
        toolchain = await self.toolchain(root, requested)
        try:
            outcome = await anyio.to_thread.run_sync(api_types.refresh, toolchain, root, project)
        except api_types.BackendDoesNotImport as error:
            log.info("frontend types not refreshed: %s", error)
            return []
        written.append(outcome.written)
        return []

    async def refresh_api_types(self, root: Path, plan: Plan | None) -> bool:
        """Write the frontend's types from the backend's API now, where the project's code may
        run (see `code_runtime`): during generation, so that the frontend files that call the
        API get them in their prompt. False where they cannot be had yet (no sandbox, a backend
        that does not import): the files are then generated without them, and the check after
        generation says why its types tier did not run, if it still cannot."""
        project = await anyio.to_thread.run_sync(load_project, root, plan)
        if not api_types.applies(project):
            return False
        try:
            toolchain = await self.toolchain(root)
            await anyio.to_thread.run_sync(api_types.refresh, toolchain, root, project)
        except (ToolUnavailable, StepForgeError, OSError) as error:
            log.info("frontend types not written during generation: %s", error)
            return False
        return True

    async def _tsc(
        self, root: Path, project: Project, requested: PreviewRuntime | None
    ) -> list[Problem]:
        if not project.ts_files():
            return []
        toolchain = await self.toolchain(root, requested)
        run = await anyio.to_thread.run_sync(toolchain.tsc)
        unfinished = did_not_finish("tsc", run.code, run.output)
        if unfinished:
            raise ToolUnavailable(unfinished)
        found = parse_tsc(run.output)
        if run.code not in (0, 1, 2) or (run.code != 0 and not found):
            raise ToolUnavailable(f"tsc failed (exit {run.code}): {run.output.strip()[-300:]}")
        return found

    async def _python(
        self, root: Path, project: Project, requested: PreviewRuntime | None
    ) -> list[Problem]:
        if "backend/main.py" not in project.files:
            return []
        toolchain = await self.toolchain(root, requested)
        nonce = new_nonce()
        run = await anyio.to_thread.run_sync(toolchain.import_app, nonce)
        unfinished = did_not_finish("the interpreter", run.code, run.output)
        if unfinished:
            raise ToolUnavailable(unfinished)
        return parse_harness(run.verdict, toolchain.backend_dir, nonce, run.output)

    async def _smoke(
        self,
        root: Path,
        project: Project,
        requested: PreviewRuntime | None,
        screenshots: list[PageScreenshot],
        unused: list[str],
    ) -> list[Problem]:
        status = await self.previews.status(root)
        # A preview the user started runs where they chose; one started for the test must not
        # fall back to local processes unasked.
        name = status.runtime if status.running else None
        name = name or await self.code_runtime(requested)
        return await smoke.run(self.previews, root, project, name, screenshots, unused)

    async def sandbox_available(self) -> bool:
        """Whether the Docker sandbox can run the project's code now (never local processes:
        what runs unasked after generate or change runs sandboxed, or not at all)."""
        reason = await anyio.to_thread.run_sync(self.previews.runtimes["docker"].unavailable)
        return reason is None

    async def _behaviour(
        self, root: Path, project: Project, requested: PreviewRuntime | None
    ) -> list[Problem]:
        name = await self.code_runtime(requested)
        runtime = self.previews.runtimes[name]
        where = behaviour.Where(
            runtime if isinstance(runtime, DockerRuntime) else None,
            self.previews.owner,
            self.previews.settings.container_env,
        )
        return await behaviour.run(root, project, where)


STATIC_SOURCES = frozenset({"syntax", "imports", "packages", "contract"})
TOOL_SOURCES = frozenset({"tsc", "ruff", "python"})


def _rank(source: str) -> int:
    return 0 if source in STATIC_SOURCES else 1 if source in TOOL_SOURCES else 2


def without_smoke_repeats(problems: list[Problem]) -> list[Problem]:
    """The behaviour tier's failure of a GET the smoke test already found failing (its 5xx, or no
    answer) is the same defect: the smoke test's problem names it once."""
    failing = set()
    for item in problems:
        if item.code == "endpoint-error" and " answered " in item.message:
            failing.add((item.path, item.message[: item.message.index(" answered ")]))
    return [
        p
        for p in problems
        if not (
            p.source == behaviour_findings.SOURCE
            and any(p.path == path and f": {sent} " in p.message for path, sent in failing)
        )
    ]


def without_echoes(problems: list[Problem]) -> list[Problem]:
    """A later tier's report of what an earlier one already named on the same line (tsc's TS2305
    for a missing export, the interpreter's ImportError for a missing name, the smoke test's
    crash for an import error) is an echo: one defect, one problem."""
    best: dict[tuple[str, int], int] = {}
    for item in problems:
        key = (item.path, item.line)
        best[key] = min(best.get(key, 3), _rank(item.source))
    return [p for p in problems if _rank(p.source) == best[(p.path, p.line)]]


def has_app(root: Path) -> bool:
    """Whether the folder holds an app to check: its frontend or backend folder."""
    return any((root / role).is_dir() for role in ("frontend", "backend"))


def save_report(root: Path, report: CheckReport) -> None:
    """Keep the report in `.stepforge/problems.json` (for `status` and the editor). A folder
    without `.stepforge/` (not a StepForge project yet) is left as it is: checking writes nothing
    there."""
    if not (root / ".stepforge").is_dir():
        return
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
