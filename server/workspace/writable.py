"""Whether StepForge may write in a folder, asked before any work (an LLM call, a compiler run)
so that a read-only folder costs nothing and is said in the user's words, not as the OSError of a
temporary file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from protocol.errors import ErrorCode
from server.errors import StepForgeError
from server.workspace.meta import META


def write_problem(folder: Path) -> str | None:
    """Why nothing can be written in `folder` (tried for real: permissions, a read-only file
    system, root's own rights all decide as they would for the work), or None."""
    try:
        with tempfile.TemporaryFile(dir=folder, prefix=".stepforge-probe-"):
            return None
    except OSError as error:
        return error.strerror or str(error)


def require_writable(root: Path) -> None:
    """Refuse a workspace whose folder (or its .stepforge folder) cannot be written."""
    for folder in (root, root / META):
        if folder.is_dir() or folder == root:
            reason = write_problem(folder)
            if reason is not None:
                raise StepForgeError(
                    f"cannot write to {folder}: {reason}. Make it writable "
                    f"(chmod u+w {folder}) or work in another folder.",
                    code=ErrorCode.WORKSPACE_READ_ONLY,
                )


def writable_parent_problem(parent: Path) -> str | None:
    """What stops a new project folder being created in `parent`, in words, or None."""
    if not os.path.isdir(parent):
        return None
    reason = write_problem(parent)
    return None if reason is None else f"cannot write to {parent}: {reason}"
