"""The history of applied changes, one JSON file per change in `.stepforge/history/`.

Each entry keeps what undo needs: the plan before, and for every file the change touched its
bytes before (a baseline hash), its state record before, and what the change left on disk (so a
file the user edited since is recognised and left alone). A conflict the change raised and the
user then settled is part of the change: the settled bytes become what the change left
(`after`), so undo restores that file too. The guarantees are stated on bytes, not on how they
are stored, so a history kept as git commits must hold them the same way. Blocking calls.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from server.workspace.layout import HISTORY
from server.workspace.meta import MetaFiles
from server.workspace.state import FileRecord

Action = Literal["added", "modified", "removed"]
Status = Literal["applying", "applied", "undone"]
_NAME = re.compile(r"^(\d{4,})\.json$")


class TouchedFile(BaseModel):
    action: Action
    before: str | None = None  # baseline hash of the bytes on disk before the change
    before_record: FileRecord | None = None
    after: str | None = None  # hash of what the change left on disk
    conflict_id: str | None = None  # the conflict the change raised for this file, if any
    resolved: str | None = None  # how the user settled it ("mine", "generated", "merged")


class ChangeEntry(BaseModel):
    id: int
    request: str
    summary: str = ""
    delta: dict[str, Any]
    time: float = Field(default_factory=time.time)
    status: Status = "applying"
    previous_plan: dict[str, Any]
    files: dict[str, TouchedFile] = Field(default_factory=dict)

    def hashes(self) -> set[str]:
        return {h for f in self.files.values() for h in (f.before, f.after) if h} | {
            f.before_record.written_hash
            for f in self.files.values()
            if f.before_record is not None and f.before_record.written_hash
        }


class HistoryStore:
    def __init__(self, meta: MetaFiles) -> None:
        self.meta = meta

    def _name(self, entry_id: int) -> str:
        return f"{HISTORY}/{entry_id:04d}.json"

    def entries(self) -> list[ChangeEntry]:
        found = []
        for name in self.meta.listdir(HISTORY):
            if not _NAME.match(name):
                continue
            data = self.meta.read(f"{HISTORY}/{name}")
            try:
                found.append(ChangeEntry.model_validate_json(data or b""))
            except (ValidationError, json.JSONDecodeError):
                continue
        return sorted(found, key=lambda e: e.id)

    def next_id(self) -> int:
        return max((e.id for e in self.entries()), default=0) + 1

    def save(self, entry: ChangeEntry) -> None:
        self.meta.write(self._name(entry.id), entry.model_dump_json(indent=1))

    def last_undoable(self) -> ChangeEntry | None:
        return next((e for e in reversed(self.entries()) if e.status != "undone"), None)

    def referenced_hashes(self) -> set[str]:
        """Baselines the history needs kept (undo restores from them)."""
        return {h for entry in self.entries() if entry.status != "undone" for h in entry.hashes()}
