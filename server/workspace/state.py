"""The job state of a workspace, `.stepforge/state.json`: one record per planned file.

The state is written atomically after every transition, so another process (`stepforge status`)
can read it at any time, and a daemon killed mid-run resumes from it: a file left `generating`
was never completed and is regenerated.
"""

from __future__ import annotations

import json
import logging
import time

import anyio
from pydantic import BaseModel, Field, ValidationError

from protocol.models import FileState, Usage
from server.workspace.layout import STATE
from server.workspace.meta import MetaFiles

log = logging.getLogger(__name__)

STATE_VERSION = 1
# States in which a file counts as generated: its dependents may run, generate skips it.
# A deleted file counts too: the user removed it on purpose, and it is not recreated unasked.
COMPLETE_STATES = frozenset(
    {FileState.DONE, FileState.USER_MODIFIED, FileState.CONFLICT, FileState.DELETED}
)


class FileRecord(BaseModel):
    state: FileState = FileState.PENDING
    written_hash: str | None = Field(
        default=None, description="sha256 of the bytes StepForge last wrote (the merge base)."
    )
    attempts: int = 0
    reason: str | None = None
    usage: Usage = Field(default_factory=Usage)
    updated: float = 0.0
    streamed: bool = Field(
        default=False, description="Partial answers are on disk: the file's bytes are StepForge's."
    )
    partial_hashes: list[str] = Field(
        default_factory=list,
        description="sha256 of StepForge's partial writes that may be on disk (the last one "
        "written, and the one being written): bytes equal to one of them are StepForge's own "
        "unfinished output, never a user edit, even after the daemon was killed.",
    )
    instructions: str | None = Field(
        default=None, description="What a pending change asks of this file (until it is written)."
    )


class ConflictRecord(BaseModel):
    path: str
    base_hash: str | None
    generated_hash: str
    created: float


class JobState(BaseModel):
    version: int = STATE_VERSION
    project_name: str | None = None
    request: str | None = None
    files: dict[str, FileRecord] = Field(default_factory=dict)
    usage: Usage = Field(default_factory=Usage)
    conflicts: dict[str, ConflictRecord] = Field(default_factory=dict)
    # Files StepForge writes outside the plan (template, registries): path -> merge-base hash.
    managed: dict[str, str] = Field(default_factory=dict)

    def referenced_hashes(self) -> set[str]:
        """The baselines still needed: merge bases of files, and both sides kept by conflicts."""
        hashes = {r.written_hash for r in self.files.values() if r.written_hash}
        hashes |= {h for h in self.managed.values() if h}
        for conflict in self.conflicts.values():
            hashes |= {h for h in (conflict.base_hash, conflict.generated_hash) if h}
        return hashes


def read_state(meta: MetaFiles) -> JobState:
    """The state on disk as it is (no recovery): for readers such as `status` in another process."""
    data = meta.read(STATE)
    return JobState() if data is None else JobState.model_validate_json(data)


class StateStore:
    """The in-memory state of one workspace and its persistence (single writer: the lock holder)."""

    def __init__(self, meta: MetaFiles, state: JobState) -> None:
        self.meta = meta
        self.state = state
        self._write_lock = anyio.Lock()

    @classmethod
    def load(cls, meta: MetaFiles) -> StateStore:
        """Load for writing. Interrupted files become pending; a corrupt file is set aside."""
        try:
            state = read_state(meta)
        except (ValidationError, json.JSONDecodeError, UnicodeDecodeError) as error:
            aside = f"state.corrupt-{int(time.time())}.json"
            meta.write(aside, meta.read(STATE) or b"")
            meta.remove(STATE)
            log.warning("state.json was unreadable (%s); moved it to %s", error, aside)
            state = JobState()
        for record in state.files.values():
            if record.state == FileState.GENERATING:
                record.state = FileState.PENDING
                record.reason = "interrupted before it was complete"
        return cls(meta, state)

    def record(self, path: str) -> FileRecord:
        return self.state.files.setdefault(path, FileRecord())

    def transition(self, path: str, state: FileState, reason: str | None = None) -> FileRecord:
        record = self.record(path)
        record.state = state
        record.reason = reason
        record.updated = time.time()
        return record

    def add_usage(self, path: str | None, usage: Usage) -> None:
        if path is not None:
            record = self.record(path)
            record.usage = record.usage + usage
        self.state.usage = self.state.usage + usage

    def snapshot(self) -> bytes:
        return self.state.model_dump_json(indent=1).encode()

    async def save(self) -> None:
        # The snapshot is taken under the lock, so the last write always holds the newest state.
        async with self._write_lock:
            data = self.snapshot()
            await anyio.to_thread.run_sync(self.meta.write, STATE, data)
