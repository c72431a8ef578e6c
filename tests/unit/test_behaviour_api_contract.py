"""The API contract run (Schemathesis, the real library) against a small HTTP server on
127.0.0.1 that serves the tasks of `behaviour_schema`: a clean server has no findings, a detail
endpoint off its schema and one that fails on a real id are found, and a second run finds the
same (derandomized)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from server.checks.behaviour import api_contract
from server.checks.behaviour import findings as codes
from tests.unit.behaviour_schema import schema

BUDGET = api_contract.Budget(examples=8, seconds=20)


def serve(*defects: str) -> ThreadingHTTPServer:
    tasks = {1: {"id": 1, "title": "Write the API", "status": "todo"}}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _answer(self, status: int, body: object = None) -> None:
            data = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> object:
            length = int(self.headers.get("Content-Length") or 0)
            return json.loads(self.rfile.read(length) or b"null")

        def _task(self) -> int | None:
            tail = self.path.split("?")[0].rsplit("/", 1)[1]
            return int(tail) if tail.lstrip("-").isdigit() else None

        def do_GET(self) -> None:
            if self.path.startswith("/api/stats"):
                return self._answer(200, {"total": len(tasks)})
            if self.path.split("?")[0] == "/api/tasks":
                return self._answer(200, list(tasks.values()))
            task = tasks.get(self._task() or -1)
            if task is None:
                return self._answer(404, {"detail": "Task not found"})
            if "detail-raises" in defects:
                return self._answer(500, {"error": "boom"})
            if "detail-off-schema" in defects:
                return self._answer(200, {"id": str(task["id"]), "name": task["title"]})
            return self._answer(200, task)

        def do_POST(self) -> None:
            body = self._body()
            if not isinstance(body, dict) or not isinstance(body.get("title"), str):
                return self._answer(422, {"detail": []})
            task = {"id": max(tasks, default=0) + 1, "title": body["title"], "status": "todo"}
            tasks[task["id"]] = task
            return self._answer(201, task)

        def do_PATCH(self) -> None:
            body = self._body()
            task = tasks.get(self._task() or -1)
            if task is None:
                return self._answer(404, {"detail": "Task not found"})
            if isinstance(body, dict) and isinstance(body.get("title"), str):
                task["title"] = body["title"]
            return self._answer(200, task)

        def do_DELETE(self) -> None:
            if tasks.pop(self._task() or -1, None) is None:
                return self._answer(404, {"detail": "Task not found"})
            self.send_response(204)
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def running(request: pytest.FixtureRequest) -> Iterator[str]:
    server = serve(*getattr(request, "param", ()))
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def found(url: str) -> set[tuple[str, str, str]]:
    return {(f.code, f.method, f.route) for f in api_contract.run(url, schema(), BUDGET)}


def test_a_clean_api_has_no_findings(running: str) -> None:
    assert found(running) == set()


@pytest.mark.parametrize("running", [("detail-off-schema",)], indirect=True)
def test_an_answer_off_its_declared_schema_is_found_the_same_way_twice(running: str) -> None:
    first = api_contract.run(running, schema(), BUDGET)
    assert {(f.code, f.route) for f in first} == {(codes.SCHEMA, "/api/tasks/{task_id}")}
    (finding,) = first
    assert finding.exchange.path.startswith("/api/tasks/") and finding.exchange.status == 200
    assert "does not match" in finding.message()
    # The same app in the same state: the same requests, the same finding.
    twin = serve("detail-off-schema")
    try:
        again = api_contract.run(f"http://127.0.0.1:{twin.server_address[1]}", schema(), BUDGET)
    finally:
        twin.shutdown()
        twin.server_close()
    assert [f.message() for f in again] == [f.message() for f in first]


@pytest.mark.parametrize("running", [("detail-raises",)], indirect=True)
def test_a_detail_that_fails_on_a_real_id_is_reached(running: str) -> None:
    # Generated ids almost never name a record: the ids the list answers are tried too.
    assert found(running) == {(codes.SERVER_ERROR, "GET", "/api/tasks/{task_id}")}
