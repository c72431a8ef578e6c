"""Which paths StepForge may write, and the workspace root itself.

`path_problem` is pure (plan validation and hypothesis tests use it); `safe_join` adds what only
the file system can tell: no symlink on the way may lead outside the workspace.
"""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlparse

from server.errors import UnsafePathError, WorkspaceError

# Folders StepForge never writes into (its own state is written by name, not through plans).
RESERVED_DIRS = frozenset({".git", ".stepforge", "node_modules"})
_DRIVE = re.compile(r"^[A-Za-z]:")


def path_problem(path: str) -> str | None:
    """Why `path` is not a safe project-relative file path, or None if it is."""
    if not path or not path.strip():
        return "is empty"
    if "\\" in path:
        return "uses backslashes; write paths with /"
    if "\x00" in path or any(ord(ch) < 32 for ch in path):
        return "contains control characters"
    if path.startswith("/") or _DRIVE.match(path) or path.startswith("~"):
        return "is absolute; paths must be relative to the project"
    parts = path.split("/")
    if ".." in parts:
        return "contains '..'; paths must stay inside the project"
    if any(part in ("", ".") for part in parts):
        return "has an empty or '.' segment"
    reserved = next((part for part in parts if part in RESERVED_DIRS), None)
    if reserved:
        return f"is under {reserved}/, which StepForge never writes"
    if any(part != part.strip() for part in parts):
        return "has a segment with leading or trailing spaces"
    return None


def safe_join(root: Path, relative: str) -> Path:
    """`root / relative`, refused unless it stays inside the workspace, symlinks included."""
    problem = path_problem(relative)
    if problem:
        raise UnsafePathError(f"Refusing to write {relative!r}: the path {problem}.")
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


def workspace_from(value: str | None) -> Path:
    """A workspace folder from a path or a file:// URI; it must exist."""
    if not value:
        raise WorkspaceError(
            "No workspace: open a folder in the editor, or pass workspace (a folder path)."
        )
    if value.startswith("file:"):
        value = unquote(urlparse(value).path)
    path = Path(os.path.expanduser(value))
    if not path.is_absolute():
        raise WorkspaceError(f"The workspace {value!r} must be an absolute path or a file:// URI.")
    if not path.is_dir():
        raise WorkspaceError(
            f"The workspace {str(path)!r} is not an existing folder: create it first."
        )
    return path.resolve()
