"""Ask the LLM for a plan until it is valid (bounded re-asks), then hand back a `Plan`."""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from functools import partial
from typing import Any

import anyio

from protocol.plan import Plan
from server import prompts
from server.config import Settings
from server.llm import ChatMessage, LLMClient
from server.plan.validation import validate_plan
from server.planning.asking import Answer, JsonAsk, ask_until_valid
from server.progress import Progress
from server.workspace.meta import MetaFiles

PlanAnswer = Answer[Plan]


def plan_response_format() -> dict[str, Any]:
    """The `json_schema` response format of a plan: the pydantic model's own JSON Schema (not
    strict: a plan may carry more than the model names, and validation stays the judge)."""
    return {"name": "stepforge_plan", "schema": Plan.model_json_schema(), "strict": False}


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
        messages: list[ChatMessage] = [
            {"role": "system", "content": prompts.PLANNER_SYSTEM},
            {"role": "user", "content": prompts.render(template, {"request": request})},
        ]
        ask = JsonAsk(
            what="plan",
            messages=messages,
            validate=partial(
                validate_plan,
                template_paths=template_paths,
                exists=exists,
                max_files=self.settings.max_planned_files,
            ),
            schema=plan_response_format(),
            purpose="plan",
        )
        return await ask_until_valid(self.llm, self.settings, ask, progress)


def plan_document(plan: Plan) -> str:
    """The plan as stored in `.stepforge/plan.json`: pretty, stable, user-editable."""
    return json.dumps(plan.to_document(), indent=2, ensure_ascii=False) + "\n"
