"""A pygls converter that keeps the params and results of custom methods as plain JSON.

pygls turns unknown methods' params and results into nested namedtuples (renaming keys that are
not identifiers); StepForge validates them with pydantic instead, which wants the JSON as sent.
"""

from __future__ import annotations

from typing import Any

from cattrs import Converter
from pygls.protocol import (
    JsonRPCNotification,
    JsonRPCRequestMessage,
    JsonRPCResponseMessage,
    default_converter,
)


def _as_sent(obj: dict[str, Any], cls: type) -> Any:
    return cls(**obj)


def json_converter() -> Converter:
    converter = default_converter()
    for message_type in (JsonRPCRequestMessage, JsonRPCResponseMessage, JsonRPCNotification):
        converter.register_structure_hook(message_type, _as_sent)
    return converter
