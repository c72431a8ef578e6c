"""Syntax (pure): every source file parses (Python's compiler, JSON, tree-sitter for TS/TSX)."""

from __future__ import annotations

from protocol.models import Problem
from server.checks.problems import problem
from server.checks.project import Project
from server.source.syntax import syntax_error

SOURCE = "syntax"


def check_syntax(project: Project, paths: list[str] | None = None) -> list[Problem]:
    found = []
    for path in sorted(paths if paths is not None else project.files):
        if path.endswith("package-lock.json") or path not in project.files:
            continue
        error = syntax_error(path, project.files[path])
        if error is not None:
            line, column, message = error
            found.append(problem(path, line, column, "syntax", message, SOURCE))
    return found
