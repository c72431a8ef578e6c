"""The behaviour tier: the app's backend, running in its sandbox on a scratch database, exercised
as a client would (no LLM):

- round trips from the plan (`roundtrip`): create, read by list and by id, update, survive a
  restart of the backend, delete and see it gone;
- the API contract from the backend's own OpenAPI schema (`api_contract`, Schemathesis): no 5xx
  for schema-valid input, answers that match their declared schemas and status codes.

Every finding names the request and the answer, on the line of the router that serves the
endpoint (`findings`). The backend is started for the tier alone (`backend`): never the user's
preview, never the user's data. Each run records what passed (`regressions`): after a change,
a finding on what worked before it is reported as a regression.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx

from protocol.models import Problem
from server.checks.behaviour import api_contract, regressions, roundtrip
from server.checks.behaviour.backend import (
    BackendDidNotStart,
    CheckedBackend,
    DockerBackend,
    LocalBackend,
)
from server.checks.behaviour.findings import placed
from server.checks.project import Project
from server.checks.toolchain import ToolUnavailable
from server.preview.docker_runtime import DockerRuntime

log = logging.getLogger(__name__)

Budget = api_contract.Budget


@dataclass(frozen=True)
class Where:
    """Where the tier runs the backend: the docker runtime (sandboxed), or local processes."""

    runtime: DockerRuntime | None  # None: local
    owner: str = ""
    environment: dict[str, str] | None = None


def applies(project: Project) -> bool:
    return "backend/main.py" in project.files


def _backend(root: Path, where: Where) -> CheckedBackend:
    if where.runtime is None:
        return LocalBackend(root)
    return DockerBackend(where.runtime, root, where.owner, where.environment or {})


async def run(
    root: Path, project: Project, where: Where, budget: Budget | None = None
) -> list[Problem]:
    if not applies(project) or project.plan is None:
        return []
    from server.checks.smoke import crash_problems  # the smoke tier's traceback reading

    backend = _backend(root, where)
    began = time.monotonic()
    try:
        try:
            await anyio.to_thread.run_sync(backend.start)
        except BackendDidNotStart as error:
            found = await anyio.to_thread.run_sync(crash_problems, error.log_lines)
            if found:
                return found
            tail = " ".join(error.log_lines[-3:])[-300:]
            raise ToolUnavailable(
                f"the backend did not start for the behaviour check: {tail}"
            ) from None
        async with httpx.AsyncClient(timeout=15.0, trust_env=False) as client:
            answer = await client.get(backend.url + "/openapi.json")
        try:
            schema: Any = answer.json()
        except ValueError:
            schema = None
        if answer.status_code != 200 or not isinstance(schema, dict):
            raise ToolUnavailable(
                f"the backend serves no OpenAPI schema at /openapi.json (HTTP {answer.status_code})"
            )
        plan = project.plan

        def restart() -> None:
            try:
                backend.restart()
            except BackendDidNotStart as error:
                raise ToolUnavailable(
                    "the backend did not start again after a restart: "
                    + " ".join(error.log_lines[-3:])[-300:]
                ) from None

        started = time.monotonic()
        found_trips = await anyio.to_thread.run_sync(
            roundtrip.run, backend.url, plan, schema, restart
        )
        tripped = time.monotonic()
        exercised: list[tuple[str, str]] = []
        try:
            found_api = await anyio.to_thread.run_sync(
                api_contract.run, backend.url, schema, budget, exercised
            )
        except api_contract.NotFinished as error:
            raise ToolUnavailable(str(error)) from None
        log.info(
            "behaviour: backend up in %.1f s, round trips %.1f s, API contract %.1f s",
            started - began,
            tripped - started,
            time.monotonic() - tripped,
        )
    finally:
        await anyio.to_thread.run_sync(backend.close)
    on_operations = placed(project, found_trips + found_api)
    # What passed, for the next change's regressions (a run that did not finish records nothing).
    record = regressions.record_of(project, exercised, on_operations, time.time())
    await anyio.to_thread.run_sync(regressions.save, root, record)
    return [problem for _, problem in on_operations]
