"""Plan validation: path rules (property-tested), placement in steps, routes, dependencies."""

import copy
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.plan.paths import RESERVED_DIRS, path_problem
from server.plan.validation import PlanValidationError, component_file, validate_plan
from server.template import template_paths
from tests.fake_groq import ScriptedApp


@pytest.fixture
def plan_data():
    return copy.deepcopy(ScriptedApp.fixture().plan)


def problems_of(data, **kw):
    with pytest.raises(PlanValidationError) as caught:
        validate_plan(data, template_paths(), **kw)
    return caught.value.problems


def test_the_fixture_plan_is_valid(plan_data):
    plan = validate_plan(plan_data, template_paths())
    assert len(plan.file_paths()) == 25
    assert component_file(plan, "Dashboard") == "frontend/src/pages/Dashboard.tsx"


SEGMENT = st.text(
    alphabet=st.characters(blacklist_characters="/\\\x00", blacklist_categories=("Cc", "Cs")),
    min_size=1,
    max_size=8,
)


@given(st.lists(SEGMENT, min_size=1, max_size=5))
def test_a_safe_path_never_escapes_the_project(parts):
    path = "/".join(parts)
    if path_problem(path) is None:
        assert not path.startswith("/")
        assert ".." not in path.split("/")
        assert not RESERVED_DIRS.intersection(path.split("/"))
        assert all(part.strip() == part and part not in ("", ".") for part in path.split("/"))


@given(st.lists(SEGMENT, max_size=3), st.lists(SEGMENT, max_size=3))
def test_parent_segments_are_always_refused(before, after):
    assert path_problem("/".join([*before, "..", *after])) is not None


@pytest.mark.parametrize(
    "bad",
    [
        "/etc/passwd",
        "C:/x.ts",
        "~/x.py",
        "../x.ts",
        "frontend/../../x.ts",
        "a\\b.ts",
        ".git/config",
        "frontend/node_modules/x.js",
        ".stepforge/state.json",
        "",
        "a//b.ts",
    ],
)
def test_unsafe_paths_are_refused_with_a_reason(bad):
    assert path_problem(bad)


def test_a_plan_with_an_escaping_path_names_it(plan_data):
    plan_data["files"]["backend"].append("../outside.py")
    plan_data["implementation_order"][0]["files"].append("../outside.py")
    problems = problems_of(plan_data)
    assert any("'../outside.py'" in p and ".." in p for p in problems)


def test_an_orphan_route_is_refused(plan_data):
    plan_data["routes"].append(
        {"path": "/reports", "component": "Reports", "icon": "BarChart3", "label": "Reports"}
    )
    problems = problems_of(plan_data)
    assert any("Reports" in p and "not a planned file" in p for p in problems)


def test_every_file_must_be_in_exactly_one_step(plan_data):
    plan_data["files"]["frontend"].append("frontend/src/pages/Extra.tsx")
    plan_data["implementation_order"][0]["files"].append("frontend/src/pages/Ghost.tsx")
    problems = problems_of(plan_data)
    assert any("Extra.tsx" in p and "no implementation_order step" in p for p in problems)
    assert any("Ghost.tsx" in p and "not in files" in p for p in problems)


def test_template_files_may_not_be_planned(plan_data):
    plan_data["files"]["backend"].append("backend/main.py")
    plan_data["implementation_order"][0]["files"].append("backend/main.py")
    assert any("provided by the template" in p for p in problems_of(plan_data))


def test_dependency_cycles_are_refused(plan_data):
    files = plan_data["files"]["backend"]
    files[1] = {"path": "backend/models/task.py", "depends_on": ["backend/models/project.py"]}
    files[2] = {"path": "backend/models/project.py", "depends_on": ["backend/models/task.py"]}
    assert any("cycle" in p for p in problems_of(plan_data))


def test_unknown_dependency_is_refused_unless_it_exists(plan_data):
    plan_data["files"]["backend"][1] = {
        "path": "backend/models/task.py",
        "depends_on": ["backend/database.py"],
    }
    assert any("backend/database.py" in p for p in problems_of(plan_data))
    validate_plan(plan_data, template_paths(), exists=lambda p: p == "backend/database.py")


def test_shape_errors_name_the_field(plan_data):
    del plan_data["implementation_order"]
    plan_data["routes"][0].pop("label")
    problems = problems_of(plan_data)
    assert any(p.startswith("implementation_order") for p in problems)
    assert any(p.startswith("routes[0].label") for p in problems)


def test_the_message_lists_every_problem(plan_data):
    plan_data["routes"].append({"path": "nope", "component": "Nope", "label": "Nope"})
    with pytest.raises(PlanValidationError) as caught:
        validate_plan(plan_data, template_paths())
    assert "must start with '/'" in caught.value.message
    assert "Nope" in caught.value.message
    assert json.dumps(caught.value.data)  # problems travel as JSON-RPC error data


# --- what an LLM's plan may not name ------------------------------------------------------------

from protocol.plan import Plan  # noqa: E402
from server.plan.dag import find_cycle  # noqa: E402
from server.plan.paths import planned_path_problem  # noqa: E402
from server.plan.validation import semantic_problems  # noqa: E402


@pytest.mark.parametrize(
    ("path", "why"),
    [
        (".vscode/settings.json", "outside frontend/src/ and backend/"),
        (".github/workflows/ci.yml", "outside frontend/src/ and backend/"),
        ("frontend/vite.config.ts", "outside frontend/src/ and backend/"),
        ("frontend/src/.env", "hidden segment"),
        ("backend/.npmrc", "hidden segment"),
        ("backend/sitecustomize.py", "Python runs on its own"),
        ("backend/usercustomize.py", "Python runs on its own"),
        ("backend/evil.pth", "Python runs on its own"),
        ("backend/tests/conftest.py", "Python runs on its own"),
        ("frontend/src/" + "a" * 120 + ".ts", "segment of 123 characters"),
        ("frontend/src/" + "/".join(["abcdefghij"] * 25) + ".ts", "characters long"),
        ("frontend/src/pages/CON.tsx", "Windows reserves"),
        ("frontend/src/pages/aux", "Windows reserves"),
        ("frontend/src/pages/a:b.tsx", "characters file systems refuse"),
        ("frontend/src/pages/x.", "ending in a dot"),
        ("backend/user-profile.py", "'user_profile'"),
        ("backend/class/x.py", "identifier"),
    ],
)
def test_planned_paths_are_confined(path, why):
    problem = planned_path_problem(path)
    assert problem is not None and why in problem


@pytest.mark.parametrize(
    "path",
    ["frontend/src/pages/Home.tsx", "backend/models/user_profile.py", "backend/data/seed.json"],
)
def test_ordinary_planned_paths_pass(path):
    assert planned_path_problem(path) is None


def test_a_huge_plan_is_refused_with_one_problem():
    paths = [f"frontend/src/m{i}.ts" for i in range(10_000)]
    plan = Plan.model_validate(
        {"files": {"frontend": paths}, "implementation_order": [{"step": 1, "files": paths}]}
    )
    assert semantic_problems(plan) == [
        "the plan lists 10000 files; at most 300 are allowed: plan a smaller app."
    ]


def test_a_long_dependency_chain_is_walked_without_recursion():
    chain = {f"f{i}": [f"f{i + 1}"] for i in range(50_000)}
    chain["f50000"] = []
    assert find_cycle(chain) is None
    chain["f50000"] = ["f0"]
    cycle = find_cycle(chain)
    assert cycle is not None and cycle[0] == cycle[-1] and len(cycle) == 50_002


def test_plan_dependencies_are_names_and_ranges_only():
    base = {
        "files": {"frontend": ["frontend/src/a.ts"]},
        "implementation_order": [{"step": 1, "files": ["frontend/src/a.ts"]}],
    }
    good = Plan.model_validate(
        {
            **base,
            "dependencies": {
                "npm": {"recharts": "^2.12.0", "@scope/pkg": "~1"},
                "pypi": {"sqlmodel": ">=0.0.16"},
            },
        }
    )
    assert semantic_problems(good) == []
    bad = Plan.model_validate(
        {
            **base,
            "dependencies": {
                "npm": {"evil": "git+https://example.com/x.git", "UPPER": "1"},
                "pypi": {"requests": "@ https://example.com/r.whl"},
            },
        }
    )
    problems = semantic_problems(bad)
    assert len(problems) == 3 and all("dependencies." in p for p in problems)
