"""Every write of a workspace file goes through `write_file`: the rule that never loses a user edit.

- absent, never written by StepForge (or `recreate`): written;
- absent but StepForge wrote it before: the user deleted it, so it is not recreated;
- on disk exactly what StepForge last wrote (the base): replaced;
- changed by the user: three-way merge (base, the user's file, the new content); a clean merge is
  written, a conflict leaves the user's file untouched and keeps the proposal for resolution.
The caller records `base_after` as the new merge base: the new content, never the merged text.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from server.workspace.atomic import atomic_write, read_bytes_or_none, sha256
from server.workspace.merge import merge3


class WriteOutcome(StrEnum):
    WRITTEN = "written"
    MERGED = "merged"
    CONFLICT = "conflict"
    UNCHANGED = "unchanged"
    SKIPPED = "skipped"  # deleted by the user


@dataclass(frozen=True)
class WriteResult:
    outcome: WriteOutcome
    base_after: str | None  # sha256 of the content that becomes the merge base
    disk_hash: str | None  # sha256 of what is on disk afterwards
    conflict_id: str | None = None

    @property
    def user_changes_kept(self) -> bool:
        return self.outcome in (WriteOutcome.MERGED, WriteOutcome.CONFLICT)


def write_file(
    target: Path, new: bytes, base: bytes | None, *, was_written: bool, recreate: bool = False
) -> WriteResult:
    """Write `new` to `target` under the rules above. `base` is what StepForge last wrote there
    (None if it never did); `was_written` tells a deleted file from a new one. Blocking."""
    new_hash = sha256(new)
    disk = read_bytes_or_none(target)
    if disk is None:
        if was_written and not recreate:
            return WriteResult(
                WriteOutcome.SKIPPED, sha256(base) if base is not None else None, None
            )
        atomic_write(target, new)
        return WriteResult(WriteOutcome.WRITTEN, new_hash, new_hash)
    if disk == new:
        return WriteResult(WriteOutcome.UNCHANGED, new_hash, new_hash)
    if base is not None and disk == base:
        atomic_write(target, new)
        return WriteResult(WriteOutcome.WRITTEN, new_hash, new_hash)
    if b"\0" in disk:  # the user's file is binary: no line merge can keep it, so never touch it
        return WriteResult(
            WriteOutcome.CONFLICT, sha256(base) if base is not None else None, sha256(disk)
        )
    merged = merge3(base if base is not None else b"", disk, new)
    if merged.clean:
        atomic_write(target, merged.content)
        return WriteResult(WriteOutcome.MERGED, new_hash, sha256(merged.content))
    return WriteResult(
        WriteOutcome.CONFLICT, sha256(base) if base is not None else None, sha256(disk)
    )
