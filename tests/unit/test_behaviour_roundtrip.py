"""Round trips against an in-memory API (an httpx transport standing in for the app): what each
defect of a resource's endpoints is reported as, on which endpoint, and that a working one
passes. Which resources a plan has, and that a planned endpoint the app lacks is left to the
static contract."""

from __future__ import annotations

import json

import httpx
import pytest

from protocol.plan import Plan
from server.checks.behaviour import findings as codes
from server.checks.behaviour import roundtrip
from tests.unit.behaviour_schema import PLAN, schema


class Store:
    """The tasks endpoints, with the defects of an app switched on by name."""

    def __init__(self, *defects: str) -> None:
        self.defects = set(defects)
        self.rows: dict[int, dict] = {}  # what survives a restart (the database)
        self.memory: dict[int, dict] = {}  # what only the process holds
        self.next_id = 1

    def restart(self) -> None:
        self.memory = {}

    def _all(self) -> dict[int, dict]:
        return {**self.rows, **self.memory}

    def handle(self, request: httpx.Request) -> httpx.Response:
        path, method = request.url.path, request.method
        body = json.loads(request.content) if request.content else None
        if path == "/api/tasks" and method == "GET":
            return httpx.Response(200, json=list(self._all().values()))
        if path == "/api/tasks" and method == "POST":
            row = {"id": self.next_id, "status": "todo", **body}
            self.next_id += 1
            if "no-commit" not in self.defects:
                (self.memory if "in-memory" in self.defects else self.rows)[row["id"]] = row
            return httpx.Response(201, json=row)
        task_id = int(path.rsplit("/", 1)[1])
        row = self._all().get(task_id)
        if method == "GET" and "detail-raises" in self.defects:
            return httpx.Response(500, text="Internal Server Error")
        if row is None:
            return httpx.Response(404, json={"detail": "Task not found"})
        if method == "GET":
            return httpx.Response(200, json=row)
        if method == "PATCH":
            if "update-lost" not in self.defects:
                row.update(body)
            return httpx.Response(200, json={**row, **body})
        if method == "DELETE":
            if "delete-nothing" not in self.defects:
                self.rows.pop(task_id, None)
                self.memory.pop(task_id, None)
            return httpx.Response(204)
        return httpx.Response(405)


def trips(store: Store) -> list[tuple[str, str, str]]:
    plan = Plan.model_validate(PLAN)
    transport = httpx.MockTransport(store.handle)
    original = httpx.Client

    def client(**kwargs):
        return original(transport=transport, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(roundtrip.httpx, "Client", client)
        found = roundtrip.run("http://app", plan, schema(), store.restart)
    return [(f.code, f.method, f.route) for f in found]


def test_the_resources_of_a_plan_are_those_it_creates_and_the_app_serves():
    (tasks,) = roundtrip.resources(Plan.model_validate(PLAN), schema())
    assert tasks.collection == "/api/tasks"
    assert tasks.list is not None and tasks.list.method == "GET"
    assert tasks.detail is not None and tasks.detail.path == "/api/tasks/{task_id}"
    assert tasks.update is not None and tasks.update.method == "PATCH"
    assert tasks.delete is not None
    # POST /api/comments is planned but not served: the static contract reports it, not this.


def test_a_working_resource_passes_every_step():
    store = Store()
    assert trips(store) == []
    assert store.rows == {}  # the record made was deleted again


@pytest.mark.parametrize(
    ("defect", "expected"),
    [
        ("no-commit", [(codes.NOT_STORED, "POST", "/api/tasks")]),
        ("in-memory", [(codes.NOT_STORED, "POST", "/api/tasks")]),
        ("detail-raises", [(codes.ROUNDTRIP, "GET", "/api/tasks/{task_id}")]),
        ("update-lost", [(codes.NOT_STORED, "PATCH", "/api/tasks/{task_id}")]),
        ("delete-nothing", [(codes.NOT_DELETED, "DELETE", "/api/tasks/{task_id}")]),
    ],
)
def test_each_defect_is_one_finding_on_its_endpoint(defect, expected):
    assert trips(Store(defect)) == expected


def test_the_message_holds_the_request_and_the_answer():
    store = Store("no-commit")
    plan = Plan.model_validate(PLAN)
    with httpx.Client(transport=httpx.MockTransport(store.handle), base_url="http://app") as c:
        runner = roundtrip.RoundTrips(c, schema())
        (resource,) = roundtrip.resources(plan, schema())
        assert runner.create(resource) is None
    (finding,) = runner.found
    message = finding.message()
    assert 'POST /api/tasks {"title": "Sample title"} answered 201' in message
    assert "GET /api/tasks answered 200: []" in message
