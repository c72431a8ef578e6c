"""The prompt for one file, within a token budget (pure: file texts come in, messages go out).

`{{context}}` holds the full text of the file's direct dependencies, then outlines of the other
files written so far (most relevant first, within a share of the budget), then just the names of
what did not fit. Whatever the project's size, the
estimated prompt never exceeds the budget: the plan is condensed and then cut when it alone would.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from server import prompts
from server.llm import ChatMessage, LLMContextError
from server.llm.tokens import estimate_tokens, truncate_to_tokens
from server.prompts.ui_kit import template_ui_rules
from server.source.outline import outline

# Chat formatting costs a few tokens per message on every provider.
MESSAGE_OVERHEAD = 8
# Outlines of files the file does not depend on are the least likely to matter: they may use at
# most this share of the budget and never more than this many tokens (a 131k window is no reason
# to send every call 16k tokens of unrelated files), the most relevant first; the rest are named.
OUTLINE_SHARE = 0.25
OUTLINE_MAX_TOKENS = 6144
NO_CONTEXT = "(no other files yet)\n"


@dataclass(frozen=True)
class SourceFile:
    path: str
    text: str


@dataclass
class FilePrompt:
    messages: list[ChatMessage]
    tokens: int
    full: list[str] = field(default_factory=list)
    outlined: list[str] = field(default_factory=list)
    named: list[str] = field(default_factory=list)


def compact_plan(plan: dict[str, Any]) -> str:
    return json.dumps(plan, separators=(",", ":"), ensure_ascii=False)


def condensed_plan_document(plan: dict[str, Any]) -> dict[str, Any]:
    """The plan without what a single file rarely needs: features, data model details, purposes
    and dependencies of files."""
    keep = {
        k: v for k, v in plan.items() if k in ("project_name", "files", "routes", "api_endpoints")
    }
    keep["files"] = {
        g: [f if isinstance(f, str) else f.get("path") for f in fs]
        for g, fs in plan.get("files", {}).items()
    }
    return keep


def condensed_plan(plan: dict[str, Any]) -> str:
    return compact_plan(condensed_plan_document(plan))


def _fence(path: str, text: str, kind: str) -> str:
    return f"### {path} ({kind})\n```\n{text.rstrip()}\n```\n"


def build_file_prompt(
    *,
    template: str,
    path: str,
    plan: dict[str, Any],
    request: str,
    budget: int,
    direct: list[SourceFile],
    others: list[SourceFile],
    instructions: str | None = None,
    current: str | None = None,
    ui: str | None = None,
    tables: str = "",
    api_types: str = "",
) -> FilePrompt:
    """`api_types`: the backend's API as TypeScript types, with how to use them (for a frontend
    file that talks to the backend: server.checks.api_types), before the other files."""
    system = prompts.FILE_WRITER_SYSTEM
    if "{{path}}" not in template.replace(" ", ""):
        # An override without the target: name it last, where the shipped template does.
        template = (
            template.rstrip("\n") + "\n\n" + prompts.FILE_REQUEST.format(path="{{path}}") + "\n"
        )
    values = {
        "path": path,
        "request": request,
        "ui": template_ui_rules() if ui is None else ui,
        "plan": compact_plan(plan),
        "context": NO_CONTEXT,  # reserves its own cost; real sections are counted one by one
        "current": (
            f"The current version of `{path}` (keep the user's changes unless the instructions "
            f"say otherwise):\n```\n{current.rstrip()}\n```\n"
            if current is not None
            else ""
        ),
        "instructions": f"Instructions for this version: {instructions}\n" if instructions else "",
        "tables": tables,
    }

    def fixed_cost() -> int:
        return (
            2 * MESSAGE_OVERHEAD
            + estimate_tokens(system)
            + estimate_tokens(prompts.render(template, values))
        )

    if fixed_cost() > budget:
        values["plan"] = condensed_plan(plan)
    if fixed_cost() > budget:  # the styling rules are guidance; the plan is the contract
        values["ui"] = ""
    if fixed_cost() > budget:
        over = fixed_cost() - budget
        values["plan"] = (
            truncate_to_tokens(values["plan"], max(0, estimate_tokens(values["plan"]) - over - 16))
            + "…"
        )
    if fixed_cost() > budget:  # only a huge `current` or request can get here
        for name in ("current", "request"):
            over = fixed_cost() - budget
            if over > 0:
                values[name] = truncate_to_tokens(
                    values[name], max(0, estimate_tokens(values[name]) - over - 16)
                )
    if fixed_cost() > budget:
        raise LLMContextError(
            f"The prompt template alone needs about {fixed_cost()} tokens, more than the "
            f"{budget} the context window leaves for prompts: raise STEPFORGE_CONTEXT_WINDOW "
            "or shorten .stepforge/prompts/file.md."
        )

    remaining = budget - fixed_cost()
    sections: list[str] = []
    result = FilePrompt(messages=[], tokens=0)

    def add(section: str) -> bool:
        nonlocal remaining
        cost = estimate_tokens(section)
        if cost > remaining:
            return False
        sections.append(section)
        remaining -= cost
        return True

    if api_types:
        add(api_types)  # within the budget like any file; without room the compiler still holds
    for source in direct:
        if add(_fence(source.path, source.text, "full text")):
            result.full.append(source.path)
        elif add(_fence(source.path, outline(source.path, source.text), "outline")):
            result.outlined.append(source.path)
        else:
            result.named.append(source.path)
    outline_room = min(int(budget * OUTLINE_SHARE), OUTLINE_MAX_TOKENS)
    for source in others:
        section = _fence(source.path, outline(source.path, source.text), "outline")
        cost = estimate_tokens(section)
        if cost <= outline_room and add(section):
            outline_room -= cost
            result.outlined.append(source.path)
        else:
            result.named.append(source.path)
    if result.named:
        names = list(result.named)
        while names and not add("Also written, not shown: " + ", ".join(names) + "\n"):
            names.pop()
    values["context"] = "".join(sections) if sections else NO_CONTEXT
    user = prompts.render(template, values)
    result.messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
    result.tokens = 2 * MESSAGE_OVERHEAD + estimate_tokens(system) + estimate_tokens(user)
    return result
