"""The prompt of a change: the request, the plan, and what every file defines now (pure).

The delta call sees outlines, never whole files, so it fits however large the project grows: full
outlines (signatures) while they fit the budget, then one line per file (its exported names).
"""

from __future__ import annotations

from typing import Any

from server import prompts
from server.generation.context import compact_plan
from server.llm import ChatMessage
from server.llm.tokens import estimate_tokens
from server.source.outline import outline
from server.source.python import analyze_python
from server.source.typescript import analyze_ts

OUTLINE_SHARE = 0.6  # of the prompt budget, for the files' outlines


def one_line(path: str, text: str) -> str:
    """`path: defines a, b, c` (or what it serves)."""
    if path.endswith((".ts", ".tsx", ".js", ".jsx")):
        module = analyze_ts(path, text)
        names = sorted(module.exports) + (["default"] if module.has_default else [])
        return f"{path}: exports {', '.join(names) or 'nothing'}"
    if path.endswith(".py"):
        py = analyze_python(text)
        names = sorted(n for n in py.defined if not n.startswith("_"))
        routes = ", ".join(f"{r.method} {r.path}" for r in py.routes)
        return f"{path}: defines {', '.join(names) or 'nothing'}" + (
            f"; serves {routes}" if routes else ""
        )
    return path


def files_section(files: dict[str, str], budget: int) -> str:
    """Outlines of `files` (path -> text) within `budget` tokens: one line each at least, full
    outlines for as many as fit."""
    chosen = {path: one_line(path, text) + "\n" for path, text in files.items()}
    total = sum(estimate_tokens(line) for line in chosen.values())
    for path in sorted(files):
        full = f"### {path}\n{outline(path, files[path]).strip() or '(empty)'}\n"
        extra = estimate_tokens(full) - estimate_tokens(chosen[path])
        if total + extra <= budget:
            chosen[path] = full
            total += extra
    return "".join(chosen[path] for path in sorted(files))


def change_messages(
    template: str, request: str, plan: dict[str, Any], files: dict[str, str], budget: int
) -> list[ChatMessage]:
    section = files_section(files, int(budget * OUTLINE_SHARE))
    user = prompts.render(
        template, {"request": request, "plan": compact_plan(plan), "files": section}
    )
    return [
        {"role": "system", "content": prompts.CHANGE_PLANNER_SYSTEM},
        {"role": "user", "content": user},
    ]
