"""What never goes into the workspace's repository, as `.gitignore` lines (pure).

Dependencies, build output and the app's database files are not source; of `.stepforge/` only the
plan is (state, baselines, locks, logs, screenshots, prompts' caches and anything else StepForge
keeps there are private to this machine). A user's `.gitignore` is never rewritten: only the
lines it lacks are appended.
"""

from __future__ import annotations

from pathlib import Path

from server.workspace.layout import PLAN

GITIGNORE = ".gitignore"
PLAN_PATH = f".stepforge/{PLAN}"
HEADER = "# StepForge: dependencies, build output, databases and its private files"
LINES = (
    "node_modules/",
    "dist/",
    "__pycache__/",
    ".venv/",
    ".env",
    "*.db",
    "*.db-journal",
    "*.sqlite3",
    ".stepforge/*",
    f"!{PLAN_PATH}",
)


def missing_lines(existing: str) -> list[str]:
    """The lines of LINES that `existing` (a .gitignore's text) does not have yet."""
    present = {line.strip() for line in existing.splitlines()}
    return [line for line in LINES if line not in present]


def with_missing_lines(existing: str | None) -> str | None:
    """The .gitignore text with the missing lines appended, or None when nothing is missing."""
    text = existing or ""
    missing = missing_lines(text)
    if not missing:
        return None
    if text and not text.endswith("\n"):
        text += "\n"
    if text:
        text += "\n"
    return text + "\n".join([HEADER, *missing]) + "\n"


def committable(path: str) -> bool:
    """Whether StepForge may commit `path` (workspace-relative): of `.stepforge/` only the plan,
    and nothing that climbs out of the workspace. A last guard behind the .gitignore, which the
    user may have changed."""
    parts = path.split("/")
    if not path or path.startswith("/") or ".." in parts or ".git" in parts:
        return False
    if parts[0] == ".stepforge":
        return path == PLAN_PATH
    return True


def ensure_gitignore(root: Path) -> bool:
    """Blocking: append the missing lines to `root/.gitignore` (created if absent). True when the
    file changed."""
    target = root / GITIGNORE
    if target.is_symlink():
        return False  # never written through a link
    existing = target.read_text("utf-8", "replace") if target.exists() else None
    text = with_missing_lines(existing)
    if text is None:
        return False
    target.write_text(text, "utf-8")
    return True
