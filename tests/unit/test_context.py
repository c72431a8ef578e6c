"""The prompt for one file never exceeds its budget, and spends it on what matters most."""

from hypothesis import given, settings
from hypothesis import strategies as st

from server import prompts
from server.generation.context import OUTLINE_MAX_TOKENS, SourceFile, build_file_prompt
from server.llm.tokens import estimate_tokens
from server.source.outline import outline
from tests.fake_groq import ScriptedApp

APP = ScriptedApp.fixture()
TEMPLATE = prompts.load("file", None)


def sources(paths):
    return [SourceFile(p, APP.files[p]) for p in paths]


def build(budget, direct, others, **kw):
    return build_file_prompt(
        template=TEMPLATE,
        path="frontend/src/pages/Dashboard.tsx",
        plan=APP.plan,
        request="a task manager",
        budget=budget,
        direct=sources(direct),
        others=sources(others),
        **kw,
    )


DIRECT = [
    "frontend/src/hooks/useStats.ts",
    "frontend/src/components/StatCard.tsx",
    "frontend/src/components/BarChart.tsx",
]
OTHERS = ["frontend/src/types/task.ts", "frontend/src/services/tasks.ts", "backend/models/task.py"]


def test_direct_dependencies_in_full_others_as_outlines():
    prompt = build(20000, DIRECT, OTHERS)
    assert prompt.full == DIRECT and prompt.outlined == OTHERS
    user = prompt.messages[1]["content"]
    assert APP.files["frontend/src/hooks/useStats.ts"].strip() in user
    assert "return value * " not in user  # sanity: no stray content
    assert "export interface TaskStats" in user and "def get_stats" not in user
    assert "Write the file `frontend/src/pages/Dashboard.tsx`" in user


def test_a_tight_budget_falls_back_to_outlines_then_names():
    roomy = build(20000, DIRECT, OTHERS)
    tight = build(roomy.tokens - 150, DIRECT, OTHERS)
    assert tight.tokens <= roomy.tokens - 150
    assert tight.outlined or tight.named
    tiny = build(1500, DIRECT, OTHERS)
    assert tiny.tokens <= 1500


def test_a_large_window_does_not_fill_prompts_with_unrelated_outlines():
    """Outlines of files the file does not depend on stay within a fixed size, whatever the
    window: a 131k-token model is no reason to pay for every other file in every call."""
    many = [SourceFile(f"frontend/src/lib/module{i:03}.ts", big_module(i)) for i in range(80)]
    prompt = build_file_prompt(
        template=TEMPLATE,
        path="frontend/src/pages/Dashboard.tsx",
        plan=APP.plan,
        request="a task manager",
        budget=100_000,
        direct=[],
        others=many,
    )
    outlines = prompt.messages[1]["content"].count("(outline)")
    assert 0 < outlines < len(many) and len(prompt.outlined) == outlines
    assert prompt.named  # the rest are named, not dropped
    shown = sum(estimate_tokens(outline_section(s)) for s in many if s.path in prompt.outlined)
    assert shown <= OUTLINE_MAX_TOKENS


def big_module(index: int) -> str:
    return "".join(
        f"export function helper{index}_{k}(items: string[], limit: number): string[] {{\n"
        "  return items.slice(0, limit);\n}\n"
        for k in range(20)
    )


def outline_section(source: SourceFile) -> str:
    return f"### {source.path} (outline)\n```\n{outline(source.path, source.text).rstrip()}\n```\n"


@settings(max_examples=60, deadline=None)
@given(
    budget=st.integers(1000, 6000),
    n_direct=st.integers(0, 3),
    n_others=st.integers(0, 3),
    big=st.integers(0, 40000),
)
def test_no_prompt_exceeds_the_budget(budget, n_direct, n_others, big):
    current = "x" * big if big else None
    prompt = build(
        budget,
        DIRECT[:n_direct],
        OTHERS[:n_others],
        current=current,
        instructions="sort by due date",
    )
    measured = sum(estimate_tokens(m["content"]) for m in prompt.messages)
    assert measured <= prompt.tokens <= budget


def test_regeneration_shows_the_users_version_and_instructions():
    prompt = build(20000, DIRECT, [], current="// my edit\n", instructions="make it sortable")
    user = prompt.messages[1]["content"]
    assert "// my edit" in user and "make it sortable" in user


def test_a_budget_below_the_template_is_a_clear_error():
    import pytest

    from server.llm import LLMContextError

    with pytest.raises(LLMContextError, match="STEPFORGE_CONTEXT_WINDOW"):
        build(100, DIRECT, OTHERS)
