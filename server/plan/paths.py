"""Which relative paths are safe, and which of them a plan may name (pure: no file system).

`path_problem` is the rule for every path StepForge writes (template files included): relative,
inside the project, never into `.git`, `.stepforge` or `node_modules`. `planned_path_problem` is
stricter, because a plan is LLM output: a planned file lives under `frontend/src/` or `backend/`,
has no hidden segment, is not a file that Python or npm would run on their own, fits the file
systems of every platform, and a backend module is importable by its name.
"""

from __future__ import annotations

import keyword
import re
from pathlib import PurePosixPath

# Folders StepForge never writes into (its own state is written by name, not through plans).
RESERVED_DIRS = frozenset({".git", ".stepforge", "node_modules"})
PLANNED_ROOTS = ("frontend/src/", "backend/")
MAX_SEGMENT = 100
MAX_PATH = 240
# Files an interpreter or a package manager runs or reads without being asked to.
AUTORUN_NAMES = frozenset({"sitecustomize.py", "usercustomize.py", "conftest.py"})
AUTORUN_SUFFIXES = (".pth",)
_DRIVE = re.compile(r"^[A-Za-z]:")
_WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$", re.IGNORECASE)
_WINDOWS_FORBIDDEN = set('<>:"|?*')


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


def planned_path_problem(path: str) -> str | None:
    """Why a plan may not name `path`, or None. Every answer reads after "the path"."""
    problem = path_problem(path)
    if problem:
        return problem
    if not path.startswith(PLANNED_ROOTS):
        return "is outside frontend/src/ and backend/, the only folders a plan may fill"
    if len(path) > MAX_PATH:
        return f"is {len(path)} characters long; keep paths under {MAX_PATH}"
    parts = path.split("/")
    for part in parts:
        if part.startswith("."):
            return f"has the hidden segment {part!r}; plan no dot files or dot folders"
        if len(part) > MAX_SEGMENT:
            return f"has a segment of {len(part)} characters; keep each under {MAX_SEGMENT}"
        if _WINDOWS_RESERVED.match(part):
            return f"uses {part!r}, a name Windows reserves"
        if part.endswith("."):
            return f"has the segment {part!r} ending in a dot"
        forbidden = sorted(_WINDOWS_FORBIDDEN & set(part))
        if forbidden:
            return f"uses {''.join(forbidden)!r}, characters file systems refuse"
    name = parts[-1]
    if name in AUTORUN_NAMES or name.endswith(AUTORUN_SUFFIXES):
        return f"names {name!r}, a file Python runs on its own; plan ordinary modules only"
    if path.startswith("backend/") and name.endswith(".py"):
        module = PurePosixPath(path).relative_to("backend").with_suffix("").parts
        bad = next((p for p in module if not p.isidentifier() or keyword.iskeyword(p)), None)
        if bad is not None:
            return (
                f"makes {bad!r} part of a Python module name, which must be an identifier "
                f"(use {re.sub(r'[^0-9A-Za-z_]', '_', bad)!r})"
            )
    return None
