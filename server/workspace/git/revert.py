"""Undo as a revert: the change's commits taken back with git's merge, file by file.

For each file the change's commits touched, the revert is the three-way merge `git revert` makes:
the file as it is now (yours), the change's version (the base) and the version before the change
(theirs). A file still as the change left it goes back; one you edited since (committed or not)
keeps your edit where git's merge can keep it, and is left alone and reported as a conflict where
it cannot (never overwritten). The merge runs against the working tree, not the index, so your
staged and uncommitted work elsewhere is never touched and no revert is left half done in the
repository; the undo run then commits what it wrote as one revert commit. (`git revert` itself
refuses a working tree with edits in the change's files.)
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from server.workspace.merge import merge3


class RevertOutcome(StrEnum):
    REVERTED = "reverted"  # put back as before the change (or removed, when the change added it)
    MERGED = "merged"  # put back, your later edits kept by git's merge
    ALREADY = "already"  # already as before the change
    KEPT = "kept"  # yours, left alone (you removed it, or it exists where the change removed it)
    CONFLICT = "conflict"  # your edits and the revert overlap: left alone, reported


@dataclass(frozen=True)
class FileRevert:
    outcome: RevertOutcome
    content: bytes | None = None  # what to write (None with REVERTED: remove the file)
    reason: str = ""


def revert_file(before: bytes | None, after: bytes | None, now: bytes | None) -> FileRevert:
    """How to take a change back for one file: `before` the change, `after` it (the change's own
    version), `now` on disk (None: absent). Blocking when a merge is needed (git merge-file)."""
    if now == after:
        return FileRevert(RevertOutcome.REVERTED, before)
    if now == before:
        return FileRevert(RevertOutcome.ALREADY, before)
    if now is None:
        return FileRevert(
            RevertOutcome.KEPT, reason="you deleted it since the change; not restored"
        )
    if before is None:
        return FileRevert(
            RevertOutcome.KEPT, reason="the change added it and you edited it since; not removed"
        )
    if after is None:
        return FileRevert(
            RevertOutcome.KEPT,
            reason="the change removed it and there is a file of yours there now; not touched",
        )
    merged = merge3(base=after, mine=now, theirs=before)
    if merged.clean:
        return FileRevert(RevertOutcome.MERGED, merged.content)
    return FileRevert(
        RevertOutcome.CONFLICT,
        reason=f"you edited it since the change and git's merge has {merged.conflicts} "
        "conflict(s) with the revert; your file is unchanged",
    )
