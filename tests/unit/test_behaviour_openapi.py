"""The behaviour tier's reading of an OpenAPI schema: bounds on what is generated (no noise),
valid bodies built from request schemas."""

from __future__ import annotations

import jsonschema_rs

from server.checks.behaviour.openapi import (
    INT64_MAX,
    INT64_MIN,
    MAX_STRING,
    bounded,
    changed_body,
    example,
    operations,
    request_body_schema,
)
from tests.unit.behaviour_schema import schema


def _operation(method: str, path: str):
    return next(o for o in operations(schema()) if (o.method, o.path) == (method, path))


def test_operations_are_read_with_their_path_parameters():
    found = {(o.method, o.path): o.path_parameters for o in operations(schema())}
    assert found[("PATCH", "/api/tasks/{task_id}")] == ["task_id"]
    assert found[("POST", "/api/tasks")] == []
    assert len(found) == 6


def test_ids_and_bodies_are_bounded_to_what_a_client_sends():
    result = bounded(schema())
    item = result["paths"]["/api/tasks/{task_id}"]
    (identifier,) = item["get"]["parameters"]
    assert identifier["schema"] == {"type": "integer", "minimum": INT64_MIN, "maximum": INT64_MAX}
    body = item["patch"]["requestBody"]["content"]["application/json"]["schema"]
    assert "$ref" not in str(body)  # a standalone copy ...
    title = body["properties"]["title"]["anyOf"][0]
    assert title["maxLength"] == 200  # ... the model's own limit kept
    created = result["paths"]["/api/tasks"]["post"]["requestBody"]["content"]["application/json"]
    properties = created["schema"]["properties"]
    assert properties["notes"]["maxLength"] == MAX_STRING  # no limit set: no megabyte strings
    assert properties["project_id"]["anyOf"][0]["maximum"] == INT64_MAX
    assert created["schema"]["additionalProperties"] is False
    assert "maxLength" not in properties["due"]["anyOf"][0]  # a date has its format


def test_responses_and_components_are_left_as_the_app_declares_them():
    original = schema()
    result = bounded(original)
    assert result["components"] == original["components"]
    for path, item in original["paths"].items():
        for method, spec in item.items():
            assert result["paths"][path][method]["responses"] == spec["responses"]


def test_a_body_built_from_a_request_schema_is_valid_for_it():
    for method, path in (("POST", "/api/tasks"), ("PATCH", "/api/tasks/{task_id}")):
        body_schema = request_body_schema(schema(), _operation(method, path))
        assert body_schema is not None
        body = example(body_schema)
        assert jsonschema_rs.is_valid(body_schema, body), (path, body)
    created = example(request_body_schema(schema(), _operation("POST", "/api/tasks")))
    assert created == {"title": "Sample title"}  # the required properties only


def test_values_fit_formats_enums_limits_and_patterns():
    assert example({"type": "string", "format": "date"}) == "2030-01-15"
    assert example({"type": "string", "enum": ["a", "b"]}, variant=1) == "b"
    assert len(example({"type": "string", "minLength": 30}, "x")) >= 30
    assert example({"type": "string", "maxLength": 3}, "title") == "Sam"
    colour = example({"type": "string", "pattern": "^#[0-9a-f]{6}$"}, "color")
    assert colour == "#2563eb"
    assert example({"type": "integer", "minimum": 5, "maximum": 9}) == 5
    assert example({"type": "array", "items": {"type": "integer"}, "minItems": 1}) == [1]


def test_an_update_changes_one_text_field():
    body_schema = request_body_schema(schema(), _operation("PATCH", "/api/tasks/{task_id}"))
    assert body_schema is not None
    created = {"title": "Sample title"}
    change = changed_body(body_schema, created)
    assert change == {"title": "Updated title"}
    assert jsonschema_rs.is_valid(body_schema, change)
    assert changed_body({"type": "object", "properties": {"done": {"type": "boolean"}}}, {}) is None
