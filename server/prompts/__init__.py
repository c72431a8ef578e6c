"""Prompt templates: shipped here, overridable per workspace in `.stepforge/prompts/NAME.md`.

Templates use `{{placeholder}}`s (documented in README). The system prompts stay fixed: they tell
the model its role, and the project's test server recognises requests by them.
"""

from __future__ import annotations

import logging
import re
from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from server.workspace.meta import MetaFiles

log = logging.getLogger(__name__)

PLANNER_SYSTEM = (
    "You are StepForge's planner. You design complete, small, working web apps "
    "(React + Vite + TypeScript frontend, FastAPI backend). You answer with one JSON object only."
)
CHANGE_PLANNER_SYSTEM = (
    "You are StepForge's change planner. You change a planned web app (React + Vite + "
    "TypeScript frontend, FastAPI backend) as its user asks, touching as few files as you can. "
    "You answer with one JSON object, a plan delta."
)
APP_WRITER_SYSTEM = (
    "You are StepForge's app writer. You write every file of a planned web app in one answer, "
    'each in a <file path="..."> block.'
)
CONTINUE = (
    "Your answer was cut off. Continue exactly where it stopped: no repetition, no preamble, "
    "no code fence opening."
)


# The same for every file: what differs between two file prompts comes last, so that providers
# that cache prompt prefixes (Groq) serve the shared part from their cache.
FILE_WRITER_SYSTEM = (
    "You are StepForge's file writer. You write the complete content of one file of a planned "
    "web app, the file named at the end of the request. You answer with that file's content in "
    "one fenced code block."
)
FILE_REQUEST = "Write the file `{path}`."


_PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def load(name: str, meta: MetaFiles | None) -> str:
    """The workspace's `.stepforge/prompts/NAME.md` if it has one (never through a link), else the
    shipped template. Blocking (a small file)."""
    if meta is not None:
        override = meta.read(f"prompts/{name}.md")
        if override is not None:
            return override.decode("utf-8", "replace")
    return resources.files(__package__).joinpath(f"{name}.md").read_text(encoding="utf-8")


def render(template: str, values: dict[str, str]) -> str:
    """Fill `{{name}}` placeholders; unknown ones stay as written."""

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in values:
            return values[name]
        log.warning("prompt template has an unknown placeholder {{%s}}", name)
        return match.group(0)

    return _PLACEHOLDER.sub(fill, template)
