"""The pages-in-use check's pure parts: values that fit a form's inputs (and the backend's schema),
the order of clicks, and where a failed request or an uncaught error is reported."""

from __future__ import annotations

from protocol.plan import Plan
from server.checks.pages_in_use import (
    FailedRequest,
    FormField,
    body_properties,
    button_order,
    choose_value,
    error_problem,
    matching_property,
    request_problem,
    smoke_covers,
)
from server.checks.project import Project
from tests.fake_groq import ScriptedApp
from tests.fake_groq.defective_frontend import (
    CALL_LINE,
    FORM_FILE,
    RIGHT,
    WRONG,
    defective_frontend_responder,
)
from tests.fake_groq.defects import REPAIR_MARK
from tests.fake_groq.server import ChatRequest

SCHEMA = {
    "openapi": "3.1.0",
    "paths": {
        "/api/tasks": {
            "post": {
                "requestBody": {
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/TaskCreate"}}
                    }
                }
            }
        }
    },
    "components": {
        "schemas": {
            "TaskCreate": {
                "type": "object",
                "properties": {
                    "title": {"type": "string", "minLength": 3, "maxLength": 8},
                    "status": {"$ref": "#/components/schemas/TaskStatus"},
                    "due": {"anyOf": [{"type": "string", "format": "date"}, {"type": "null"}]},
                    "priority": {"type": "integer", "minimum": 2, "maximum": 5},
                    "project_id": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
                },
            },
            "TaskStatus": {"type": "string", "enum": ["todo", "doing", "done"]},
        }
    },
}


def test_values_fit_the_inputs_type_and_bounds():
    assert choose_value(FormField("input", "email")).value == "ada@example.com"
    assert choose_value(FormField("input", "number", min="3", max="9")).value == "3"
    assert choose_value(FormField("input", "number", max="0")).value == "0"
    assert choose_value(FormField("input", "number", min="0.5", step="0.1")).value == "1"
    assert choose_value(FormField("input", "date", min="2030-01-01")).value == "2030-01-01"
    text = choose_value(FormField("input", "", label="New task", max_length=6)).value
    assert 1 <= len(text) <= 6
    long = choose_value(FormField("textarea", min_length=40, label="Notes")).value
    assert len(long) >= 40
    assert choose_value(FormField("select", options=("a", "b"))).value == "a"
    assert choose_value(FormField("select")).how == "skip"
    assert choose_value(FormField("input", "checkbox")).how == "skip"
    assert choose_value(FormField("input", "checkbox", required=True)).how == "check"
    for skipped in ("hidden", "file", "submit"):
        assert choose_value(FormField("input", skipped)).how == "skip"
    assert choose_value(FormField("input", "", shown=False)).how == "skip"


def test_a_field_named_like_a_body_property_gets_what_the_backend_takes():
    properties = body_properties(SCHEMA)
    title = FormField("input", "", name="title")
    assert 3 <= len(choose_value(title, matching_property(title, properties)).value) <= 8
    status = FormField("select", name="status", options=("", "x", "doing"))
    assert choose_value(status, matching_property(status, properties)).value == "doing"
    typed_status = FormField("input", "", label="Status")
    assert choose_value(typed_status, matching_property(typed_status, properties)).value == "todo"
    due = FormField("input", "", name="due")
    assert choose_value(due, matching_property(due, properties)).value == "2026-01-15"
    priority = FormField("input", "", label="Priority")
    assert choose_value(priority, matching_property(priority, properties)).value == "2"
    project = FormField("input", "number", name="projectId")  # camelCase matches project_id
    assert matching_property(project, properties) == {"type": "integer"}
    assert matching_property(FormField("input", name="colour"), properties) is None


def test_destructive_buttons_are_clicked_last():
    labels = ["Delete Write tests", "todo → doing", "Remove", "Add", "Clear all"]
    assert [labels[i] for i in button_order(labels)] == [
        "todo → doing",
        "Add",
        "Delete Write tests",
        "Remove",
        "Clear all",
    ]


def defective_project() -> Project:
    app = ScriptedApp.fixture()
    files = {**app.files, FORM_FILE: WRONG}
    return Project(Plan.model_validate(app.plan), files)


def test_a_rejected_request_sits_on_the_frontend_call_that_sent_it_and_names_both_sides():
    failed = FailedRequest(
        "POST", "/api/tasks", '{"name":"Sample new task","project_id":null}', 422, '{"detail":[]}'
    )
    found = request_problem(
        defective_project(), "/tasks", "frontend/src/pages/Tasks.tsx", "submitting its form", failed
    )
    assert (found.path, found.line, found.code, found.source) == (
        FORM_FILE,
        CALL_LINE,
        "page-request-failed",
        "pages",
    )
    assert "POST /api/tasks" in found.message and '"name":"Sample new task"' in found.message
    assert 'answered 422: {"detail":[]}' in found.message
    assert "submitting its form" in found.message


def test_a_server_error_sits_on_the_backend_route_that_serves_it():
    failed = FailedRequest("PATCH", "/api/tasks/3", '{"status":"doing"}', 500, "Internal")
    found = request_problem(defective_project(), "/tasks", "x.tsx", "clicking", failed)
    assert found.path == "backend/routers/tasks.py" and found.line > 1
    unanswered = FailedRequest("DELETE", "/api/tasks/3", None, None, failure="net::ERR_FAILED")
    found = request_problem(defective_project(), "/tasks", "x.tsx", "clicking", unanswered)
    assert found.path == "backend/routers/tasks.py" and "net::ERR_FAILED" in found.message


def test_a_request_no_file_names_falls_back_to_the_page():
    failed = FailedRequest("GET", "/api/unknown", None, 404, "Not Found")
    found = request_problem(
        defective_project(), "/tasks", "frontend/src/pages/Tasks.tsx", "x", failed
    )
    assert (found.path, found.line) == ("frontend/src/pages/Tasks.tsx", 1)


def test_what_the_smoke_test_already_reports_is_not_repeated():
    project = defective_project()
    assert smoke_covers(project, FailedRequest("GET", "/api/stats", None, 500))
    assert not smoke_covers(project, FailedRequest("GET", "/api/stats", None, 404))
    assert not smoke_covers(project, FailedRequest("POST", "/api/tasks", None, 500))


def test_an_uncaught_error_sits_on_the_file_its_stack_names():
    text = (
        "TypeError: Cannot read properties of undefined (reading 'map')\n"
        "    at http://127.0.0.1:5173/node_modules/.vite/deps/react-dom.js?v=1:10:5\n"
        "    at TaskList (http://127.0.0.1:5173/src/components/TaskList.tsx?t=17:12:9)"
    )
    found = error_problem(
        "/tasks", "frontend/src/pages/Tasks.tsx", "clicking the button “Add”", text
    )
    assert (found.path, found.line, found.column, found.code) == (
        "frontend/src/components/TaskList.tsx",
        12,
        9,
        "page-uncaught-error",
    )
    assert "reading 'map'" in found.message
    plain = error_problem("/tasks", "frontend/src/pages/Tasks.tsx", "x", "Error: boom")
    assert (plain.path, plain.line) == ("frontend/src/pages/Tasks.tsx", 1)


def test_the_defective_form_is_fixed_on_the_second_ask():
    answer = defective_frontend_responder().overrides[FORM_FILE]
    assert callable(answer)
    first = ChatRequest("/openai/v1/chat/completions", {"messages": [{"content": "Write it"}]})
    again = ChatRequest("/x", {"messages": [{"content": f"{REPAIR_MARK}: TS2353"}]})
    assert answer(first) == WRONG and answer(again) == RIGHT
    assert "name: title" in WRONG and "name: title" not in RIGHT
