"""Which paths StepForge may write, and the workspace root itself.

The pure rules are in `server.plan.paths`; `safe_join` adds what only the file system can tell: no
symlink on the way may lead outside the workspace, and a role folder (`frontend/`, `backend/`) may
not be a link at all (`server.workspace.roles`).
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlparse

from server.errors import UnsafePathError, WorkspaceError
from server.plan.paths import path_problem
from server.workspace.roles import ROLE_NAMES, existing_role_folder


def safe_join(root: Path, relative: str) -> Path:
    """`root / relative`, refused unless it stays inside the workspace, symlinks included."""
    problem = path_problem(relative)
    if problem:
        raise UnsafePathError(f"Refusing to write {relative!r}: the path {problem}.")
    role = PurePosixPath(relative).parts[0]
    if role in ROLE_NAMES:  # `backend -> .` stays inside, but is refused all the same
        existing_role_folder(root, role)
    target = root / PurePosixPath(relative)
    real_root = root.resolve()
    # Resolve the deepest existing ancestor (the file itself may be a symlink too).
    probe = target
    while not probe.exists() and not probe.is_symlink() and probe != root:
        probe = probe.parent
    resolved = probe.resolve()
    if resolved != real_root and real_root not in resolved.parents:
        raise UnsafePathError(
            f"Refusing to write {relative!r}: {probe.relative_to(root)} is a symlink that leads "
            f"outside the workspace ({resolved})."
        )
    return target


def workspace_path(value: str) -> str:
    """A path from a path or a file:// URI (not checked)."""
    return unquote(urlparse(value).path) if value.startswith("file:") else value


def workspace_from(value: str | None) -> Path:
    """A workspace folder from a path or a file:// URI; it must exist."""
    if not value:
        raise WorkspaceError(
            "No workspace: open a folder in the editor, or pass workspace (a folder path)."
        )
    value = workspace_path(value)
    path = Path(os.path.expanduser(value))
    if not path.is_absolute():
        raise WorkspaceError(f"The workspace {value!r} must be an absolute path or a file:// URI.")
    if not path.is_dir():
        raise WorkspaceError(
            f"The workspace {str(path)!r} is not an existing folder: create it first."
        )
    return path.resolve()
