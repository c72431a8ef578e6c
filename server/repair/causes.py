"""Which file a problem comes from, when it is not the file it is reported in (pure).

The rule, kept simple on purpose: a problem in file F is caused by file C when F imports C and
the problem sits on a line of that import (the import itself, or one of its names), or its
message names a name F imports from C. "`Task` is not defined in backend/models/task.py" on the
line `from models.task import Task`, "Cannot find name 'Task'" further down: both are C's doing.
Used so that a file in conflict (the user's, left alone) does not send the healthy files that
import it to repair, and so that undo can say what a file it kept now breaks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from protocol.models import Problem
from server.checks.project import Project, imported_module


@dataclass(frozen=True)
class ImportOf:
    """What file F takes from file C: the lines of the import and the names it binds."""

    lines: frozenset[int]
    names: frozenset[str]


def imports_of(project: Project, path: str, culprits: set[str]) -> dict[str, ImportOf]:
    """The imports of `path` that name one of `culprits`, by culprit."""
    found: dict[str, tuple[set[int], set[str]]] = {}

    def add(target: str | None, lines: set[int], names: set[str]) -> None:
        if target is None or target not in culprits or target == path:
            return
        known = found.setdefault(target, (set(), set()))
        known[0].update(lines)
        known[1].update(names)

    if path not in project.files:
        return {}
    if path.startswith("frontend/"):
        for ts_import in project.ts(path).imports:
            if not ts_import.specifier.startswith((".", "/")):
                continue
            bound = [*ts_import.named, *([ts_import.default] if ts_import.default else [])]
            add(
                project.resolve_ts(path, ts_import.specifier),
                {ts_import.line, *(n.line for n in bound)},
                {n.name for n in bound},
            )
    elif path.endswith(".py"):
        for py_import in project.py(path).imports:
            dotted = imported_module(path, py_import)
            if not dotted:
                continue
            lines = {py_import.line, *(line for _, line, _ in py_import.names)}
            add(project.backend_module(dotted), lines, {n for n, _, _ in py_import.names})
            for name, line, _ in py_import.names:  # `from models import task`: the module itself
                add(project.backend_module(f"{dotted}.{name}"), {py_import.line, line}, {name})
    return {c: ImportOf(frozenset(lines), frozenset(names)) for c, (lines, names) in found.items()}


def _names_in(message: str, names: frozenset[str]) -> bool:
    return any(re.search(rf"(?<![\w$]){re.escape(name)}(?![\w$])", message) for name in names)


def cause_of(project: Project, problem: Problem, culprits: set[str]) -> str | None:
    """The culprit that `problem` comes from (see the module's rule), or None."""
    if problem.path in culprits:
        return None  # a problem of the culprit itself is its own
    for culprit, taken in sorted(imports_of(project, problem.path, culprits).items()):
        if problem.line in taken.lines or _names_in(problem.message, taken.names):
            return culprit
    return None
