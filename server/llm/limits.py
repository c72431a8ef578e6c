"""The model's real context window and output limit, read from the provider's models endpoint.

Groq answers `GET /openai/v1/models/{id}` with `context_window` and `max_completion_tokens`
(gpt-oss-120b: 131,072 and 65,536). OpenAI-compatible servers answer `GET /v1/models` with less:
vLLM gives `max_model_len`, others nothing. What the endpoint does not say stays at StepForge's
defaults, with a note; a value the user set is never replaced.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from server.config import Settings
from server.llm.provider import ModelLimits

log = logging.getLogger(__name__)

GROQ_API = "https://api.groq.com"
TIMEOUT = 10.0


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def limits_from_entry(entry: dict[str, Any]) -> tuple[int | None, int | None]:
    """(context window, max output) from one model entry, whatever the server calls them."""
    meta = entry.get("meta") if isinstance(entry.get("meta"), dict) else {}
    window = (
        _int(entry.get("context_window"))
        or _int(entry.get("max_model_len"))
        or _int(entry.get("context_length"))
        or _int(meta.get("n_ctx") if meta else None)
    )
    output = _int(entry.get("max_completion_tokens")) or _int(entry.get("max_output_tokens"))
    return window, output


async def read_limits(settings: Settings) -> ModelLimits:
    """Ask the provider; never raises (an unreachable or silent endpoint keeps the defaults)."""
    key = settings.api_key_value() or "not-needed"
    headers = {"Authorization": f"Bearer {key}"}
    if settings.provider == "groq":
        url = f"{settings.base_url or GROQ_API}/openai/v1/models/{settings.model}"
    else:
        url = f"{settings.base_url}/models"
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT) as client:
            response = await client.get(url, headers=headers)
        response.raise_for_status()
        data = response.json()
    except (httpx.HTTPError, ValueError) as error:
        return ModelLimits(None, None, f"the models endpoint did not answer ({error})")
    entries = data.get("data") if isinstance(data, dict) and "data" in data else [data]
    entry = next(
        (e for e in entries or [] if isinstance(e, dict) and e.get("id") == settings.model),
        None,
    )
    if entry is None:
        return ModelLimits(None, None, f"the models endpoint does not list {settings.model}")
    window, output = limits_from_entry(entry)
    if window is None and output is None:
        return ModelLimits(None, None, "the models endpoint states no limits")
    return ModelLimits(window, output, "read from the provider's models endpoint")


def apply_limits(settings: Settings, limits: ModelLimits) -> list[str]:
    """Use the provider's limits where the user set none; returns notes for the user."""
    notes = []
    for field, value in (
        ("context_window", limits.context_window),
        ("max_output_tokens", limits.max_output_tokens),
    ):
        if settings.explicitly_set(field):
            continue
        if value is None:
            notes.append(
                f"{settings.model}: {field} stays at {getattr(settings, field)} ({limits.note})"
            )
            continue
        if field == "max_output_tokens" and settings.context_window:
            value = min(value, settings.context_window)
        settings.__dict__[field] = value  # a default from the provider, not a choice of the user
    return notes
