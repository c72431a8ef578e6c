"""The Plan model accepts the shape the LLM is asked for, and the schema file matches the models."""

import json

from protocol.plan import DEFAULT_ROUTE_GROUP, Plan
from protocol.schema import SCHEMA_PATH, render

EXAMPLE = json.loads("""
{"features": ["Tasks", "Dashboard"],
 "files": {"frontend": ["frontend/src/components/TaskCard.tsx", "frontend/src/pages/Dashboard.tsx"],
           "backend": ["backend/models/task.py"]},
 "routes": [{"path": "/dashboard", "component": "Dashboard", "icon": "BarChart3", "label": "Dashboard"}],
 "api_endpoints": [{"method": "GET", "path": "/api/tasks", "description": "List all tasks"}],
 "data_models": [{"name": "Task"}],
 "implementation_order": [{"step": 1, "type": "model", "files": ["backend/models/task.py"]}]}
""")


def test_the_example_plan_validates():
    plan = Plan.model_validate(EXAMPLE)
    assert plan.file_paths() == [
        "frontend/src/components/TaskCard.tsx",
        "frontend/src/pages/Dashboard.tsx",
        "backend/models/task.py",
    ]
    assert plan.routes[0].group == DEFAULT_ROUTE_GROUP == "Overview"
    assert plan.api_endpoints[0].method == "GET"


def test_files_may_be_objects_with_purpose_and_dependencies():
    data = {
        **EXAMPLE,
        "files": {
            "backend": [
                "backend/models/task.py",
                {
                    "path": "backend/routers/tasks.py",
                    "purpose": "CRUD",
                    "depends_on": ["backend/models/task.py"],
                },
            ]
        },
    }
    plan = Plan.model_validate(data)
    router = plan.file("backend/routers/tasks.py")
    assert router is not None and router.purpose == "CRUD"
    assert router.depends_on == ["backend/models/task.py"]
    assert plan.file("backend/models/task.py").depends_on is None


def test_unknown_keys_are_kept_through_a_round_trip():
    data = {**EXAMPLE, "theme": "dark", "routes": [{**EXAMPLE["routes"][0], "badge": 3}]}
    document = Plan.model_validate(data).to_document()
    assert document["theme"] == "dark"
    assert document["routes"][0]["badge"] == 3


def test_project_name_and_route_group_are_optional():
    plan = Plan.model_validate(
        {
            **EXAMPLE,
            "project_name": "tasks",
            "routes": [{**EXAMPLE["routes"][0], "group": "Reports"}],
        }
    )
    assert plan.project_name == "tasks"
    assert plan.routes[0].group == "Reports"


def test_checked_in_schema_matches_the_models():
    assert SCHEMA_PATH.read_text() == render(), "run `python -m protocol.schema --write`"


def test_schema_names_every_method():
    schema = json.loads(SCHEMA_PATH.read_text())
    assert schema["x-requests"]["stepforge/plan"] == {
        "params": "PlanParams",
        "result": "PlanResult",
    }
    assert "PlanParams" in schema["$defs"] and "Plan" in schema["$defs"]
    assert schema["$defs"]["PlanParams"]["properties"]["workDoneToken"]
