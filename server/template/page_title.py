"""The generated app's page title: the project's name, written into the template's index.html when
the template is laid out (the plan names the project before any file is written)."""

from __future__ import annotations

import html
import re

INDEX_HTML = "frontend/index.html"
DEFAULT_TITLE = "StepForge app"
_TITLE = re.compile(r"<title>.*?</title>", re.DOTALL)


def display_name(project_name: str | None) -> str:
    """`task-manager` -> `Task Manager`: the plan's folder-safe name as people write it."""
    words = [w for w in re.split(r"[-_\s]+", project_name or "") if w]
    if not words:
        return DEFAULT_TITLE
    return " ".join(w[:1].upper() + w[1:] for w in words)


def titled_index_html(page: str, project_name: str | None) -> str:
    """index.html with its <title> set to the project's name (escaped), the rest untouched."""
    title = f"<title>{html.escape(display_name(project_name), quote=False)}</title>"
    return _TITLE.sub(lambda _: title, page, count=1)
