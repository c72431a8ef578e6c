"""StepForge's services behind one object, free of LSP: the language server calls these methods,
and so can tests. Each method takes validated params and a workspace root, and returns a result
model of the protocol."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio

from protocol import methods
from protocol.errors import ErrorCode
from protocol.models import (
    ChangeParams,
    ChangeResult,
    CheckParams,
    CheckResult,
    CommitInfo,
    ConflictDetailsParams,
    ConflictDetailsResult,
    FileState,
    FileStatusNotification,
    GenerateParams,
    GenerateResult,
    HistoryResult,
    PlanParams,
    PlanResult,
    PreviewLogNotification,
    PreviewLogsParams,
    PreviewLogsResult,
    PreviewResetDataParams,
    PreviewResetDataResult,
    PreviewStartParams,
    PreviewStartResult,
    PreviewStatusResult,
    PreviewStopResult,
    Problem,
    ProblemCounts,
    RegenerateFileParams,
    RegenerateFileResult,
    ResolveConflictParams,
    ResolveConflictResult,
    StatusResult,
    UndoResult,
    WireModel,
)
from protocol.plan import Plan
from server.change.service import ChangeService
from server.checks.problems import counts
from server.checks.publisher import ProblemPublisher
from server.checks.service import Checker, has_app, load_problems
from server.config import Settings
from server.errors import StepForgeError, WorkspaceBusyError
from server.generation.regenerate import regenerate_file
from server.generation.service import GenerationRun, RunOptions
from server.llm import LLMClient
from server.planning.naming import project_name
from server.planning.planner import Planner, plan_document
from server.preview import migrations
from server.preview.records import Role
from server.preview.reset import reset_data
from server.preview.service import PreviewService
from server.progress import Progress
from server.repair import check_and_repair
from server.status import build_status
from server.template import template_paths
from server.template.install import lay_out_template, register
from server.template.packages import add_plan_packages
from server.template.registrar import affects_registries
from server.workspace import layout
from server.workspace.conflicts import conflict_details
from server.workspace.git.commits import CommitOutcome
from server.workspace.git.ignore import PLAN_PATH
from server.workspace.git.recorder import GitRecorder
from server.workspace.layout import PROBLEMS
from server.workspace.lock import HOLDER, WorkspaceLock
from server.workspace.session import WorkspaceSession
from server.workspace.watcher import WorkspaceWatcher
from server.workspace.writable import require_writable

log = logging.getLogger(__name__)

Notify = Callable[[str, WireModel], None]
ShowMessage = Callable[[str], None]
PublishDiagnostics = Callable[[Path, dict[str, list[Problem]]], None]


WRITING_JOBS = ("generate", "change")  # jobs whose runs have stretches with no file generating


def writing_elsewhere(session: WorkspaceSession) -> bool:
    """Blocking: whether another process's generate or change holds the workspace. Between its
    files (the backend's types being written, its checks and repairs) no file is `generating`,
    and the job still is."""
    try:
        holder = (session.meta.read(HOLDER) or b"").decode("utf-8", "replace").split()
        job = holder[1] if len(holder) > 1 and holder[0] == "stepforge" else ""
        return job in WRITING_JOBS and WorkspaceLock(session.meta, "status").held()
    except (StepForgeError, OSError):  # a status reader never fails on the lock's courtesy line
        return False


def commit_info(outcome: CommitOutcome | None) -> CommitInfo | None:
    if outcome is None:
        return None
    return CommitInfo(sha=outcome.sha, message=outcome.message, warning=outcome.warning)


class StepForge:
    def __init__(
        self,
        settings: Settings,
        notify: Notify | None = None,
        show_warning: ShowMessage | None = None,
        watch: bool = False,
        publish_diagnostics: PublishDiagnostics | None = None,
    ) -> None:
        self.settings = settings
        self._notify = notify
        self._show_warning = show_warning
        self.watch = watch
        self.llm = LLMClient(settings)
        self.planner = Planner(self.llm, settings)
        self.sessions: dict[Path, WorkspaceSession] = {}
        self.previews = PreviewService(settings, on_log=self._on_preview_log, on_warning=self.warn)
        self.watchers: dict[Path, WorkspaceWatcher] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.checker = Checker(self.previews)
        self.problems = ProblemPublisher(self.checker, publish_diagnostics)
        self.changes = ChangeService(self.llm, settings, self.checker, self.problems)
        self.git = GitRecorder(settings.git, warn=self.warn)

    def notify(self, method: str, payload: WireModel) -> None:
        if self._notify is not None:
            self._notify(method, payload)

    def warn(self, message: str) -> None:
        log.warning("%s", message)
        if self._show_warning is not None:
            self._show_warning(message)

    def session(self, root: Path) -> WorkspaceSession:
        if root not in self.sessions:
            self.sessions[root] = WorkspaceSession(
                root, self._on_file_status, max_planned_files=self.settings.max_planned_files
            )
            self.sessions[root].on_run_finished = self.git.run_finished
            if self.watch:
                self._start_watching(self.sessions[root])
        return self.sessions[root]

    def _on_file_status(self, notification: FileStatusNotification) -> None:
        self.notify(methods.FILE_STATUS, notification)

    def _on_preview_log(self, workspace: str, role: Role, line: str) -> None:
        notification = PreviewLogNotification(workspace=workspace, role=role, line=line)
        self.notify(methods.PREVIEW_LOG, notification)

    def start_background(self, work: Callable[[], Any]) -> None:
        """Run a coroutine in the background; a failure is logged, never lost."""
        task = asyncio.get_running_loop().create_task(work())
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    async def aclose(self) -> None:
        """The session ends: stop its previews (not detached ones), its watchers, its LLM client."""
        await self.previews.shutdown()
        for task in list(self._tasks):
            task.cancel()
        await self.checker.aclose()
        await self.llm.aclose()

    # --- watching the user's edits -------------------------------------------------------------

    def _start_watching(self, session: WorkspaceSession) -> None:
        async def on_changes(paths: set[str]) -> None:
            await self._changes(session, paths)

        watcher = WorkspaceWatcher(session.root, on_changes)
        self.watchers[session.root] = watcher

        async def watch() -> None:
            await self._refresh_watch(session)
            await watcher.run()

        self.start_background(watch)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task failed", exc_info=task.exception())

    async def _refresh_watch(self, session: WorkspaceSession) -> None:
        """Watch the folders the plan and the state name now (new ones appear with a plan or a run)."""
        watcher = self.watchers.get(session.root)
        if watcher is not None:
            watcher.watch(await anyio.to_thread.run_sync(session.watch_folders))

    async def _changes(self, session: WorkspaceSession, paths: set[str]) -> None:
        """The user touched files: re-read the plan if it was edited, re-derive file states."""
        if ".stepforge/plan.json" in paths:
            await self._plan_edited(session)
        await session.refresh(paths)
        if session.job is None:  # a job of this daemon checks again when it ends
            self._recheck_after_job(session, paths)

    async def document_saved(self, root: Path, path: str) -> None:
        """An editor's `textDocument/didSave`: the same as an edit the watcher saw. Only a
        StepForge workspace gets a session from a save."""
        session = self.sessions.get(root)
        if session is None and (root / ".stepforge").is_dir():
            session = self.session(root)
        if session is None:
            return
        if session.current_plan is None:  # nothing watched this workspace yet: read its plan
            await anyio.to_thread.run_sync(session.load_plan)
        await self._changes(session, {path})

    def _recheck_after_job(self, session: WorkspaceSession, paths: set[str]) -> None:
        """A checked project whose files changed (a save, a regeneration): check it again, so
        the editor's diagnostics follow."""
        plan = session.current_plan
        if plan is not None and session.meta.stat(PROBLEMS) is not None:
            self.start_background(lambda: self.problems.recheck(session.root, plan, paths))

    async def _plan_edited(self, session: WorkspaceSession) -> None:
        before = session.current_plan
        plan = await anyio.to_thread.run_sync(session.load_plan)
        if session.plan_error:
            self.warn(
                f"The plan has problems; the last valid plan stays in use.\n{session.plan_error}"
            )
            return
        if plan is None or plan == before:
            return
        log.info("the plan of %s changed; registering its routes", session.root)
        try:
            async with session.exclusive("register"):
                await register(session, plan)
                await add_plan_packages(session, plan)
        except WorkspaceBusyError:
            log.info("a job holds %s: the routes are registered when it ends", session.root)
        await self._refresh_watch(session)

    # --- stepforge/plan ------------------------------------------------------------------------

    async def plan(self, root: Path, params: PlanParams, progress: Progress) -> PlanResult:
        await anyio.to_thread.run_sync(require_writable, root)  # before the LLM is asked
        session = self.session(root)
        await self.llm.prepare()
        async with session.exclusive("plan") as store:
            answer = await self.planner.make_plan(
                params.request,
                progress,
                meta=session.meta,
                template_paths=template_paths(),
                exists=session.exists,
            )
            name = store.state.project_name or project_name(
                answer.value.project_name, params.request
            )
            plan = answer.value.model_copy(update={"project_name": name})
            progress.report("Writing .stepforge/plan.json", 90)
            meta = session.meta
            previous = await anyio.to_thread.run_sync(meta.read, layout.PLAN)
            if previous is not None:
                await anyio.to_thread.run_sync(meta.write, layout.PLAN_PREVIOUS, previous)
            await anyio.to_thread.run_sync(meta.write, layout.PLAN, plan_document(plan))
            session.set_plan(plan)
            session.wrote(PLAN_PATH)
            if session.run is not None:
                session.run.request = params.request
            store.state.project_name = name
            store.state.request = params.request
            for path in plan.file_paths():
                store.record(path)
            store.add_usage(None, answer.usage)
            progress.report("Laying out the template and registering routes", 95)
            notes = await lay_out_template(session)
            notes += (await register(session, plan)).notes
            notes += await add_plan_packages(session, plan)
            await store.save()
        await self._refresh_watch(session)
        return PlanResult(
            project_name=name,
            plan=plan.to_document(),
            plan_path=str(session.plan_path),
            usage=answer.usage,
            attempts=answer.attempts,
            notes=notes,
            commit=commit_info(session.last_commit),
        )

    # --- stepforge/status ----------------------------------------------------------------------

    async def status(self, root: Path) -> StatusResult:
        session = self.session(root)
        if session.job is not None:
            # A job of this process holds the state: copy what status needs on the loop, so the
            # worker thread never reads a dict the job is changing.
            state = session.store.state.model_copy(deep=True)
        else:
            state = await anyio.to_thread.run_sync(session.current_state)
        plan = await anyio.to_thread.run_sync(session.load_plan)
        paths = plan.file_paths() if plan is not None else list(state.files)
        effective = await anyio.to_thread.run_sync(session.effective_states, state, paths)
        generating = (
            session.job is not None
            or any(s == FileState.GENERATING for s in effective.values())
            or await anyio.to_thread.run_sync(writing_elsewhere, session)
        )
        status = build_status(root, plan, session.plan_error, state, effective, generating)
        problems = await anyio.to_thread.run_sync(load_problems, root)
        if problems is not None:
            status.problems = ProblemCounts.model_validate(counts(problems))
        return status

    # --- stepforge/generate --------------------------------------------------------------------

    async def generate(
        self, root: Path, params: GenerateParams, progress: Progress
    ) -> GenerateResult:
        await anyio.to_thread.run_sync(require_writable, root)  # before the LLM is asked
        session = self.session(root)
        await self.llm.prepare()
        async with session.exclusive("generate") as store:
            plan = await anyio.to_thread.run_sync(session.require_plan)
            # A plan written by hand, without `plan`, still gets the app around it. Both are no-ops
            # once the template is there and the plan's packages are in its manifests.
            await lay_out_template(session)
            await add_plan_packages(session, plan)
            registering = anyio.Lock()

            async def on_file_done(path: str) -> None:
                # A page or an API module just landed: show it in the running preview at once.
                if affects_registries(plan, path):
                    async with registering:
                        await register(session, plan)

            run = GenerationRun(
                session,
                plan,
                self.llm,
                self.settings,
                progress,
                RunOptions(
                    only=params.only,
                    force=params.force,
                    concurrency=params.concurrency or self.settings.concurrency,
                    single_shot=params.single_shot,
                ),
                on_file_done,
                refresh_types=lambda: self.checker.refresh_api_types(root, plan),
            )
            result = await run.run()
            async with registering:
                await register(session, plan)
            await self._check_and_repair(session, plan, params, progress, result)
            await self.changes.finish_interrupted(session)
            await store.save()
            await session.prune_baselines()
        await self._refresh_watch(session)
        result.commit = commit_info(session.last_commit)
        return result

    async def _check_and_repair(
        self,
        session: WorkspaceSession,
        plan: Plan,
        params: GenerateParams,
        progress: Progress,
        result: GenerateResult,
    ) -> None:
        """Check the project; regenerate files with problems (unless repair is off); report what
        remains, in the result and in the editor. Only while holding the workspace lock."""
        rounds = (
            params.repair_rounds
            if params.repair_rounds is not None
            else self.settings.repair_rounds
        )
        outcome = await check_and_repair(
            session,
            plan,
            self.llm,
            self.settings,
            self.checker,
            progress,
            rounds=rounds if params.repair else 0,
            concurrency=params.concurrency or self.settings.concurrency,
            runtime_checks=params.runtime_checks,
        )
        result.problems = outcome.report.problems
        result.repaired = sorted(outcome.repaired)
        result.repair_usage = outcome.usage
        result.conflicts += outcome.conflicts
        result.checks = outcome.report.tiers
        self.problems.publish(session.root, outcome.report.problems)

    # --- stepforge/change, history, undo -------------------------------------------------------

    async def change(self, root: Path, params: ChangeParams, progress: Progress) -> ChangeResult:
        if not params.dry_run:  # before the LLM is asked
            await anyio.to_thread.run_sync(require_writable, root)
        session = self.session(root)
        result = await self.changes.change(session, params, progress)
        await self._refresh_watch(session)
        if not params.dry_run:
            result.commit = commit_info(session.last_commit)
        return result

    async def history(self, root: Path) -> HistoryResult:
        return await self.changes.history(self.session(root))

    async def undo(self, root: Path) -> UndoResult:
        await anyio.to_thread.run_sync(require_writable, root)
        session = self.session(root)
        result = await self.changes.undo(session)
        result.commit = commit_info(session.last_commit)
        self._recheck_after_job(session, set(result.reverted))
        return result

    # --- stepforge/check -----------------------------------------------------------------------

    async def check(self, root: Path, params: CheckParams, progress: Progress) -> CheckResult:
        session = self.session(root)
        plan = await anyio.to_thread.run_sync(session.load_plan)
        if plan is None and session.plan_error is None and not has_app(root):
            raise StepForgeError(
                f"No app in {root}: nothing to check. Create one first (`stepforge new`, or "
                "`stepforge plan` and `stepforge generate` in this folder).",
                code=ErrorCode.PLAN_MISSING,
            )
        report = await self.checker.check(
            root,
            plan,
            runtime=params.runtime,
            progress=progress,
            tools_runtime=params.tools_runtime,
            plan_error=session.plan_error,
        )
        self.problems.publish(root, report.problems)
        return report.result()

    # --- stepforge/regenerateFile, resolveConflict, conflictDetails ----------------------------

    async def regenerate_file(
        self, root: Path, params: RegenerateFileParams, progress: Progress
    ) -> RegenerateFileResult:
        await anyio.to_thread.run_sync(require_writable, root)
        session = self.session(root)
        await self.llm.prepare()
        async with session.exclusive("regenerate"):
            plan = await anyio.to_thread.run_sync(session.require_plan)
            result = await regenerate_file(session, plan, self.llm, self.settings, params, progress)
            if affects_registries(plan, result.path):
                await register(session, plan)
            # A regenerated model can alter a table: the database follows (see migrations).
            migration, _problems = await migrations.after_run(
                session, self.settings, [result.path], f"regenerate {result.path}"
            )
            if migration is not None and migration.state != "current":
                result.message += " " + migration.message()
            await session.prune_baselines()
        result.commit = commit_info(session.last_commit)
        self._recheck_after_job(session, {result.path})
        return result

    async def resolve_conflict(
        self, root: Path, params: ResolveConflictParams
    ) -> ResolveConflictResult:
        await anyio.to_thread.run_sync(require_writable, root)
        session = self.session(root)
        async with session.exclusive("resolve"):
            # Through the change service: a conflict a change raised is settled as part of it.
            result = await self.changes.resolve(session, params)
            await session.prune_baselines()
        result.commit = commit_info(session.last_commit)
        self._recheck_after_job(session, {result.path})
        return result

    async def conflict_details(
        self, root: Path, params: ConflictDetailsParams
    ) -> ConflictDetailsResult:
        session = self.session(root)
        state = (
            session.store.state
            if session.job
            else await anyio.to_thread.run_sync(session.current_state)
        )
        return await conflict_details(session, state, params.conflict_id)

    # --- preview -------------------------------------------------------------------------------

    async def preview_start(
        self, root: Path, params: PreviewStartParams, progress: Progress
    ) -> PreviewStartResult:
        return await self.previews.start(root, params, progress)

    async def preview_stop(self, root: Path) -> PreviewStopResult:
        return await self.previews.stop(root)

    async def preview_status(self, root: Path) -> PreviewStatusResult:
        return await self.previews.status(root)

    async def preview_logs(self, root: Path, params: PreviewLogsParams) -> PreviewLogsResult:
        return await self.previews.logs(root, params.lines)

    async def preview_reset_data(
        self, root: Path, params: PreviewResetDataParams, progress: Progress
    ) -> PreviewResetDataResult:
        return await reset_data(self.previews, root, params, progress)
