"""The types step of a generation run: which files wait for the backend's API as TypeScript types,
what the step waits for, and that it never blocks a run that cannot settle its sources."""

from __future__ import annotations

import copy

from protocol.plan import Plan
from server.generation.types_step import TypesStep, plan_step
from server.plan import dag
from tests.fake_groq.responders import ScriptedApp

APP = ScriptedApp.fixture()
PLAN = Plan.model_validate(APP.plan)
DEPS = dag.dependencies(PLAN)
BACKEND = {p for p in PLAN.file_paths() if p.startswith("backend/")}


def test_the_frontend_files_that_call_the_api_wait_for_the_backend_of_the_run():
    step = plan_step(PLAN, PLAN.file_paths(), DEPS)
    assert step is not None
    assert step.sources == BACKEND
    assert step.callers == {
        "frontend/src/services/api.ts",
        "frontend/src/services/tasks.ts",
        "frontend/src/hooks/useTasks.ts",
        "frontend/src/hooks/useStats.ts",
    }


def test_no_step_without_a_backend_file_or_a_caller_in_the_run():
    frontend = [p for p in PLAN.file_paths() if p.startswith("frontend/")]
    assert plan_step(PLAN, frontend, DEPS) is None  # the types on disk are as current as can be
    backend = [p for p in PLAN.file_paths() if p.startswith("backend/")]
    assert plan_step(PLAN, backend, DEPS) is None
    pages = [*backend, "frontend/src/pages/Tasks.tsx"]
    assert plan_step(PLAN, pages, DEPS) is None


def test_a_caller_the_backend_depends_on_waits_for_nothing():
    document = copy.deepcopy(APP.plan)
    backend = document["files"]["backend"]  # type: ignore[index]
    backend.append({"path": "backend/odd.py", "depends_on": ["frontend/src/services/api.ts"]})
    document["implementation_order"].append(  # type: ignore[attr-defined]
        {"step": 8, "type": "odd", "files": ["backend/odd.py"]}
    )
    plan = Plan.model_validate(document)
    deps = dag.dependencies(plan)
    step = plan_step(plan, plan.file_paths(), deps)
    assert step is not None
    assert "frontend/src/services/api.ts" not in step.callers
    assert "frontend/src/services/tasks.ts" in step.callers


def test_the_step_is_due_once_its_sources_are_settled_or_nothing_else_runs():
    step = TypesStep(frozenset({"backend/a.py", "backend/b.py"}), frozenset({"frontend/x.ts"}))
    waiting = {"frontend/x.ts"}
    assert not step.lets("frontend/x.ts") and step.lets("frontend/y.ts")
    assert not step.due({"backend/a.py"}, waiting, {"backend/b.py"})
    # A failed or skipped source is settled as well as a written one.
    assert step.due({"backend/a.py", "backend/b.py"}, waiting, {"frontend/y.ts"})
    # A source that cannot start (its dependency is not generated) must not block the run.
    assert step.due(set(), waiting, set())
    step.started = True
    assert not step.due({"backend/a.py", "backend/b.py"}, waiting, set())
    step.done = True
    assert step.lets("frontend/x.ts")


def test_with_no_caller_left_waiting_the_step_is_done_without_a_refresh():
    step = TypesStep(frozenset({"backend/a.py"}), frozenset({"frontend/x.ts"}))
    assert not step.due({"backend/a.py"}, set(), set())  # the caller was skipped
    assert step.done and not step.started
