"""What undo may put back, and what the files it had to keep now break (pure).

A file the change touched is reverted when its bytes are still the change's doing:
- what the change left on disk (`after`, recorded as each file completes, and including a
  conflict the user settled during it);
- for a change that never finished (a killed daemon), instead: the bytes before it (not reached
  yet), what StepForge completed for it (the file's merge base), StepForge's own partial answer
  (a hash the state recorded before writing it), or nothing where the change removed the file.
Anything else is the user's edit, kept. The rule reads bytes only. That is the undo of a change
with no commit (one interrupted, or made before StepForge kept its history in git); a committed
change is undone as a git revert (`revert_commits`, git's merge keeping later edits).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field

import anyio

from protocol.models import ConflictInfo, FileIssue, FileState, Problem
from server.checks.problems import errors
from server.checks.project import Project
from server.repair.causes import cause_of
from server.workspace import layout
from server.workspace.atomic import atomic_write
from server.workspace.git.history import file_at
from server.workspace.git.ignore import PLAN_PATH, committable
from server.workspace.git.repository import Repository
from server.workspace.git.revert import RevertOutcome, revert_file
from server.workspace.git.trailers import RunCommit
from server.workspace.history import ChangeEntry, TouchedFile
from server.workspace.paths import safe_join
from server.workspace.session import WorkspaceSession
from server.workspace.state import ConflictRecord, FileRecord


def is_changes_output(
    entry: ChangeEntry, touched: TouchedFile, disk_hash: str | None, record: FileRecord | None
) -> bool:
    if entry.status != "applying":
        return disk_hash == touched.after
    if touched.after is not None and disk_hash == touched.after:  # a file it completed
        return True
    if disk_hash == touched.before:  # not reached yet (absent before and now included)
        return True
    if disk_hash is None:  # gone: the change's removal, or the user's deletion of a file
        return touched.action == "removed"
    if record is None:
        return False
    return disk_hash in record.partial_hashes or disk_hash == record.written_hash


def kept_breakage(
    project: Project, kept: set[str], problems: list[Problem]
) -> dict[str, list[Problem]]:
    """For each kept file, the errors it causes now: in the file itself, or in a file that
    imports it (the rule of `server.repair.causes`)."""
    found: dict[str, list[Problem]] = {}
    for problem in errors(problems):
        culprit = problem.path if problem.path in kept else cause_of(project, problem, kept)
        if culprit is not None:
            found.setdefault(culprit, []).append(problem)
    return found


def breakage_line(problems: list[Problem], limit: int = 3) -> str:
    """`path:line: message; ...` for a short report."""
    shown = [f"{p.path}:{p.line}: {p.message}" for p in problems[:limit]]
    if len(problems) > limit:
        shown.append(f"and {len(problems) - limit} more")
    return "; ".join(shown)


# --- undo as a git revert --------------------------------------------------------------------


@dataclass
class GitUndo:
    """What the revert of a change's commits did, file by file."""

    reverted: list[str] = field(default_factory=list)
    merged: list[str] = field(default_factory=list)
    kept: list[FileIssue] = field(default_factory=list)
    conflicts: list[ConflictInfo] = field(default_factory=list)


def _file_bytes_now(session: WorkspaceSession, path: str) -> bytes | None:
    if path == PLAN_PATH:
        return session.meta.read(layout.PLAN)
    return session.read(path)


def _put_back(session: WorkspaceSession, path: str, content: bytes | None) -> None:
    """Blocking: write (or remove, for None) one file as the revert says."""
    if path == PLAN_PATH:
        if content is not None:
            session.meta.write(layout.PLAN, content)
        return
    target = safe_join(session.root, path)
    if content is None:
        if target.exists() or target.is_symlink():
            target.unlink()
    else:
        atomic_write(target, content)
    session.hashes.forget(target)


async def revert_commits(
    session: WorkspaceSession,
    repository: Repository,
    group: list[RunCommit],
    before_records: dict[str, FileRecord | None],
    before_bytes: dict[str, bytes | None] | None = None,
) -> GitUndo:
    """Take back the commits of one change (the change first, then the runs that are part of it)
    in the working tree, with git's merge for files edited since. Records the files it wrote in
    the running job (the undo's commit) and brings their state records back. Only while holding
    the workspace lock. `before_bytes` are the files as they were on disk before the change, where
    StepForge recorded them (a user's uncommitted edit then is part of "before"); other files are
    taken from the commit before the change."""
    change = group[0]
    parent = await repository.git("rev-parse", "-q", "--verify", f"{change.sha}^", check=False)
    paths: dict[str, RunCommit] = {}
    for commit in group:  # oldest first: the last one touching a path holds the change's version
        for path in commit.files:
            paths[path] = commit
    done = GitUndo()
    state = session.store.state
    for path, latest in paths.items():
        if not committable(path):
            continue
        if before_bytes is not None and path in before_bytes:
            before = before_bytes[path]
        elif parent.ok:
            before = await file_at(repository, change.sha + "^", path)
        else:
            before = None
        after = await file_at(repository, latest.sha, path)
        now = await anyio.to_thread.run_sync(_file_bytes_now, session, path)
        revert = await anyio.to_thread.run_sync(revert_file, before, after, now)
        if revert.outcome is RevertOutcome.KEPT:
            done.kept.append(FileIssue(path=path, reason=revert.reason))
            continue
        if revert.outcome is RevertOutcome.CONFLICT:
            proposal = await anyio.to_thread.run_sync(session.baselines.put, before or b"")
            base = await anyio.to_thread.run_sync(session.baselines.put, after or b"")
            conflict_id = secrets.token_hex(6)
            state.conflicts[conflict_id] = ConflictRecord(
                path=path, base_hash=base, generated_hash=proposal, created=time.time()
            )
            if path in state.files:
                state.files[path].state = FileState.CONFLICT
            session.run_conflict(path)
            done.conflicts.append(
                ConflictInfo(conflict_id=conflict_id, path=path, created=time.time())
            )
            done.kept.append(FileIssue(path=path, reason=revert.reason))
            continue
        if revert.outcome is not RevertOutcome.ALREADY:
            await anyio.to_thread.run_sync(_put_back, session, path, revert.content)
        if revert.content is None:
            session.removed(path)
            state.files.pop(path, None)
            state.managed.pop(path, None)
        else:
            if session.run is not None:  # a merge commits the user's later edit along with it
                session.run.wrote(path, merged=revert.outcome is RevertOutcome.MERGED)
            digest = await anyio.to_thread.run_sync(session.baselines.put, before or b"")
            if path in before_records and before_records[path] is not None:
                state.files[path] = before_records[path]  # type: ignore[assignment]
            elif path in state.managed:
                state.managed[path] = digest
            elif path != PLAN_PATH:
                record = session.store.record(path)
                record.state, record.reason = FileState.DONE, None
            if path in state.files:
                state.files[path].written_hash = digest
                state.files[path].instructions = None
        (done.merged if revert.outcome is RevertOutcome.MERGED else done.reverted).append(path)
    return done
