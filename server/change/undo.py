"""What undo may put back, and what the files it had to keep now break (pure).

A file the change touched is reverted when its bytes are still the change's doing:
- what the change left on disk (`after`, recorded as each file completes, and including a
  conflict the user settled during it);
- for a change that never finished (a killed daemon), instead: the bytes before it (not reached
  yet), what StepForge completed for it (the file's merge base), StepForge's own partial answer
  (a hash the state recorded before writing it), or nothing where the change removed the file.
Anything else is the user's edit, kept. The rule reads bytes only, so it holds the same way when
the history is kept in git.
"""

from __future__ import annotations

from protocol.models import Problem
from server.checks.problems import errors
from server.checks.project import Project
from server.repair.causes import cause_of
from server.workspace.history import ChangeEntry, TouchedFile
from server.workspace.state import FileRecord


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
