"""The backend's OpenAPI schema as the behaviour checks read it (pure): its operations, their
request bodies as standalone schemas, a valid body built from one, and the bounds that keep
generated requests to what a real client sends.

No noise: an id beyond the database's integer range (SQLite's, 64 bits) or a string of a
megabyte where the model sets no limit is not a request any user makes; a failure on it would
be no bug of the app. Request schemas are bounded before any input is generated from them.
Response schemas are left as the app declares them: they are what the answers are held to.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
MAX_STRING = 1000  # characters, where the model sets no limit
MAX_ITEMS = 20
MAX_DEPTH = 8  # of inlined references (a model that contains itself)
METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True)
class Operation:
    method: str  # upper case
    path: str  # /api/tasks/{task_id}
    spec: dict[str, Any]

    @property
    def path_parameters(self) -> list[str]:
        return [
            p["name"]
            for p in self.spec.get("parameters", [])
            if isinstance(p, dict) and p.get("in") == "path"
        ]


def operations(schema: dict[str, Any]) -> list[Operation]:
    found = []
    for path, item in (schema.get("paths") or {}).items():
        if not isinstance(item, dict):
            continue
        for method in METHODS:
            spec = item.get(method)
            if isinstance(spec, dict):
                found.append(Operation(method.upper(), path, spec))
    return found


def _resolve(schema: dict[str, Any], node: Any) -> Any:
    """`node` with a top-level `$ref` followed (local references only)."""
    seen = 0
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and seen < MAX_DEPTH:
        reference = node["$ref"]
        if not reference.startswith("#/"):
            return {}
        target: Any = schema
        for part in reference[2:].split("/"):
            target = (
                target.get(part.replace("~1", "/").replace("~0", "~"), {})
                if isinstance(target, dict)
                else {}
            )
        extra = {k: v for k, v in node.items() if k != "$ref"}
        node = {**target, **extra} if isinstance(target, dict) else target
        seen += 1
    return node


def inlined(schema: dict[str, Any], node: Any, depth: int = 0) -> Any:
    """`node` with every local reference replaced by a copy of its target (a standalone schema
    that can be changed without changing the components it came from)."""
    node = _resolve(schema, node)
    if depth > MAX_DEPTH:
        return {}
    if isinstance(node, dict):
        return {key: inlined(schema, value, depth + 1) for key, value in node.items()}
    if isinstance(node, list):
        return [inlined(schema, item, depth + 1) for item in node]
    return copy.deepcopy(node)


def request_body_schema(schema: dict[str, Any], operation: Operation) -> dict[str, Any] | None:
    """The JSON request body's schema, inlined, or None."""
    body = _resolve(schema, operation.spec.get("requestBody"))
    if not isinstance(body, dict):
        return None
    media = (body.get("content") or {}).get("application/json")
    if not isinstance(media, dict) or "schema" not in media:
        return None
    found = inlined(schema, media["schema"])
    return found if isinstance(found, dict) else None


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


def bound(node: dict[str, Any]) -> None:
    """Bound, in place, every integer to 64 bits, every string and array without a limit to what
    a person types or picks (a schema's own limits are kept)."""
    for part in _walk(node):
        kind = part.get("type")
        kinds = kind if isinstance(kind, list) else [kind]
        if "integer" in kinds or "number" in kinds:
            part["minimum"] = max(part.get("minimum", INT64_MIN), INT64_MIN)
            part["maximum"] = min(part.get("maximum", INT64_MAX), INT64_MAX)
        if "string" in kinds and "maxLength" not in part and "format" not in part:
            part["maxLength"] = max(MAX_STRING, part.get("minLength", 0))
        if "object" in kinds and "properties" in part and "additionalProperties" not in part:
            part["additionalProperties"] = False  # what no form sends, and the app ignores
        if "array" in kinds and "maxItems" not in part:
            part["maxItems"] = max(MAX_ITEMS, part.get("minItems", 0))


def bounded(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of the schema whose requests (parameters and bodies) are bounded: each operation's
    parameters and JSON body inlined and bounded; responses and components as declared."""
    result = copy.deepcopy(schema)
    for item in (result.get("paths") or {}).values():
        if not isinstance(item, dict):
            continue
        shared = item.get("parameters")
        if isinstance(shared, list):
            item["parameters"] = [_bounded_parameter(schema, p) for p in shared]
        for method in METHODS:
            spec = item.get(method)
            if not isinstance(spec, dict):
                continue
            if isinstance(spec.get("parameters"), list):
                spec["parameters"] = [_bounded_parameter(schema, p) for p in spec["parameters"]]
            body = spec.get("requestBody")
            if body is not None:
                standalone = inlined(schema, body)
                bound(standalone)
                spec["requestBody"] = standalone
    return result


def _bounded_parameter(schema: dict[str, Any], parameter: Any) -> Any:
    standalone = inlined(schema, parameter)
    if isinstance(standalone, dict):
        bound(standalone)
    return standalone


# --- a valid body ------------------------------------------------------------------------------

_FORMATS = {
    "date": "2030-01-15",
    "date-time": "2030-01-15T10:00:00Z",
    "time": "10:00:00",
    "email": "sam@example.com",
    "uri": "https://example.com/",
    "url": "https://example.com/",
    "uuid": "3f2504e0-4f89-11d3-9a0c-0305e82c3301",
}


def _string(node: dict[str, Any], name: str, variant: int) -> str:
    if node.get("format") in _FORMATS:
        return _FORMATS[node["format"]]
    pattern = node.get("pattern")
    low, high = node.get("minLength", 0), node.get("maxLength", 60)
    words = f"{'Updated' if variant else 'Sample'} {name.replace('_', ' ') or 'text'}"
    candidates = [words, "#2563eb", "sample", "a1", "1", "x"]
    for text in candidates:
        if len(text) < low:
            text = text + "x" * (low - len(text))
        text = text[:high] if high >= 1 else text
        if pattern is None or re.search(pattern, text):
            return text
    return words[: max(high, 1)]


def example(node: Any, name: str = "", variant: int = 0) -> Any:
    """A value that fits an inlined schema (the required properties of an object only; the
    first non-null choice of a union). `variant` 1: a different value where one can be told
    apart (for an update)."""
    if not isinstance(node, dict):
        return None
    if "const" in node:
        return node["const"]
    if node.get("enum"):
        values = node["enum"]
        return values[min(variant, len(values) - 1)]
    if "default" in node and variant == 0 and node["default"] is not None:
        return node["default"]
    for union in ("anyOf", "oneOf"):
        choices = [c for c in node.get(union, []) if isinstance(c, dict)]
        if choices:
            usable = [c for c in choices if c.get("type") != "null"] or choices
            return example(usable[0], name, variant)
    if node.get("allOf"):
        merged: dict[str, Any] = {}
        for part in node["allOf"]:
            if isinstance(part, dict):
                merged = {**merged, **part}
        return example(merged, name, variant)
    kind = node.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind == "string":
        return _string(node, name, variant)
    if kind in ("integer", "number"):
        low = node.get(
            "minimum", node.get("exclusiveMinimum", 0) + (1 if kind == "integer" else 0.5)
        )
        high = node.get("maximum", low + 100)
        value = min(max(low, 1 + variant), high)
        return int(value) if kind == "integer" else float(value)
    if kind == "boolean":
        return variant == 0
    if kind == "array":
        count = node.get("minItems", 0)
        return [example(node.get("items"), name, variant) for _ in range(count)]
    if kind == "object" or "properties" in node:
        properties = node.get("properties") or {}
        required = node.get("required") or []
        return {key: example(properties.get(key), key, variant) for key in required}
    return None


def changed_body(node: dict[str, Any], created: dict[str, Any]) -> dict[str, Any] | None:
    """An update's body: for a partial update (no required property) one text property set to a
    new value; for a full one every required property, one of them changed. None: nothing of the
    model can be told apart."""
    properties = node.get("properties") or {}
    required = list(node.get("required") or [])
    for key, child in properties.items():
        if key in ("id",) or not _is_plain_text(child):
            continue
        body = {k: created.get(k, example(properties.get(k), k)) for k in required}
        body[key] = example(child, key, variant=1)
        if body[key] != created.get(key):
            return body
    return None


def _is_plain_text(node: Any) -> bool:
    if not isinstance(node, dict):
        return False
    for union in ("anyOf", "oneOf"):
        choices = [
            c for c in node.get(union, []) if isinstance(c, dict) and c.get("type") != "null"
        ]
        if choices:
            return len(choices) == 1 and _is_plain_text(choices[0])
    return node.get("type") == "string" and not node.get("enum") and "format" not in node
