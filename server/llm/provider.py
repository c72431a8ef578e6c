"""What StepForge knows and learns about one provider endpoint and model, for the daemon's life.

Providers differ in ways their documentation rarely states: which `response_format` they accept
(Groq's gpt-oss takes a JSON schema, llama.cpp's server answers one with HTTP 500), whether they
stream usage, whether they serve two streams at once (llama.cpp breaks off the first when a second
arrives), and the model's context window and output limit. The defaults below are optimistic;
every refusal is remembered here so the next call goes straight to what works.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Literal

log = logging.getLogger(__name__)

ResponseFormat = Literal["json_schema", "json_object", "text"]
FORMATS: tuple[ResponseFormat, ...] = ("json_schema", "json_object", "text")


@dataclass(frozen=True)
class ModelLimits:
    context_window: int | None
    max_output_tokens: int | None
    note: str  # where they came from, or why the defaults are used


@dataclass
class ProviderTraits:
    response_format: ResponseFormat = "json_schema"
    reasoning_effort: bool = True
    include_usage: bool = True
    one_stream_at_a_time: bool = False
    limits: ModelLimits | None = None
    notes: list[str] = field(default_factory=list)

    def downgrade_format(self, refused: ResponseFormat, why: str) -> ResponseFormat | None:
        """The next format to try after `refused` was not accepted (None: nothing left)."""
        index = FORMATS.index(refused)
        if index + 1 >= len(FORMATS):
            return None
        following = FORMATS[index + 1]
        if FORMATS.index(self.response_format) <= index:
            self.response_format = following
            self.notes.append(f"response_format {refused} refused ({why}); using {following}")
            log.info(
                "the provider refused response_format %s (%s); using %s", refused, why, following
            )
        return following

    def serve_one_stream_at_a_time(self) -> None:
        if not self.one_stream_at_a_time:
            self.one_stream_at_a_time = True
            self.notes.append("streams were broken off when another started: one at a time")
            log.warning(
                "the provider broke off a stream when another one started: it serves one stream "
                "at a time, so StepForge sends one request at a time from now on"
            )


_KNOWN: dict[tuple[str, str, str], ProviderTraits] = {}


def traits_for(provider: str, base_url: str | None, model: str) -> ProviderTraits:
    """The traits of this endpoint and model, shared by every client of this daemon."""
    key = (provider, base_url or "", model)
    if key not in _KNOWN:
        _KNOWN[key] = ProviderTraits()
    return _KNOWN[key]


def takes_reasoning_effort(model: str) -> bool:
    name = model.lower()
    return "gpt-oss" in name or "qwen3" in name


def reasoning_effort_value(model: str, effort: str) -> str:
    """gpt-oss takes low/medium/high; Groq's qwen3 takes none/default."""
    if "qwen3" in model.lower():
        return "none" if effort == "low" else "default"
    return effort
