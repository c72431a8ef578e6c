"""Ask the LLM for a plan until it is valid (bounded re-asks), then hand back a `Plan`."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

import anyio

from protocol.models import Usage
from protocol.plan import Plan
from server import prompts
from server.config import Settings
from server.llm import ChatMessage, LLMBadOutputError, LLMClient
from server.llm.continuation import complete_whole
from server.plan.validation import PlanValidationError, validate_plan
from server.planning.parsing import NoJsonObjectError, extract_json_object
from server.progress import Progress
from server.workspace.meta import MetaFiles

log = logging.getLogger(__name__)

PLAN_OUTPUT_TOKENS = 8192


def plan_response_format() -> dict[str, Any]:
    """The `json_schema` response format of a plan: the pydantic model's own JSON Schema (not
    strict: a plan may carry more than the model names, and validation stays the judge)."""
    return {"name": "stepforge_plan", "schema": Plan.model_json_schema(), "strict": False}


@dataclass
class PlanAnswer:
    plan: Plan
    usage: Usage
    attempts: int


def _reask(problems: list[str]) -> str:
    listed = "\n".join(f"- {p}" for p in problems)
    return (
        f"Your plan has these problems:\n{listed}\n"
        "Answer again with the complete corrected plan as one JSON object."
    )


class Planner:
    def __init__(self, llm: LLMClient, settings: Settings) -> None:
        self.llm = llm
        self.settings = settings

    async def make_plan(
        self,
        request: str,
        progress: Progress,
        *,
        meta: MetaFiles | None,
        template_paths: Collection[str],
        exists: Callable[[str], bool],
    ) -> PlanAnswer:
        template = await anyio.to_thread.run_sync(prompts.load, "plan", meta)
        user_prompt = prompts.render(template, {"request": request})
        messages: list[ChatMessage] = [
            {"role": "system", "content": prompts.PLANNER_SYSTEM},
            {"role": "user", "content": user_prompt},
        ]
        usage = Usage()
        attempts_allowed = self.settings.plan_reasks + 1
        problems: list[str] = []
        for attempt in range(1, attempts_allowed + 1):
            progress.report(
                f"Asking {self.settings.model} for a plan"
                + (f" again ({attempt}/{attempts_allowed})" if attempt > 1 else ""),
                5 + 80 * (attempt - 1) // attempts_allowed,
            )
            received = _ReceivedCounter(progress, attempt, attempts_allowed)
            try:
                completion = await complete_whole(
                    self.llm,
                    messages,
                    max_tokens=min(PLAN_OUTPUT_TOKENS, self.settings.max_output_tokens),
                    continuations=self.settings.continuations,
                    json_schema=plan_response_format(),
                    purpose="plan",
                    on_text=received,
                )
            except LLMBadOutputError as error:
                problems = [error.message]
                usage = usage + Usage(calls=1)
                messages.append({"role": "user", "content": _reask(problems)})
                continue
            usage = usage + completion.usage
            progress.report("Validating the plan", 5 + 80 * attempt // attempts_allowed)
            try:
                # A plan of thousands of files takes a while to check: not on the event loop.
                plan = await anyio.to_thread.run_sync(
                    validate_plan,
                    extract_json_object(completion.text),
                    template_paths,
                    exists,
                    self.settings.max_planned_files,
                )
            except NoJsonObjectError as error:
                problems = [f"{error}; answer with one JSON object."]
            except PlanValidationError as error:
                problems = error.problems
            else:
                return PlanAnswer(plan=plan, usage=usage, attempts=attempt)
            log.info("plan attempt %d rejected: %s", attempt, "; ".join(problems))
            messages += [
                {"role": "assistant", "content": completion.text},
                {"role": "user", "content": _reask(problems)},
            ]
        refusal = PlanValidationError(problems)
        refusal.message = (
            f"The LLM did not produce a valid plan in {attempts_allowed} attempts. "
            f"Last problems:\n" + "\n".join(f"- {p}" for p in problems) + "\n"
            "Rephrase the request, or try another model (STEPFORGE_MODEL)."
        )
        refusal.args = (refusal.message,)
        raise refusal


class _ReceivedCounter:
    """Reports how much of the plan has arrived, at most a few times a second."""

    def __init__(self, progress: Progress, attempt: int, attempts: int) -> None:
        self.progress = progress
        self.percentage = 5 + 80 * (attempt - 1) // attempts + 40 // attempts
        self._last = 0.0

    def __call__(self, text: str) -> None:
        now = time.monotonic()
        if now - self._last >= 0.25:
            self._last = now
            self.progress.report(f"Receiving the plan ({len(text)} characters)", self.percentage)


def plan_document(plan: Plan) -> str:
    """The plan as stored in `.stepforge/plan.json`: pretty, stable, user-editable."""
    return json.dumps(plan.to_document(), indent=2, ensure_ascii=False) + "\n"
