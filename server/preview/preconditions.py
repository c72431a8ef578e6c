"""What a preview start checks before it starts anything, so that a start that cannot succeed
leaves nothing behind: no container, no process, no folder, no reserved port pair."""

from __future__ import annotations

from pathlib import Path

from protocol.errors import ErrorCode
from server.errors import StepForgeError
from server.workspace.meta import META
from server.workspace.roles import ROLE_NAMES, existing_role_folder

# What both servers start from: Vite's manifest, the backend's entry point and requirements.
APP_FILES = ("frontend/package.json", "backend/main.py", "backend/requirements.txt")


def missing_app_files(root: Path) -> list[str]:
    return [relative for relative in APP_FILES if not (root / relative).is_file()]


def require_app(root: Path) -> None:
    """Refuse a folder that holds no app, before anything is created in it (and a role folder
    that is a link or not a folder, with an error naming it: `server.workspace.roles`)."""
    for role in ROLE_NAMES:
        existing_role_folder(root, role)
    missing = missing_app_files(root)
    if missing:
        raise StepForgeError(
            f"No app here: {root} has no {', '.join(missing)}. Create one first "
            "(`stepforge new`, or `stepforge plan` and `stepforge generate` in this folder).",
            code=ErrorCode.PREVIEW_FAILED,
        )


def cannot_write(root: Path, error: OSError) -> StepForgeError:
    """The user's words for a workspace where the preview's record cannot be written."""
    reason = error.strerror or str(error)
    return StepForgeError(
        f"cannot write to {root / META}: {reason}. The preview records what it runs there; make "
        "the folder writable and start it again.",
        code=ErrorCode.PREVIEW_FAILED,
    )
