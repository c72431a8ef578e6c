"""A FastAPI app's OpenAPI schema as the scripted task manager serves it (trimmed to the tasks),
for the behaviour tier's unit tests."""

from __future__ import annotations

import copy
from typing import Any

_ID = {"name": "task_id", "in": "path", "required": True, "schema": {"type": "integer"}}
_TASK_REF = {"$ref": "#/components/schemas/Task"}


def _body(name: str) -> dict[str, Any]:
    return {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}},
    }


def _answer(schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": "ok", "content": {"application/json": {"schema": schema}}}


_INVALID = _answer({"$ref": "#/components/schemas/HTTPValidationError"})

SCHEMA: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "app", "version": "0.1.0"},
    "paths": {
        "/api/tasks": {
            "get": {"responses": {"200": _answer({"type": "array", "items": _TASK_REF})}},
            "post": {
                "requestBody": _body("TaskCreate"),
                "responses": {"201": _answer(_TASK_REF), "422": _INVALID},
            },
        },
        "/api/tasks/{task_id}": {
            "get": {"parameters": [_ID], "responses": {"200": _answer(_TASK_REF), "422": _INVALID}},
            "patch": {
                "parameters": [_ID],
                "requestBody": _body("TaskUpdate"),
                "responses": {"200": _answer(_TASK_REF), "422": _INVALID},
            },
            "delete": {
                "parameters": [_ID],
                "responses": {"204": {"description": "gone"}, "422": _INVALID},
            },
        },
        "/api/stats": {"get": {"responses": {"200": _answer({"type": "object"})}}},
    },
    "components": {
        "schemas": {
            "TaskStatus": {"type": "string", "enum": ["todo", "doing", "done"]},
            "TaskCreate": {
                "type": "object",
                "required": ["title"],
                "properties": {
                    "title": {"type": "string", "minLength": 1, "maxLength": 200},
                    "notes": {"type": "string"},
                    "project_id": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
                    "status": {"$ref": "#/components/schemas/TaskStatus", "default": "todo"},
                    "due": {"anyOf": [{"type": "string", "format": "date"}, {"type": "null"}]},
                },
            },
            "TaskUpdate": {
                "type": "object",
                "properties": {
                    "title": {
                        "anyOf": [
                            {"type": "string", "minLength": 1, "maxLength": 200},
                            {"type": "null"},
                        ]
                    },
                    "status": {
                        "anyOf": [{"$ref": "#/components/schemas/TaskStatus"}, {"type": "null"}]
                    },
                },
            },
            "Task": {
                "type": "object",
                "required": ["title"],
                "properties": {
                    "id": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
                    "title": {"type": "string"},
                    "notes": {"type": "string"},
                    "status": {"$ref": "#/components/schemas/TaskStatus"},
                },
            },
            "HTTPValidationError": {
                "type": "object",
                "properties": {"detail": {"type": "array", "items": {}}},
            },
        }
    },
}


def schema() -> dict[str, Any]:
    return copy.deepcopy(SCHEMA)


PLAN: dict[str, Any] = {
    "files": {"backend": ["backend/routers/tasks.py"]},
    "api_endpoints": [
        {"method": "GET", "path": "/api/tasks"},
        {"method": "POST", "path": "/api/tasks"},
        {"method": "PATCH", "path": "/api/tasks/{id}"},
        {"method": "DELETE", "path": "/api/tasks/{id}"},
        {"method": "POST", "path": "/api/comments"},  # planned, not served
    ],
    "implementation_order": [{"step": 1, "files": ["backend/routers/tasks.py"]}],
}
