"""Asking the LLM for a JSON document until it is valid: structured output where the provider
takes it, the problems sent back on a re-ask, a clear refusal when the re-asks run out. Plans and
change deltas are asked this way."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import anyio

from protocol.models import Usage
from server.config import Settings
from server.llm import ChatMessage, LLMBadOutputError, LLMClient
from server.llm.client import Purpose
from server.llm.continuation import complete_whole
from server.plan.validation import PlanValidationError
from server.planning.parsing import NoJsonObjectError, extract_json_object
from server.progress import Progress

log = logging.getLogger(__name__)

T = TypeVar("T")
OUTPUT_TOKENS = 8192


@dataclass
class Answer(Generic[T]):
    value: T
    usage: Usage
    attempts: int


@dataclass(frozen=True)
class JsonAsk(Generic[T]):
    """What is asked: `what` names it in messages ("plan", "change"); `validate` turns parsed JSON
    into the value or raises PlanValidationError (it runs in a worker thread)."""

    what: str
    messages: list[ChatMessage]
    validate: Callable[[Any], T]
    schema: dict[str, Any]
    purpose: Purpose


def _reask(what: str, problems: list[str]) -> str:
    listed = "\n".join(f"- {p}" for p in problems)
    return (
        f"Your {what} has these problems:\n{listed}\n"
        f"Answer again with the complete corrected {what} as one JSON object."
    )


async def ask_until_valid(
    llm: LLMClient, settings: Settings, ask: JsonAsk[T], progress: Progress
) -> Answer[T]:
    messages = list(ask.messages)
    usage = Usage()
    allowed = settings.plan_reasks + 1
    problems: list[str] = []
    for attempt in range(1, allowed + 1):
        progress.report(
            f"Asking {settings.model} for a {ask.what}"
            + (f" again ({attempt}/{allowed})" if attempt > 1 else ""),
            5 + 80 * (attempt - 1) // allowed,
        )
        received = _ReceivedCounter(
            progress, ask.what, 5 + 80 * (attempt - 1) // allowed + 40 // allowed
        )
        try:
            completion = await complete_whole(
                llm,
                messages,
                max_tokens=min(OUTPUT_TOKENS, settings.max_output_tokens),
                continuations=settings.continuations,
                json_schema=ask.schema,
                purpose=ask.purpose,
                on_text=received,
            )
        except LLMBadOutputError as error:
            problems = [error.message]
            usage = usage + Usage(calls=1)
            messages.append({"role": "user", "content": _reask(ask.what, problems)})
            continue
        usage = usage + completion.usage
        progress.report(f"Validating the {ask.what}", 5 + 80 * attempt // allowed)
        try:
            parsed = extract_json_object(completion.text)
            # A plan of thousands of files takes a while to check: not on the event loop.
            value = await anyio.to_thread.run_sync(ask.validate, parsed)
        except NoJsonObjectError as error:
            problems = [f"{error}; answer with one JSON object."]
        except PlanValidationError as error:
            problems = error.problems
        else:
            return Answer(value, usage, attempt)
        log.info("%s attempt %d rejected: %s", ask.what, attempt, "; ".join(problems))
        messages += [
            {"role": "assistant", "content": completion.text},
            {"role": "user", "content": _reask(ask.what, problems)},
        ]
    refusal = PlanValidationError(problems)
    refusal.message = (
        f"The LLM did not produce a valid {ask.what} in {allowed} attempts. "
        f"Last problems:\n" + "\n".join(f"- {p}" for p in problems) + "\n"
        "Rephrase the request, or try another model (STEPFORGE_MODEL)."
    )
    refusal.args = (refusal.message,)
    raise refusal


class _ReceivedCounter:
    """Reports how much of the answer has arrived, at most a few times a second."""

    def __init__(self, progress: Progress, what: str, percentage: int) -> None:
        self.progress = progress
        self.what = what
        self.percentage = percentage
        self._last = 0.0

    def __call__(self, text: str) -> None:
        now = time.monotonic()
        if now - self._last >= 0.25:
            self._last = now
            self.progress.report(
                f"Receiving the {self.what} ({len(text)} characters)", self.percentage
            )
