"""The app template (React + Vite + TypeScript frontend, FastAPI backend) and route registration."""

from __future__ import annotations

from functools import cache
from pathlib import Path

TEMPLATE_DIR = Path(__file__).with_name("files")
_SKIP_DIRS = {"node_modules", "dist", "__pycache__", ".venv"}
_SKIP_SUFFIXES = (".tsbuildinfo", ".pyc")


@cache
def template_paths() -> tuple[str, ...]:
    """Every file the template lays out, as workspace-relative POSIX paths."""
    return tuple(
        sorted(
            path.relative_to(TEMPLATE_DIR).as_posix()
            for path in TEMPLATE_DIR.rglob("*")
            if path.is_file()
            and not _SKIP_DIRS.intersection(path.relative_to(TEMPLATE_DIR).parts)
            and not path.name.endswith(_SKIP_SUFFIXES)
        )
    )


def template_bytes(relative: str) -> bytes:
    return (TEMPLATE_DIR / relative).read_bytes()
