"""Everything the daemon holds for one workspace: its plan, its job state, its single-writer lock,
and the one way StepForge writes a file there (`write`).

A file's user-facing state is derived from its bytes: a complete file whose bytes differ from what
StepForge last wrote is `userModified`, a missing one `deleted`. That rule needs no timing and no
bookkeeping of StepForge's own writes, so the watcher, `status` and a second process all agree.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import anyio

from protocol.models import FileState, FileStatusNotification
from protocol.plan import Plan
from server.errors import PlanInvalidError, PlanMissingError, StepForgeError, WorkspaceBusyError
from server.plan.validation import DEFAULT_MAX_FILES, PlanValidationError, validate_plan
from server.template import template_paths
from server.workspace import layout
from server.workspace.atomic import read_bytes_or_none
from server.workspace.baselines import BaselineStore
from server.workspace.git.commits import CommitOutcome
from server.workspace.git.record import RunRecord
from server.workspace.hashing import HashCache
from server.workspace.history import HistoryStore
from server.workspace.lock import WorkspaceLock
from server.workspace.meta import MetaFiles
from server.workspace.paths import safe_join
from server.workspace.state import (
    ConflictRecord,
    FileRecord,
    JobState,
    StateStore,
    read_state,
)
from server.workspace.writer import WriteOutcome, WriteResult, write_file

log = logging.getLogger(__name__)

FileStatusListener = Callable[[FileStatusNotification], None]
# The one hook point of a run's end: commit what it wrote (see server.workspace.git.recorder).
RunFinished = Callable[[Path, RunRecord], Awaitable[CommitOutcome | None]]
# States derived from the bytes on disk (see the module docstring).
DERIVED_STATES = frozenset({FileState.DONE, FileState.USER_MODIFIED, FileState.DELETED})


def derive_state(record: FileRecord, disk_hash: str | None) -> FileState:
    if record.state not in DERIVED_STATES:
        return record.state
    if disk_hash is None:
        return FileState.DELETED
    return FileState.DONE if disk_hash == record.written_hash else FileState.USER_MODIFIED


class WorkspaceSession:
    def __init__(
        self,
        root: Path,
        on_file_status: FileStatusListener | None = None,
        *,
        max_planned_files: int = DEFAULT_MAX_FILES,
    ) -> None:
        self.root = root
        self.meta = MetaFiles(root)
        self.baselines = BaselineStore(self.meta)
        self.hashes = HashCache()
        self.store = StateStore(self.meta, JobState())
        self.max_planned_files = max_planned_files
        self.job: str | None = None
        self._on_file_status = on_file_status
        self._plan: Plan | None = None
        self._plan_key: tuple[int, int] | None = None
        self.plan_error: str | None = None
        self._refreshing = anyio.Lock()
        self._plan_lock = threading.Lock()
        self.run: RunRecord | None = None  # what the job holding the lock wrote so far
        self.on_run_finished: RunFinished | None = None
        self.last_commit: CommitOutcome | None = None  # of the last job that ended

    # --- the plan ------------------------------------------------------------------------------

    def exists(self, relative: str) -> bool:
        return (self.root / relative).exists()

    def load_plan(self) -> Plan | None:
        """The plan in plan.json, re-validated when the file changed. An invalid edit keeps the
        last valid plan in use and sets `plan_error`. Blocking (small file); worker threads of
        status and of a job may call it at once, hence the lock."""
        with self._plan_lock:
            return self._load_plan()

    @property
    def plan_path(self) -> Path:
        return self.meta.path(layout.PLAN)

    def _load_plan(self) -> Plan | None:
        try:
            info = self.meta.stat(layout.PLAN)
        except StepForgeError as error:
            self._plan, self._plan_key, self.plan_error = None, None, error.message
            return None
        if info is None:
            self._plan, self._plan_key, self.plan_error = None, None, None
            return None
        key = (info.st_mtime_ns, info.st_size)
        if key == self._plan_key:
            return self._plan
        self._plan_key = key
        try:
            data = json.loads((self.meta.read(layout.PLAN) or b"").decode("utf-8"))
            self._plan = validate_plan(data, template_paths(), self.exists, self.max_planned_files)
            self.plan_error = None
        except UnicodeDecodeError as error:
            self.plan_error = (
                f"{self.plan_path} is not UTF-8 text ({error.reason} at byte {error.start})"
            )
        except json.JSONDecodeError as error:
            self.plan_error = f"{self.plan_path} is not valid JSON: {error}"
        except RecursionError:
            self.plan_error = f"{self.plan_path} nests too deeply to be a plan"
        except PlanValidationError as error:
            listed = "\n".join(f"- {problem}" for problem in error.problems)
            self.plan_error = f"{self.plan_path} is invalid:\n{listed}"
        except StepForgeError as error:
            self.plan_error = error.message
        if self.plan_error:
            log.warning("%s", self.plan_error)
        return self._plan

    def require_plan(self) -> Plan:
        plan = self.load_plan()
        if plan is None:
            if self.plan_error:
                raise PlanInvalidError(
                    f"{self.plan_error}\nFix the file, or plan again (`stepforge plan`)."
                )
            raise PlanMissingError(
                f'{self.root} has no plan yet: run `stepforge plan "..."` (stepforge/plan) first.'
            )
        return plan

    def set_plan(self, plan: Plan) -> None:
        self._plan = plan
        self.plan_error = None
        info = self.meta.stat(layout.PLAN)
        self._plan_key = (info.st_mtime_ns, info.st_size) if info is not None else None

    # --- the job lock and state ----------------------------------------------------------------

    @asynccontextmanager
    async def exclusive(self, job: str) -> AsyncIterator[StateStore]:
        """Hold the workspace's writer lock for `job` (WorkspaceBusyError if another job of this
        or another process holds it); the state is reloaded from disk first, since another
        process may have written it."""
        async with self._refreshing:  # a watcher refresh holds the lock for milliseconds: wait
            pass
        if self.job is not None:
            raise WorkspaceBusyError(
                f"The workspace {self.root} is busy (stepforge {self.job} in this daemon): wait for "
                "it to finish or cancel it, then try again."
            )
        lock = WorkspaceLock(self.meta, f"stepforge {job}")
        self.job = job  # claimed before the first await: a second job of this daemon is refused
        try:
            await anyio.to_thread.run_sync(self.meta.check)
            await anyio.to_thread.run_sync(lock.acquire)
        except BaseException:
            self.job = None
            raise
        try:
            self.store = await anyio.to_thread.run_sync(StateStore.load, self.meta)
            self.run, self.last_commit = RunRecord(job), None
            yield self.store
            # The run ended (not by an error): its files become one commit, under the lock.
            if self.on_run_finished is not None:
                self.last_commit = await self.on_run_finished(self.root, self.run)
        finally:
            self.job = None
            self.run = None
            lock.release()

    @property
    def current_plan(self) -> Plan | None:
        return self._plan

    def watch_folders(self) -> set[tuple[str, bool]]:
        """The source folders to watch (relative, recursive?): the folders of the planned files
        and of the files StepForge manages, never a whole tree with node_modules in it. Blocking
        (reads the plan and the state)."""
        plan = self.load_plan()
        state = self.current_state()
        paths = [*(plan.file_paths() if plan else []), *state.managed, *state.files]
        folders: set[tuple[str, bool]] = {(".stepforge", False)}
        for path in paths:
            parts = path.split("/")
            if len(parts) >= 3:
                folders.add(("/".join(parts[:2]), True))
            elif len(parts) == 2:
                folders.add((parts[0], False))
        recursive = {f for f, r in folders if r}
        return {
            (f, r)
            for f, r in folders
            if not any(f.startswith(parent + "/") for parent in recursive)
        }

    async def refresh(self, touched: set[str]) -> None:
        """Re-derive the states of tracked files among `touched` (or under a touched folder):
        persisted when this process may write the state, always told to listeners."""
        if self.job is not None:  # a job of this daemon holds the state: update it in memory
            changes = await self._rederive(self.store.state, touched)
            if changes:
                await self.store.save()
        else:
            async with self._refreshing:
                changes = await self._refresh_on_disk(touched)
        for path, state in changes:
            self.notify(path, state, "changed outside StepForge")

    async def _refresh_on_disk(self, touched: set[str]) -> list[tuple[str, FileState]]:
        lock = WorkspaceLock(self.meta, "stepforge refresh")
        try:
            await anyio.to_thread.run_sync(lock.acquire)
        except WorkspaceBusyError:  # another process runs a job: report, it owns the state
            state = await anyio.to_thread.run_sync(self.current_state)
            return await self._rederive(state, touched)
        try:
            self.store = await anyio.to_thread.run_sync(StateStore.load, self.meta)
            changes = await self._rederive(self.store.state, touched)
            if changes:
                await self.store.save()
            return changes
        finally:
            lock.release()

    async def _rederive(self, state: JobState, touched: set[str]) -> list[tuple[str, FileState]]:
        def concerned(path: str) -> bool:
            return path in touched or any(path.startswith(t + "/") for t in touched)

        paths = [p for p in state.files if concerned(p)]
        hashes = await anyio.to_thread.run_sync(lambda: {p: self.disk_hash(p) for p in paths})
        changes = []
        for path in paths:
            record = state.files[path]
            new = derive_state(record, hashes[path])
            if new != record.state:
                record.state = new
                record.updated = time.time()
                changes.append((path, new))
        return changes

    def current_state(self) -> JobState:
        """In memory while this process runs a job, else as on disk, where files a dead job left
        `generating` show as pending again. Blocking (small file)."""
        if self.job is not None:
            return self.store.state
        try:
            state = read_state(self.meta)
        except StepForgeError:
            raise
        except Exception as error:  # a corrupt state file is reported, not fatal for readers
            raise StepForgeError(
                f"{self.meta.path(layout.STATE)} is unreadable: {error}"
            ) from error
        interrupted = [r for r in state.files.values() if r.state == FileState.GENERATING]
        if interrupted and not WorkspaceLock(self.meta, "status").held():
            for record in interrupted:
                record.state = FileState.PENDING
                record.reason = "interrupted before it was complete"
        return state

    def disk_hash(self, relative: str) -> str | None:
        try:
            return self.hashes.hash(safe_join(self.root, relative))
        except StepForgeError:
            return None

    def effective_states(self, state: JobState, paths: list[str]) -> dict[str, FileState]:
        """Blocking: may hash files whose stat changed."""
        result = {}
        for path in paths:
            record = state.files.get(path)
            result[path] = (
                FileState.PENDING if record is None else derive_state(record, self.disk_hash(path))
            )
        return result

    # --- transitions and notifications ---------------------------------------------------------

    def notify(self, path: str, state: FileState, reason: str | None = None) -> None:
        if self._on_file_status is not None:
            self._on_file_status(
                FileStatusNotification(
                    workspace=str(self.root), path=path, state=state, reason=reason
                )
            )

    async def transition(self, path: str, state: FileState, reason: str | None = None) -> None:
        """Record a file's new state, persist it, tell listeners. Only while holding the lock."""
        self.store.transition(path, state, reason)
        await self.store.save()
        self.notify(path, state, reason)

    async def settle(self, path: str, reason: str | None = None) -> FileState:
        """Mark a complete file by what its bytes say now: done, userModified or deleted."""
        record = self.store.record(path)
        record.state = FileState.DONE
        state = derive_state(record, await anyio.to_thread.run_sync(self.disk_hash, path))
        await self.transition(path, state, reason)
        return state

    # --- writing files -------------------------------------------------------------------------

    async def write(
        self,
        relative: str,
        content: bytes,
        *,
        base: bytes | None = None,
        use_recorded_base: bool = True,
        recreate: bool = False,
    ) -> WriteResult:
        """Write a file under the never-lose-an-edit rules (see `server.workspace.writer`).

        The base is what StepForge last wrote there (from the state), or `base` when the caller
        knows better (a partial answer it streamed to disk). Records the new base; on a conflict,
        stores the proposal and a conflict record. Only while holding the lock.
        """
        target = safe_join(self.root, relative)
        state = self.store.state
        record = state.files.get(relative)
        recorded_hash = record.written_hash if record else state.managed.get(relative)
        if base is None and use_recorded_base:
            base = await anyio.to_thread.run_sync(self.baselines.get, recorded_hash)
        result = await anyio.to_thread.run_sync(
            lambda: write_file(
                target, content, base, was_written=recorded_hash is not None, recreate=recreate
            )
        )
        self.hashes.forget(target)
        self._record(relative, result.outcome)
        if result.outcome is WriteOutcome.CONFLICT:
            proposal = await anyio.to_thread.run_sync(self.baselines.put, content)
            if base is not None:
                await anyio.to_thread.run_sync(self.baselines.put, base)
            conflict_id = secrets.token_hex(6)
            # One open conflict per file: a newer proposal replaces an older one.
            for old_id in [cid for cid, c in state.conflicts.items() if c.path == relative]:
                del state.conflicts[old_id]
            state.conflicts[conflict_id] = ConflictRecord(
                path=relative,
                base_hash=result.base_after,
                generated_hash=proposal,
                created=time.time(),
            )
            result = WriteResult(result.outcome, result.base_after, result.disk_hash, conflict_id)
        elif result.outcome is not WriteOutcome.SKIPPED:
            await anyio.to_thread.run_sync(self.baselines.put, content)
            if record is not None:
                record.written_hash = result.base_after
            else:
                state.managed[relative] = result.base_after or ""
        return result

    def _record(self, relative: str, outcome: WriteOutcome) -> None:
        if self.run is None:
            return
        if outcome is WriteOutcome.CONFLICT:
            self.run.conflict(relative)
        elif outcome is not WriteOutcome.SKIPPED:  # unchanged too: it may differ from HEAD
            self.run.wrote(relative, merged=outcome is WriteOutcome.MERGED)

    def wrote(self, relative: str) -> None:
        """A write of the running job outside `write` (the plan, a file put back by undo)."""
        if self.run is not None:
            self.run.wrote(relative)

    def run_conflict(self, relative: str) -> None:
        """A file the running job left in conflict (the user's bytes: not committed)."""
        if self.run is not None:
            self.run.conflict(relative)

    def failed(self, relative: str, reason: str) -> None:
        """A file the running job could not write (the commit message lists it)."""
        if self.run is not None:
            self.run.fail(relative, reason)

    def removed(self, relative: str) -> None:
        """A file the running job removed."""
        if self.run is not None:
            self.run.remove(relative)

    async def prune_baselines(self) -> int:
        """Drop the baselines nothing refers to any more (the state's and the change history's
        are kept). Only while holding the lock."""
        keep = self.store.state.referenced_hashes()
        keep |= await anyio.to_thread.run_sync(HistoryStore(self.meta).referenced_hashes)
        return await anyio.to_thread.run_sync(self.baselines.prune, keep)

    def read(self, relative: str) -> bytes | None:
        return read_bytes_or_none(safe_join(self.root, relative))
