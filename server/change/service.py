"""Changing a generated app with a request, recording it, undoing it.

A change: one LLM call for a plan delta (validated like a plan, re-asked with its problems), then
under the workspace lock: the history entry, the new plan, removals of files StepForge owns and
the user left alone, routes and packages, the new and modified files through the same scheduler
as generate (their instructions kept in the state, so a killed run resumes with `generate`), then
check and repair; a behaviour finding on what worked before the change is reported as a
regression (`server.checks.behaviour.regressions`). Undo reverts the last change for the files the
user has not edited since.
"""

from __future__ import annotations

import contextlib
import glob
import logging
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import anyio

from protocol.delta import PlanDelta
from protocol.errors import ErrorCode
from protocol.models import (
    ChangeParams,
    ChangeResult,
    FileIssue,
    FileState,
    HistoryEntry,
    HistoryResult,
    ResolveConflictParams,
    ResolveConflictResult,
    UndoResult,
    Usage,
)
from protocol.plan import Plan
from server import prompts
from server.change.delta import validate_delta
from server.change.prompt import change_messages
from server.change.undo import breakage_line, is_changes_output, kept_breakage, revert_commits
from server.checks.behaviour import regressions
from server.checks.publisher import ProblemPublisher
from server.checks.service import Checker, CheckReport, save_report
from server.config import Settings
from server.errors import StepForgeError
from server.generation.service import GenerationRun, RunOptions
from server.llm import LLMClient
from server.planning.asking import JsonAsk, ask_until_valid
from server.planning.planner import plan_document
from server.preview import migrations
from server.progress import Progress
from server.repair import check_and_repair
from server.template import template_paths
from server.template.install import register
from server.template.packages import add_plan_packages
from server.workspace import layout
from server.workspace.atomic import atomic_write
from server.workspace.conflicts import resolve_conflict
from server.workspace.git.history import run_commits
from server.workspace.git.ignore import PLAN_PATH
from server.workspace.git.repository import find_repository
from server.workspace.git.trailers import (
    PART_OF_TRAILER,
    REVERTS_TRAILER,
    RunCommit,
    last_undoable_change,
    reverted,
)
from server.workspace.history import ChangeEntry, HistoryStore, TouchedFile
from server.workspace.paths import safe_join
from server.workspace.session import WorkspaceSession

log = logging.getLogger(__name__)


def remove_stale_temps(target: Path) -> None:
    """Blocking: the temp files of StepForge's writes of `target` that a killed daemon left
    beside it (`.NAME.*.stepforge-tmp`, see `server.workspace.atomic`)."""
    with contextlib.suppress(OSError):
        for stale in target.parent.glob(f".{glob.escape(target.name)}.*.stepforge-tmp"):
            if stale.is_file() and not stale.is_symlink():
                stale.unlink()


def delta_response_format() -> dict[str, object]:
    return {"name": "stepforge_delta", "schema": PlanDelta.model_json_schema(), "strict": False}


class ChangeService:
    def __init__(
        self,
        llm: LLMClient,
        settings: Settings,
        checker: Checker,
        problems: ProblemPublisher,
    ) -> None:
        self.llm = llm
        self.settings = settings
        self.checker = checker
        self.problems = problems

    # --- asking for the delta ------------------------------------------------------------------

    def _files_now(self, session: WorkspaceSession, plan: Plan) -> dict[str, str]:
        """Blocking: every planned file on disk, as it is now (the user's edits included)."""
        files = {}
        for path in plan.file_paths():
            data = session.read(path)
            if data is not None:
                files[path] = data.decode("utf-8", "replace")
        return files

    def _delta_check(
        self, session: WorkspaceSession, plan: Plan
    ) -> Callable[[Any], tuple[PlanDelta, Plan]]:
        """Blocking: how a delta is checked, the LLM's answer and a confirmed one alike."""
        return partial(
            validate_delta,
            plan,
            template_paths=template_paths(),
            exists=session.exists,
            max_files=self.settings.max_planned_files,
        )

    async def _ask(
        self, session: WorkspaceSession, plan: Plan, request: str, progress: Progress
    ) -> tuple[PlanDelta, Plan, Usage]:
        template = await anyio.to_thread.run_sync(prompts.load, "change", session.meta)
        files = await anyio.to_thread.run_sync(self._files_now, session, plan)
        messages = change_messages(
            template, request, plan.to_document(), files, self.settings.prompt_budget
        )
        ask = JsonAsk(
            what="change",
            messages=messages,
            validate=self._delta_check(session, plan),
            schema=delta_response_format(),
            purpose="change",
        )
        answer = await ask_until_valid(self.llm, self.settings, ask, progress)
        delta, changed = answer.value
        return delta, changed.model_copy(update={"project_name": plan.project_name}), answer.usage

    # --- applying it ---------------------------------------------------------------------------

    async def change(
        self, session: WorkspaceSession, params: ChangeParams, progress: Progress
    ) -> ChangeResult:
        started = time.monotonic()
        await self.llm.prepare()
        async with session.exclusive("change") as store:
            plan = await anyio.to_thread.run_sync(session.require_plan)
            if params.delta is not None:  # confirmed by the user after a dry run
                delta, changed = await anyio.to_thread.run_sync(
                    self._delta_check(session, plan), params.delta
                )
                usage = Usage()
            else:
                delta, changed, usage = await self._ask(session, plan, params.request, progress)
            result = ChangeResult(delta=delta.to_document(), dry_run=params.dry_run, usage=usage)
            if params.dry_run:
                result.elapsed_seconds = round(time.monotonic() - started, 3)
                return result
            # What worked before the change: its behaviour findings on it are regressions.
            worked_before = await anyio.to_thread.run_sync(regressions.load, session.root)
            changing_since = time.time()
            history = HistoryStore(session.meta)
            entry = ChangeEntry(
                id=await anyio.to_thread.run_sync(history.next_id),
                request=params.request,
                summary=delta.summary,
                delta=delta.to_document(),
                previous_plan=plan.to_document(),
            )
            await self._record_before(session, delta, entry)
            await anyio.to_thread.run_sync(history.save, entry)
            result.history_id = entry.id
            if session.run is not None:  # the change's commit: `StepForge-Run: change N`
                session.run.request, session.run.number = params.request, entry.id

            progress.report("Writing the new plan", 10)
            await self._write_plan(session, plan, changed)
            result.removed, result.kept = await self._remove(session, delta.remove_files)
            await register(session, changed)
            await add_plan_packages(session, changed)
            for added in delta.add_files:
                store.record(added.path)
            for modified in delta.modify_files:
                record = store.transition(modified.path, FileState.PENDING, "changing")
                record.instructions = modified.change
            await store.save()

            async def on_file_done(path: str) -> None:
                # What the change left, file by file: undo of a change killed later knows it.
                if path in entry.files:
                    entry.files[path].after = await anyio.to_thread.run_sync(
                        session.disk_hash, path
                    )
                    await anyio.to_thread.run_sync(history.save, entry)

            run = GenerationRun(
                session,
                changed,
                self.llm,
                self.settings,
                progress,
                RunOptions(
                    only=[p for p in delta.touched() if p not in delta.remove_files],
                    concurrency=params.concurrency or self.settings.concurrency,
                ),
                on_file_done,
                refresh_types=partial(self._refresh_types, session, changed),
            )
            generated = await run.run()
            await register(session, changed)
            outcome = await check_and_repair(
                session,
                changed,
                self.llm,
                self.settings,
                self.checker,
                progress,
                rounds=(
                    params.repair_rounds
                    if params.repair_rounds is not None
                    else self.settings.repair_rounds
                )
                if params.repair
                else 0,
                concurrency=params.concurrency or self.settings.concurrency,
                runtime_checks=params.runtime_checks,
            )
            await self._report_regressions(
                session, outcome.report, worked_before, changing_since, delta, entry.id
            )
            # The database follows the models (a migration, committed with the change).
            migration, migration_problems = await migrations.after_run(
                session, self.settings, delta.touched(), f"change {entry.id} {delta.summary}"
            )
            outcome.report.problems += migration_problems
            await self._record_after(session, entry)
            entry.status = "applied"
            await anyio.to_thread.run_sync(history.save, entry)
            await store.save()
            await session.prune_baselines()
        self.problems.publish(session.root, outcome.report.problems)
        result.written = generated.written
        result.merged = generated.merged
        result.conflicts = generated.conflicts + outcome.conflicts
        result.failed = generated.failed
        result.skipped = generated.skipped
        result.problems = outcome.report.problems
        result.repaired = sorted(outcome.repaired)
        result.usage = usage + generated.usage
        result.repair_usage = outcome.usage
        if migration is not None:
            result.database = migration.message()
        result.elapsed_seconds = round(time.monotonic() - started, 3)
        return result

    async def _refresh_types(self, session: WorkspaceSession, plan: Plan) -> None:
        """The types step of the change's run: the routers it added registered first (the
        types come from the app as it serves them)."""
        await register(session, plan)
        await self.checker.refresh_api_types(session.root, plan)

    async def _report_regressions(
        self,
        session: WorkspaceSession,
        report: CheckReport,
        worked_before: regressions.BehaviourRecord | None,
        since: float,
        delta: PlanDelta,
        change_id: int,
    ) -> None:
        """Mark the behaviour findings on what worked before the change as regressions (in the
        result and in the saved check report); nothing when the behaviour tier did not run both
        before and after the change."""
        if worked_before is None:
            return
        after = await anyio.to_thread.run_sync(regressions.load, session.root)
        marked = regressions.after_change(
            report.problems, worked_before, after, since, delta, change_id
        )
        if marked != report.problems:
            report.problems = marked
            await anyio.to_thread.run_sync(save_report, session.root, report)

    async def _record_before(
        self, session: WorkspaceSession, delta: PlanDelta, entry: ChangeEntry
    ) -> None:
        """What undo needs: each touched file's bytes (as a baseline) and record before."""
        actions = {
            **{f.path: "added" for f in delta.add_files},
            **{f.path: "modified" for f in delta.modify_files},
            **dict.fromkeys(delta.remove_files, "removed"),
        }
        for path, action in actions.items():
            data = await anyio.to_thread.run_sync(session.read, path)
            before = (
                await anyio.to_thread.run_sync(session.baselines.put, data)
                if data is not None
                else None
            )
            record = session.store.state.files.get(path)
            entry.files[path] = TouchedFile(
                action=action,  # type: ignore[arg-type]
                before=before,
                before_record=record.model_copy() if record is not None else None,
            )

    async def _record_after(self, session: WorkspaceSession, entry: ChangeEntry) -> None:
        conflicts = {c.path: cid for cid, c in session.store.state.conflicts.items()}
        for path, touched in entry.files.items():
            touched.after = await anyio.to_thread.run_sync(session.disk_hash, path)
            touched.conflict_id = conflicts.get(path, touched.conflict_id)

    async def _write_plan(self, session: WorkspaceSession, before: Plan, after: Plan) -> None:
        meta = session.meta
        await anyio.to_thread.run_sync(meta.write, layout.PLAN_PREVIOUS, plan_document(before))
        await anyio.to_thread.run_sync(meta.write, layout.PLAN, plan_document(after))
        session.set_plan(after)
        session.wrote(PLAN_PATH)

    async def _remove(
        self, session: WorkspaceSession, paths: list[str]
    ) -> tuple[list[str], list[FileIssue]]:
        """Delete the files StepForge owns that are unchanged since written; keep edited ones."""
        removed, kept = [], []
        state = session.store.state
        for path in paths:
            record = state.files.pop(path, None)
            disk = await anyio.to_thread.run_sync(session.disk_hash, path)
            if disk is None:
                continue
            if record is not None and record.written_hash == disk:
                target = safe_join(session.root, path)
                await anyio.to_thread.run_sync(target.unlink)
                session.hashes.forget(target)
                session.removed(path)
                removed.append(path)
            else:
                kept.append(
                    FileIssue(path=path, reason="you edited it since it was generated; kept")
                )
        return removed, kept

    async def finish_interrupted(self, session: WorkspaceSession) -> None:
        """A change killed mid-way is finished by `generate` (its files keep their
        instructions): once none is pending, its history entry is complete. Only while holding
        the lock."""
        history = HistoryStore(session.meta)
        entry = await anyio.to_thread.run_sync(history.last_undoable)
        if entry is None or entry.status != "applying":
            return
        records = session.store.state.files
        if any(records.get(path) and records[path].instructions for path in entry.files):
            return
        await self._record_after(session, entry)
        entry.status = "applied"
        await anyio.to_thread.run_sync(history.save, entry)

    # --- history and undo ----------------------------------------------------------------------

    def _require_git(self, what: str) -> None:
        if not self.settings.git:
            raise StepForgeError(
                f"{what} needs StepForge's history in git, and the setting git is off "
                f"({self.settings.name_of('git')}): turn it on to record and undo changes.",
                code=ErrorCode.INVALID_PARAMS,
            )

    async def _commits(self, session: WorkspaceSession) -> list[RunCommit]:
        repository = await find_repository(session.root)
        return await run_commits(repository) if repository is not None else []

    async def history(self, session: WorkspaceSession) -> HistoryResult:
        """StepForge's commits (newest last), and the changes of `.stepforge/history/` that have
        no commit (made before the history was kept in git, or interrupted)."""
        self._require_git("`stepforge history`")
        commits = await self._commits(session)
        legacy = await anyio.to_thread.run_sync(HistoryStore(session.meta).entries)
        done = reverted(commits)
        committed = {c.number for c in commits if c.kind == "change"}
        entries = [
            HistoryEntry(
                id=e.id,
                request=e.request,
                summary=e.summary,
                time=e.time,
                status=e.status,
                files={path: f.action for path, f in e.files.items()},
            )
            for e in legacy
            if e.id not in committed
        ]
        requests = {e.id: (e.request, e.summary) for e in legacy}
        for commit in reversed(commits):
            request, summary = (
                requests.get(commit.number, (commit.subject, ""))
                if commit.kind == "change"
                else (commit.subject, "")
            )
            entries.append(
                HistoryEntry(
                    id=commit.number,
                    kind=commit.kind,
                    commit=commit.sha,
                    request=request,
                    summary=summary,
                    time=commit.time,
                    status="undone" if commit.sha in done else "applied",
                    files=commit.files,
                )
            )
        entries.sort(key=lambda e: e.time)
        return HistoryResult(entries=entries)

    async def undo(self, session: WorkspaceSession) -> UndoResult:
        """The last change: reverted with git (its commits) or, for a change without a commit
        (interrupted, or older than the history in git), by the bytes of its history entry."""
        self._require_git("`stepforge undo`")
        async with session.exclusive("undo") as store:
            history = HistoryStore(session.meta)
            entry = await anyio.to_thread.run_sync(history.last_undoable)
            group = last_undoable_change(await self._commits(session))
            if group is not None and (entry is None or entry.id <= group[0].number):
                return await self._undo_commits(session, store, history, group)
            if entry is None:
                raise StepForgeError(
                    "There is no change to undo (`stepforge history` lists them).",
                    code=ErrorCode.INVALID_PARAMS,
                )
            return await self._undo_entry(session, store, history, entry)

    async def _undo_commits(
        self,
        session: WorkspaceSession,
        store: Any,
        history: HistoryStore,
        group: list[RunCommit],
    ) -> UndoResult:
        change = group[0]
        repository = await find_repository(session.root)
        assert repository is not None  # the commits came from it
        entries = await anyio.to_thread.run_sync(history.entries)
        entry = next((e for e in entries if e.id == change.number), None)
        before_records = (
            {p: f.before_record for p, f in entry.files.items()} if entry is not None else {}
        )
        before_bytes: dict[str, bytes | None] = {}
        if entry is not None:
            self._drop_conflicts_of(session, entry)
            for path, touched in entry.files.items():
                before_bytes[path] = await anyio.to_thread.run_sync(
                    session.baselines.get, touched.before
                )
        # The database goes back first, while the change's migration files are still there.
        downgraded = await migrations.undo_change(
            session.root, self.settings, [path for commit in group for path in commit.files]
        )
        done = await revert_commits(session, repository, group, before_records, before_bytes)
        plan = await anyio.to_thread.run_sync(session.require_plan)
        await register(session, plan)
        if session.run is not None:
            session.run.subject = f'Revert "{change.subject}"'
            session.run.body = [f"This reverts commit {c.sha}." for c in group]
            if done.kept:
                session.run.body += ["", "Kept (you edited them since the change):"]
                session.run.body += [f"  {k.path}: {k.reason}" for k in done.kept]
            session.run.trailers[REVERTS_TRAILER] = [c.sha for c in group]
        if entry is not None:
            entry.status = "undone"
            await anyio.to_thread.run_sync(history.save, entry)
        await store.save()
        title = (entry.summary or entry.request) if entry is not None else change.subject
        message = (
            f"Undid change {change.number} ({title}): "
            f"{len(done.reverted) + len(done.merged)} file(s) reverted"
        )
        if done.merged:
            message += f" ({len(done.merged)} merged with your later edits)"
        if done.conflicts:
            message += (
                f", {len(done.conflicts)} in conflict with your edits (left as they are; "
                "`stepforge conflicts` resolves them)"
            )
        kept = [k for k in done.kept if k.path not in {c.path for c in done.conflicts}]
        if kept:
            message += f", {len(kept)} kept because you edited them"
        result = UndoResult(
            id=change.number,
            reverted=sorted(done.reverted + done.merged),
            kept=done.kept,
            conflicts=done.conflicts,
            message=message,
            database=downgraded.message() if downgraded is not None else None,
        )
        if done.kept:
            await self._report_breakage(session, plan, result)
        result.message += "."
        return result

    async def _undo_entry(
        self, session: WorkspaceSession, store: Any, history: HistoryStore, entry: ChangeEntry
    ) -> UndoResult:
        interrupted = entry.status == "applying"
        reverted: list[str] = []
        kept: list[FileIssue] = []
        for path, touched in entry.files.items():
            disk = await anyio.to_thread.run_sync(session.disk_hash, path)
            if not is_changes_output(entry, touched, disk, store.state.files.get(path)):
                kept.append(
                    FileIssue(path=path, reason="you edited it since the change; not touched")
                )
                self._forget_pending(session, path)
                continue
            await self._revert(session, path, touched)
            reverted.append(path)
        self._drop_conflicts_of(session, entry)
        previous = Plan.model_validate(entry.previous_plan)
        current = await anyio.to_thread.run_sync(session.require_plan)
        await self._write_plan(session, current, previous)
        await register(session, previous)
        entry.status = "undone"
        await anyio.to_thread.run_sync(history.save, entry)
        await store.save()
        if session.run is not None:
            session.run.subject = f"Undo change {entry.id}: {entry.summary or entry.request}"
        message = (
            f"Undid {'interrupted ' if interrupted else ''}change {entry.id} "
            f"({entry.summary or entry.request}): {len(reverted)} file(s) reverted"
        )
        if kept:
            message += f", {len(kept)} kept because you edited them"
        result = UndoResult(id=entry.id, reverted=sorted(reverted), kept=kept, message=message)
        if kept:
            await self._report_breakage(session, previous, result)
        result.message += "."
        return result

    def _forget_pending(self, session: WorkspaceSession, path: str) -> None:
        """A kept file of an undone change asks nothing any more: its instructions go, and a file
        the interrupted change left pending (or generating) counts as complete again, so the next
        `generate` does not apply the undone change to the user's file."""
        record = session.store.state.files.get(path)
        if record is None:
            return
        record.instructions = None
        record.partial_hashes = []
        record.streamed = False
        if record.state in (FileState.PENDING, FileState.GENERATING):
            record.state = FileState.DONE  # derived from the bytes from now on: userModified
            record.reason = "kept by undo: you edited it"

    def _drop_conflicts_of(self, session: WorkspaceSession, entry: ChangeEntry) -> None:
        """The proposals the undone change left for its files are moot."""
        state = session.store.state
        for conflict_id, conflict in list(state.conflicts.items()):
            touched = entry.files.get(conflict.path)
            if touched is not None and (
                touched.conflict_id == conflict_id or conflict.created >= entry.time
            ):
                del state.conflicts[conflict_id]
                record = state.files.get(conflict.path)
                if record is not None and record.state == FileState.CONFLICT:
                    record.state = FileState.DONE  # derived from the bytes from now on

    async def _report_breakage(
        self, session: WorkspaceSession, plan: Plan, result: UndoResult
    ) -> None:
        """Check the project as undo left it (the fast tiers) and say what each kept file now
        breaks; a check that could not run is said, never taken for a clean one."""
        try:
            report = await self.checker.check(session.root, plan, tools=False)
        except (StepForgeError, OSError) as error:
            result.checked = False
            result.message += f"; the project could not be checked after the undo ({error})"
            return
        missed = [t for t in report.tiers if t.name == "static" and not t.ran]
        if missed or report.project is None:
            result.checked = False
            reason = missed[0].reason if missed else "the project could not be read"
            result.message += f"; the project could not be checked after the undo ({reason})"
            return
        kept = {issue.path for issue in result.kept}
        result.breaks = kept_breakage(report.project, kept, report.problems)
        for issue in result.kept:
            problems = result.breaks.get(issue.path)
            if problems:
                issue.reason += f"; it now breaks: {breakage_line(problems)}"
        if result.breaks:
            result.message += (
                f"; {len(result.breaks)} kept file(s) now break the app "
                "(fix them, or revert them by hand)"
            )

    async def resolve(
        self, session: WorkspaceSession, params: ResolveConflictParams
    ) -> ResolveConflictResult:
        """Settle a conflict; when the last change raised it, the settled file is part of that
        change (undo restores it). Only while holding the lock."""
        conflict = session.store.state.conflicts.get(params.conflict_id)
        result = await resolve_conflict(session, params)
        if conflict is None:
            return result
        history = HistoryStore(session.meta)
        entry = await anyio.to_thread.run_sync(history.last_undoable)
        touched = entry.files.get(conflict.path) if entry is not None else None
        if entry is None or touched is None:
            return result
        if touched.conflict_id != params.conflict_id and conflict.created < entry.time:
            return result  # an older conflict, not the change's
        touched.after = await anyio.to_thread.run_sync(session.disk_hash, conflict.path)
        touched.conflict_id = params.conflict_id
        touched.resolved = params.choice
        await anyio.to_thread.run_sync(history.save, entry)
        if session.run is not None:  # undo of the change reverts this commit with it
            session.run.trailers[PART_OF_TRAILER] = f"change {entry.id}"
        return result

    async def _revert(self, session: WorkspaceSession, path: str, touched: TouchedFile) -> None:
        state = session.store.state
        target = safe_join(session.root, path)
        await anyio.to_thread.run_sync(remove_stale_temps, target)
        if touched.before is None:  # added by the change: remove it
            if await anyio.to_thread.run_sync(target.exists):
                await anyio.to_thread.run_sync(target.unlink)
                session.removed(path)
            state.files.pop(path, None)
        else:
            data = await anyio.to_thread.run_sync(session.baselines.get, touched.before)
            if data is None:
                raise StepForgeError(f"The bytes of {path} before the change are missing.")
            if await anyio.to_thread.run_sync(session.disk_hash, path) != touched.before:
                await anyio.to_thread.run_sync(atomic_write, target, data)
                session.wrote(path)
            if touched.before_record is not None:
                state.files[path] = touched.before_record
        session.hashes.forget(target)
