"""The JSON object inside an LLM's answer: bare, in a code fence, or surrounded by prose."""

from __future__ import annotations

import json
import re
from typing import Any

_FENCED = re.compile(r"```(?:json|JSON)?[ \t]*\n(.*?)\n[ \t]*```", re.DOTALL)


class NoJsonObjectError(ValueError):
    pass


def extract_json_object(text: str) -> dict[str, Any]:
    """The first JSON object in `text`. Raises NoJsonObjectError saying what was found instead."""
    stripped = text.strip()
    candidates = [stripped, *(m.group(1) for m in _FENCED.finditer(text))]
    for candidate in candidates:
        try:
            value = json.loads(candidate)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return value
    decoder = json.JSONDecoder()
    last_error: json.JSONDecodeError | None = None
    for start in (i for i, ch in enumerate(text) if ch == "{"):
        try:
            value, _ = decoder.raw_decode(text, start)
        except json.JSONDecodeError as error:
            last_error = last_error or error
            continue
        if isinstance(value, dict):
            return value
    if last_error is not None:
        raise NoJsonObjectError(
            f"the answer's JSON is malformed ({last_error.msg} at character {last_error.pos})"
        )
    raise NoJsonObjectError("the answer holds no JSON object")
