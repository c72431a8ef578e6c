"""The API contract, from the backend's own OpenAPI schema: every operation exercised with inputs
Schemathesis generates from its (bounded: `openapi.bounded`) schema, each answer held to three
checks: no 5xx for a schema-valid request, the answer matches the operation's declared response
schema, its status is one the operation declares. Bounded (examples per operation, seconds in
all) and deterministic (Hypothesis derandomized, no example database): a re-check sends the same
requests. Operations with one path parameter are also tried with the ids of records the app
lists, so a detail endpoint that fails only on a real record is reached.

Blocking (the library's HTTP client): the tier runs it in a worker thread.

Not a finding (no real client would call it a bug): a 4xx the app answers with FastAPI's
`{"detail": ...}` (HTTPException: a missing record's 404, a refused 409) where the operation
does not declare it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import requests
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis import openapi as schemathesis_openapi
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from server.checks.behaviour import findings as codes
from server.checks.behaviour.findings import Exchange, Finding
from server.checks.behaviour.openapi import bounded
from server.checks.behaviour.roundtrip import listed_records, record_id

log = logging.getLogger(__name__)

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
REQUEST_TIMEOUT = 10.0
WHAT = {
    codes.SERVER_ERROR: "A request its OpenAPI schema allows made the endpoint fail",
    codes.SCHEMA: "The answer does not match the endpoint's declared response schema "
    "(response_model)",
    codes.STATUS: "The answer's status is not one the endpoint declares",
}


@dataclass(frozen=True)
class Budget:
    examples: int = 10  # generated requests per operation (and as many with real ids)
    seconds: float = 60.0  # for every operation together


def _code(failure: Failure) -> str | None:
    name = type(failure).__name__
    if name == "ServerError":
        return codes.SERVER_ERROR
    if name in ("JsonSchemaError", "MalformedJson", "MissingContentType", "UndefinedContentType"):
        return codes.SCHEMA
    if name == "UndefinedStatusCode":
        return codes.STATUS
    return None


def is_noise(code: str, status: int, answer: Any) -> bool:
    """An undeclared 4xx the app raised on purpose (FastAPI's `{"detail": ...}`)."""
    return (
        code == codes.STATUS
        and 400 <= status < 500
        and isinstance(answer, dict)
        and "detail" in answer
    )


def _json(response: Any) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _concrete(case: Any) -> str:
    path = case.formatted_path
    query = case.query or {}
    if query:
        path += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return path


def _body(case: Any) -> Any:
    body = case.body
    return None if type(body).__name__ == "NotSet" else body


def _real_ids(session: requests.Session, base_url: str, schema: dict[str, Any]) -> dict[str, list]:
    """Per collection path (/api/tasks), the ids of the records its list answers with now."""
    found: dict[str, list[Any]] = {}
    for path, item in (schema.get("paths") or {}).items():
        if "{" in path or not isinstance(item, dict) or "get" not in item:
            continue
        try:
            answer = session.get(base_url + path, timeout=REQUEST_TIMEOUT)
        except requests.RequestException:
            continue
        records = listed_records(_json(answer)) if answer.ok else None
        ids = [record_id(r) for r in records or []]
        ids = [i for i in ids if isinstance(i, (int, str)) and not isinstance(i, bool)]
        if ids:
            found[path.rstrip("/")] = ids[:5]
    return found


class NotFinished(Exception):
    """The time budget ran out before every operation was exercised."""


def run(
    base_url: str,
    raw_schema: dict[str, Any],
    budget: Budget | None = None,
    exercised: list[tuple[str, str]] | None = None,
) -> list[Finding]:
    """The findings, the first of each kind per operation. Raises NotFinished when the budget
    ran out before some operation got a single request (no verdict on it: not a clean API).
    `exercised` gains the (method, path) of every operation that got a request (what a clean
    verdict covers: `regressions` keeps it)."""
    budget = budget or Budget()
    deadline = time.monotonic() + budget.seconds
    schema = schemathesis_openapi.from_dict(bounded(raw_schema), config=SchemathesisConfig())
    found: list[Finding] = []
    missed: list[str] = []
    with requests.Session() as session:
        session.trust_env = False  # the app is on 127.0.0.1: never through the user's proxy
        real = _real_ids(session, base_url, raw_schema)
        for result in schema.get_all_operations():
            if not isinstance(result, Ok):  # an operation the library cannot read: go on
                log.info("schemathesis cannot use an operation: %s", result)
                continue
            operation = result.ok()
            path_names = [p.name for p in operation.path_parameters]
            strategies = [operation.as_strategy(generation_mode=GenerationMode.POSITIVE)]
            collection = operation.path.rpartition("/")[0].rstrip("/")
            if len(path_names) == 1 and real.get(collection):
                strategies.append(_with_real_ids(operation, path_names[0], real[collection]))
            if time.monotonic() > deadline:
                missed.append(operation.label)
                continue
            first: dict[str, Finding] = {}  # of each kind, for this operation
            sent = 0
            for strategy in strategies:
                if time.monotonic() > deadline:
                    break
                sent += _exercise(session, base_url, operation, strategy, budget, deadline, first)
            found += first.values()
            if sent and exercised is not None:
                exercised.append((operation.method.upper(), operation.path))
    if missed:
        raise NotFinished(
            f"the API contract did not finish in {budget.seconds:.0f} s: "
            f"{', '.join(missed[:5])}{' and more' if len(missed) > 5 else ''} not exercised"
        )
    return found


def _with_real_ids(operation: Any, name: str, ids: list[Any]) -> Any:
    """Requests to `operation` whose path parameter is the id of a record the app has."""

    def with_id(value: Any) -> Any:
        return operation.as_strategy(
            generation_mode=GenerationMode.POSITIVE, path_parameters={name: value}
        )

    return st.sampled_from(ids).flatmap(with_id)


def _exercise(
    session: requests.Session,
    base_url: str,
    operation: Any,
    strategy: Any,
    budget: Budget,
    deadline: float,
    found: dict[str, Finding],
) -> int:
    """Send the strategy's requests; `found` keeps the first finding of each kind. Returns how
    many requests were sent."""
    sent = 0

    @settings(
        max_examples=budget.examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @given(case=strategy)
    def exercise(case: Any) -> None:
        nonlocal sent
        if time.monotonic() > deadline:
            return
        sent += 1
        try:
            try:
                response = case.call(base_url=base_url, session=session, timeout=REQUEST_TIMEOUT)
            except requests.ConnectionError:
                # A kept-alive connection the server closed (uvicorn does after a 500): once more.
                response = case.call(base_url=base_url, session=session, timeout=REQUEST_TIMEOUT)
        except requests.RequestException as error:
            exchange = Exchange(case.method, _concrete(case), _body(case), 0, type(error).__name__)
            found.setdefault(
                codes.SERVER_ERROR,
                Finding(
                    codes.SERVER_ERROR,
                    operation.method.upper(),
                    operation.path,
                    WHAT[codes.SERVER_ERROR],
                    exchange,
                ),
            )
            return
        failures: list[Failure] = []
        try:
            case.validate_response(response, checks=CHECKS)
        except FailureGroup as group:
            failures = list(group.exceptions)
        except Failure as single:
            failures = [single]
        for failure in failures:
            code = _code(failure)
            if response.status_code >= 500 and code != codes.SERVER_ERROR:
                continue  # a failing endpoint is one finding: its 5xx
            if (
                code is None
                or code in found
                or is_noise(code, response.status_code, _json(response))
            ):
                continue
            exchange = Exchange(
                case.method, _concrete(case), _body(case), response.status_code, response.text
            )
            what = WHAT[code]
            if code != codes.SERVER_ERROR:
                # Its first line: the library goes on with the whole schema.
                detail = str(failure.message).strip().split("\n")[0][:200]
                what += f" ({detail})" if detail else ""
            found[code] = Finding(code, operation.method.upper(), operation.path, what, exchange)

    exercise()
    return sent
