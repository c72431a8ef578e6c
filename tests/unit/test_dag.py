from protocol.plan import Plan
from server.plan import dag
from tests.fake_groq import ScriptedApp


def plan(**overrides):
    return Plan.model_validate({**ScriptedApp.fixture().plan, **overrides})


def test_steps_in_ascending_order_merging_equal_numbers():
    p = plan(
        implementation_order=[
            {"step": 2, "files": ["b"]},
            {"step": 1, "files": ["a"]},
            {"step": 2, "files": ["c"]},
        ],
        files={"x": ["a", "b", "c"]},
    )
    assert dag.steps(p) == [["a"], ["b", "c"]]


def test_without_depends_on_a_file_waits_for_the_previous_step():
    deps = dag.dependencies(plan())
    assert deps["backend/models/task.py"] == []
    assert deps["backend/services/stats.py"] == [
        "backend/models/__init__.py",
        "backend/models/task.py",
        "backend/models/project.py",
    ]
    assert set(deps["frontend/src/pages/Dashboard.tsx"]) == {
        "frontend/src/components/StatCard.tsx",
        "frontend/src/components/BarChart.tsx",
        "frontend/src/components/TaskCard.tsx",
        "frontend/src/components/TaskForm.tsx",
    }


def test_depends_on_replaces_the_step_rule():
    data = ScriptedApp.fixture().plan
    data["files"]["frontend"][-4] = {
        "path": "frontend/src/pages/Dashboard.tsx",
        "depends_on": ["frontend/src/hooks/useStats.ts", "backend/main.py"],
    }
    deps = dag.dependencies(Plan.model_validate(data))
    assert deps["frontend/src/pages/Dashboard.tsx"] == [
        "frontend/src/hooks/useStats.ts"
    ]  # template files are not nodes


def test_transitive_dependents_follow_the_chain():
    deps = {"a": [], "b": ["a"], "c": ["b"], "d": []}
    assert dag.transitive_dependents(deps, {"a"}) == {"b", "c"}
    assert dag.find_cycle(deps) is None
    assert dag.find_cycle({"a": ["b"], "b": ["a"]}) in (["a", "b", "a"], ["b", "a", "b"])
