"""Reading an answer: the text without inline reasoning, the usage as the provider reported it,
and the prompt as a provider's cache sees it."""

from __future__ import annotations

from typing import Any

from protocol.models import Usage
from server.llm.messages import ChatMessage


def visible_text(raw: str) -> str:
    """The answer without a leading <think>...</think> block (some local models reason inline)."""
    stripped = raw.lstrip()
    if not stripped.startswith("<think>"):
        return raw
    end = stripped.find("</think>")
    return "" if end < 0 else stripped[end + len("</think>") :].lstrip("\n")


def usage_of(reported: Any) -> Usage:
    prompt_details = getattr(reported, "prompt_tokens_details", None)
    completion_details = getattr(reported, "completion_tokens_details", None)
    return Usage(
        prompt_tokens=reported.prompt_tokens or 0,
        completion_tokens=reported.completion_tokens or 0,
        calls=1,
        cached_tokens=getattr(prompt_details, "cached_tokens", 0) or 0,
        reasoning_tokens=getattr(completion_details, "reasoning_tokens", 0) or 0,
    )


def prompt_text(messages: list[ChatMessage]) -> str:
    """The prompt as the provider's cache sees it: the messages in order."""
    return "".join(f"<{m['role']}>\n{m['content']}\n" for m in messages)
