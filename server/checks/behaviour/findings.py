"""What the behaviour checks found (pure): a request, its answer, and what is wrong with it, placed
on the line of the router that serves the endpoint."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from protocol.models import Problem
from server.checks.contract import _owner_of, path_matches
from server.checks.problems import problem
from server.checks.project import Project

SOURCE = "behaviour"
MAX_BODY = 300  # characters of a request's or an answer's body a message quotes

# Stable problem codes.
SERVER_ERROR = "api-5xx"  # an answer 5xx (or none) to a request the schema allows
SCHEMA = "api-schema"  # an answer that does not match its declared response schema
STATUS = "api-status"  # a success status the operation does not declare
NOT_STORED = "api-not-stored"  # a created or changed record that does not read back
NOT_DELETED = "api-not-deleted"  # a deleted record that is still there
ROUNDTRIP = "api-roundtrip"  # a step of a round trip refused or failed
REGRESSION = "regression"  # a finding on an endpoint that worked before the last change


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_BODY else text[:MAX_BODY] + " …"


def body_text(body: Any) -> str:
    """A request body as the message quotes it (JSON, cut)."""
    try:
        return _short(json.dumps(body, ensure_ascii=False, default=str))
    except (TypeError, ValueError):
        return _short(repr(body))


@dataclass(frozen=True)
class Exchange:
    """One request and its answer (status 0: none came)."""

    method: str
    path: str  # concrete, with the query: /api/tasks/3?x=1
    body: Any  # None: no body
    status: int
    answer: str  # the answer's body (or why none came)

    def describe(self) -> str:
        sent = f"{self.method} {self.path}"
        if self.body is not None:
            sent += f" {body_text(self.body)}"
        got = f"answered {self.status}" if self.status else "got no answer"
        answer = _short(self.answer)
        return f"{sent} {got}" + (f": {answer}" if answer else "")


@dataclass(frozen=True)
class Finding:
    code: str
    method: str  # the operation at fault: its method ...
    route: str  # ... and its path as the OpenAPI schema names it (/api/tasks/{task_id})
    what: str  # what is wrong, in a sentence
    exchange: Exchange

    def message(self) -> str:
        return f"{self.what}: {self.exchange.describe()}"


def route_place(project: Project, method: str, route: str) -> tuple[str, int, int]:
    """The file and line of the decorator that serves `method route` (`@router.get("/{id}")`),
    else the router module that owns the path, else backend/main.py."""
    for path in project.py_files():
        for served in project.py(path).routes:
            if served.method == method and path_matches(served.path, route):
                return path, served.line, served.column
    return _owner_of(project, route) or "backend/main.py", 1, 1


def placed(project: Project, findings: list[Finding]) -> list[tuple[tuple[str, str], Problem]]:
    """Each endpoint's (method, route) with its one problem (the first finding on it: round trips
    come first, and say more than a generated request)."""
    found: list[tuple[tuple[str, str], Problem]] = []
    seen: set[tuple[str, str]] = set()
    for finding in findings:
        key = (finding.method, finding.route)
        if key in seen:
            continue
        seen.add(key)
        path, line, column = route_place(project, finding.method, finding.route)
        found.append((key, problem(path, line, column, finding.code, finding.message(), SOURCE)))
    return found


def to_problems(project: Project, findings: list[Finding]) -> list[Problem]:
    """One problem per endpoint (see `placed`)."""
    return [found for _, found in placed(project, findings)]
