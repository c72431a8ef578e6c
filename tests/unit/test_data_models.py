"""The plan's data models: their shape (old plans' shapes read too), their rules, the table each
backend file owns in its prompt, and the contract check that every planned model is a table."""

from __future__ import annotations

import json
import sqlite3

import pytest

from protocol.plan import DataModel, Plan
from server.checks.contract import check_contract
from server.checks.project import Project
from server.plan.data_models import model_file, snake_case, tables_note
from server.plan.validation import PlanValidationError, validate_plan
from server.template import template_bytes, template_paths
from tests.fake_groq import ScriptedApp


def plan_with(data_models: list, files: list | None = None) -> dict:
    files = files or ["backend/models/recipe.py", "backend/routers/recipes.py"]
    return {
        "files": {"backend": files},
        "data_models": data_models,
        "implementation_order": [
            {"step": 1, "files": [f if isinstance(f, str) else f["path"] for f in files]}
        ],
    }


def test_the_structured_shape_keeps_extra_keys():
    recipe = {
        "name": "Recipe",
        "description": "a dish",
        "fields": [
            {"name": "title", "type": "str", "required": True},
            {"name": "quantity", "type": "int", "required": False, "default": 1, "unit": "g"},
        ],
    }
    plan = Plan.model_validate(plan_with([recipe]))
    [model] = plan.data_models
    assert model.fields[1].default == 1 and model.fields[1].required is False
    assert plan.to_document()["data_models"] == [recipe]  # round trip, extra keys kept


@pytest.mark.parametrize(
    ("written", "name", "fields"),
    [
        # The shape plans had before: fields as a name -> type mapping.
        (
            {"name": "Task", "fields": {"id": "int", "due": "date | None"}},
            "Task",
            [("id", True), ("due", False)],
        ),
        ({"Task": {"title": "str"}}, "Task", [("title", True)]),
        (
            {"name": "Task", "fields": ["title: str", "note"]},
            "Task",
            [("title", True), ("note", True)],
        ),
        ("Task: a title and a status", "Task", []),
    ],
)
def test_older_shapes_are_read(written, name, fields):
    model = DataModel.model_validate(written)
    assert model.name == name
    assert [(f.name, f.required) for f in model.fields] == fields


def test_bad_models_are_plan_problems_that_name_them():
    data = plan_with(
        [
            {
                "name": "Recipe",
                "fields": [{"name": "title"}, {"name": "title"}, {"name": "due date"}],
            },
            {"name": "Recipe"},
            {"name": "my recipe"},
        ]
    )
    with pytest.raises(PlanValidationError) as raised:
        validate_plan(data, template_paths())
    assert raised.value.problems == [
        "data_models: 'Recipe' is planned 2 times; list each model once.",
        "data_models[0] (Recipe): the field 'title' is listed 2 times.",
        "data_models[0] (Recipe): the field 'due date' is not a Python name; use snake_case (due_date).",
        "data_models[2]: 'my recipe' is not a Python class name; name the model like a class "
        "(Recipe, TaskItem).",
    ]


def test_each_model_has_the_file_that_owns_its_table():
    plan = Plan.model_validate(
        plan_with(
            [
                {"name": "TaskItem"},
                {"name": "Tag", "file": "backend/models/labels.py"},
                {"name": "Note"},
            ],
            [
                "backend/models/task_item.py",
                "backend/models/labels.py",
                {"path": "backend/models/misc.py", "purpose": "Note and Comment models"},
            ],
        )
    )
    assert snake_case("TaskItem") == "task_item"
    assert [model_file(plan, m) for m in plan.data_models] == [
        "backend/models/task_item.py",
        "backend/models/labels.py",
        "backend/models/misc.py",
    ]


def test_a_model_file_is_told_its_tables_and_other_backend_files_where_they_are():
    plan = Plan.model_validate(
        plan_with(
            [
                {
                    "name": "Recipe",
                    "fields": [
                        {"name": "title", "type": "str", "required": True},
                        {"name": "quantity", "type": "int", "required": False, "default": 1},
                    ],
                }
            ]
        )
    )
    owner = tables_note(plan, "backend/models/recipe.py")
    assert "`backend/models/recipe.py` owns these tables" in owner
    assert "`Recipe` (table=True;" in owner and "quantity: int (optional, default 1)" in owner
    user = tables_note(plan, "backend/routers/recipes.py")
    assert "`Recipe` in backend/models/recipe.py" in user and "never redefine" in user
    assert tables_note(plan, "frontend/src/pages/Recipes.tsx") == ""


def _project(plan: dict, files: dict[str, str]) -> Project:
    return Project(Plan.model_validate(plan), files)


def test_a_planned_model_without_a_table_is_a_contract_problem_on_its_file():
    plan = plan_with([{"name": "Recipe", "fields": [{"name": "title"}]}, {"name": "Tag"}])
    files = {
        "backend/models/recipe.py": (
            "from pydantic import BaseModel\n\nclass Recipe(BaseModel):\n    title: str\n"
        ),
        "backend/routers/recipes.py": "from fastapi import APIRouter\nrouter = APIRouter()\n",
    }
    found = [p for p in check_contract(_project(plan, files)) if p.code == "table-missing"]
    assert [(p.path, p.line) for p in found] == [
        ("backend/models/recipe.py", 1),
        (".stepforge/plan.json", 1),  # Tag's file is not planned
    ]
    assert "`class Recipe(SQLModel, table=True)` in backend/models/recipe.py (fields: title)" in (
        found[0].message
    )
    files["backend/models/recipe.py"] = (
        "from sqlmodel import Field, SQLModel\n\n"
        "class Recipe(SQLModel, table=True):\n"
        "    id: int | None = Field(default=None, primary_key=True)\n    title: str\n"
    )
    files["backend/models/tag.py"] = (
        "from sqlmodel import SQLModel\nclass Tag(SQLModel, table=True): ...\n"
    )
    assert [p for p in check_contract(_project(plan, files)) if p.code == "table-missing"] == []


def test_the_scripted_app_keeps_its_data_in_tables():
    app = ScriptedApp.fixture()
    files = {path: template_bytes(path).decode() for path in template_paths()}
    files.update(app.files)
    project = _project(app.plan, files)
    assert set(project.py("backend/models/task.py").tables) == {"Task"}
    assert set(project.py("backend/models/project.py").tables) == {"Project"}
    assert check_contract(project) == []
    assert "sqlmodel" in files["backend/requirements.in"].split()
    assert any(
        line.startswith("sqlmodel==") for line in files["backend/requirements.txt"].splitlines()
    )
    assert json.dumps(app.plan["data_models"][0]["fields"][0]) == (
        '{"name": "title", "type": "str", "required": true}'
    )


# --- where the data lives (server.preview.database) ----------------------------------------------


def test_the_local_data_folder_is_outside_the_source_and_reset_keeps_a_copy(tmp_path):
    from server.preview import database

    url = database.local_url(tmp_path)
    folder = tmp_path / ".stepforge" / "data"
    assert url == f"sqlite:///{folder / 'app.db'}" and folder.is_dir()
    assert database.describe(tmp_path, "local").path == str(folder / "app.db")
    assert database.reset_folder(tmp_path) is None  # nothing to reset: no copy either
    with sqlite3.connect(folder / "app.db") as db:
        db.execute("create table task (id integer primary key)")
        db.execute("insert into task values (1)")
    db.close()
    copy = database.reset_folder(tmp_path)
    assert copy is not None and copy.parent == tmp_path / ".stepforge" / "data-backups"
    with sqlite3.connect(copy / "app.db") as kept:
        assert kept.execute("select count(*) from task").fetchone()[0] == 1
    kept.close()
    assert list(folder.iterdir()) == []
    # A scratch database for the checks is another folder, emptied at each start.
    scratch = database.local_url(tmp_path, scratch=True)
    assert ".stepforge/checks/scratch-data/app.db" in scratch and "/data/" not in scratch


def test_the_docker_data_volume_is_the_workspaces_and_mounted_only_where_asked(tmp_path):
    from server.preview import database

    data = database.describe(tmp_path, "docker")
    assert data.volume == database.data_volume(tmp_path) and data.volume.startswith(
        "stepforge-data-"
    )
    assert data.database_url == "sqlite:////data/app.db"
    assert database.data_volume(tmp_path / "other") != data.volume
    options = {"volumes": {"/w/backend": {"bind": "/workspace/backend", "mode": "rw"}}}
    mounted = database.with_data_volume(dict(options), data.volume)
    assert mounted["volumes"][data.volume] == {"bind": "/data", "mode": "rw"}
    assert database.with_data_volume(dict(options), None) == options
    labels = database.data_labels(tmp_path, "data")
    assert labels["stepforge.role"] == "data" and database.is_data_volume(labels)
