"""Answers longer than one call: on `finish_reason == "length"` ask for the rest and stitch it on.

The model is shown its own partial answer and asked to continue. Models sometimes re-open the code
fence or repeat the end of what they said; `stitch` removes both. An answer still cut off after
the allowed continuations is an error: a cut file must never count as done.
"""

from __future__ import annotations

import re
from typing import Any

from protocol.models import Usage
from server.llm.client import ChatMessage, Completion, LLMClient, Purpose, TextCallback
from server.llm.errors import LLMError
from server.prompts import CONTINUE

# A repeat shorter than this may be legitimate code (two closing braces), so it is kept.
MIN_OVERLAP = 40
_FENCE_OPEN = re.compile(r"\A[ \t]*(```|~~~)[\w+-]*[ \t]*\n")


class TruncatedAnswerError(LLMError):
    """Still cut off after every continuation; `usage` counts all of its parts."""

    def __init__(self, message: str, usage: Usage) -> None:
        super().__init__(message)
        self.usage = usage


def _inside_fence(text: str) -> bool:
    return sum(1 for line in text.splitlines() if line.lstrip().startswith(("```", "~~~"))) % 2 == 1


def stitch(previous: str, continuation: str) -> str:
    if _inside_fence(previous):
        continuation = _FENCE_OPEN.sub("", continuation, count=1)
    longest = min(len(previous), len(continuation), 2000)
    for size in range(longest, MIN_OVERLAP - 1, -1):
        if previous.endswith(continuation[:size]):
            return previous + continuation[size:]
    return previous + continuation


async def complete_whole(
    client: LLMClient,
    messages: list[ChatMessage],
    *,
    max_tokens: int,
    continuations: int,
    json_mode: bool = False,
    json_schema: dict[str, Any] | None = None,
    purpose: Purpose = "file",
    on_text: TextCallback | None = None,
) -> Completion:
    """One answer, continued up to `continuations` times while it is cut off."""
    text = ""
    usage = Usage()
    for _ in range(continuations + 1):
        prefix = text
        conversation = messages
        if prefix:
            conversation = [
                *messages,
                {"role": "assistant", "content": prefix},
                {"role": "user", "content": CONTINUE},
            ]

        def forward(partial: str, prefix: str = prefix) -> object:
            return on_text(stitch(prefix, partial) if prefix else partial) if on_text else None

        completion = await client.complete(
            conversation,
            max_tokens=max_tokens,
            # JSON modes would reject a fragment; the stitched whole is validated by the caller.
            json_mode=json_mode and not prefix,
            json_schema=json_schema if not prefix else None,
            purpose=purpose,
            on_text=forward if on_text else None,  # type: ignore[arg-type]
        )
        usage = usage + completion.usage
        text = stitch(prefix, completion.text) if prefix else completion.text
        if not completion.truncated:
            return Completion(text=text, finish_reason=completion.finish_reason, usage=usage)
    raise TruncatedAnswerError(
        f"The answer was still cut off after {continuations} continuations "
        f"({len(text)} characters): raise STEPFORGE_MAX_OUTPUT_TOKENS or split the file in the plan.",
        usage,
    )
