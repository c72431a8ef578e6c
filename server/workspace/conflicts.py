"""Settling a conflict: the user keeps their file, takes the generated one, or supplies a merge.

Whatever the choice, the generated version becomes the merge base: the user has seen it, so the
next regeneration merges only what changes after it.
"""

from __future__ import annotations

import anyio

from protocol.errors import ErrorCode
from protocol.models import (
    ConflictDetailsResult,
    ResolveConflictParams,
    ResolveConflictResult,
)
from server.errors import StepForgeError
from server.workspace.atomic import atomic_write
from server.workspace.paths import safe_join
from server.workspace.session import WorkspaceSession
from server.workspace.state import ConflictRecord, JobState


def _find(session: WorkspaceSession, state: JobState, conflict_id: str) -> ConflictRecord:
    conflict = state.conflicts.get(conflict_id)
    if conflict is None:
        open_ids = ", ".join(state.conflicts) or "none"
        raise StepForgeError(
            f"No conflict {conflict_id!r} in {session.root} (open conflicts: {open_ids}); "
            "`stepforge status` lists them.",
            code=ErrorCode.CONFLICT_UNKNOWN,
        )
    return conflict


def _text(data: bytes | None) -> str:
    return data.decode("utf-8", "replace") if data is not None else ""


async def conflict_details(
    session: WorkspaceSession, state: JobState, conflict_id: str
) -> ConflictDetailsResult:
    conflict = _find(session, state, conflict_id)
    mine = await anyio.to_thread.run_sync(session.read, conflict.path)
    generated = await anyio.to_thread.run_sync(session.baselines.get, conflict.generated_hash)
    base = await anyio.to_thread.run_sync(session.baselines.get, conflict.base_hash)
    return ConflictDetailsResult(
        conflict_id=conflict_id,
        path=conflict.path,
        mine=_text(mine),
        generated=_text(generated),
        base=_text(base),
    )


async def resolve_conflict(
    session: WorkspaceSession, params: ResolveConflictParams
) -> ResolveConflictResult:
    """Only while holding the workspace lock."""
    conflict = _find(session, session.store.state, params.conflict_id)
    if params.choice == "merged" and params.content is None:
        raise StepForgeError(
            "Choice 'merged' needs content: the merged text to write.",
            code=ErrorCode.INVALID_PARAMS,
        )
    generated = await anyio.to_thread.run_sync(session.baselines.get, conflict.generated_hash)
    if generated is None:
        raise StepForgeError(
            f"The generated version of {conflict.path} is missing from .stepforge/baselines."
        )
    target = safe_join(session.root, conflict.path)
    if params.choice == "generated":
        await anyio.to_thread.run_sync(atomic_write, target, generated)
        session.wrote(conflict.path)
        message = f"{conflict.path}: replaced by the generated version."
    elif params.choice == "merged":
        assert params.content is not None
        await anyio.to_thread.run_sync(atomic_write, target, params.content.encode("utf-8"))
        session.wrote(conflict.path)
        message = f"{conflict.path}: your merge was written."
    else:
        message = f"{conflict.path}: your version was kept."
    state = session.store.state
    del state.conflicts[params.conflict_id]
    session.hashes.forget(target)
    if conflict.path in state.files:
        state.files[conflict.path].written_hash = conflict.generated_hash
        await session.settle(conflict.path)
    else:  # a registry or template file
        state.managed[conflict.path] = conflict.generated_hash
        await session.store.save()
    return ResolveConflictResult(path=conflict.path, choice=params.choice, message=message)
