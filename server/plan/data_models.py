"""The plan's data models: the tables of the app's database (pure).

Each model is a `class Name(SQLModel, table=True)` in the backend file that owns it; the rules
here name that file, check the models' names, and tell a file's prompt which tables it owns.
"""

from __future__ import annotations

import keyword
import re
from collections import Counter

from protocol.plan import DataModel, Plan

MODELS_FOLDER = "backend/models/"


def data_model_problems(plan: Plan) -> list[str]:
    """Each planned table needs a class name, and fields with distinct Python names."""
    problems: list[str] = []
    for name, count in Counter(m.name for m in plan.data_models).items():
        if count > 1:
            problems.append(
                f"data_models: {name!r} is planned {count} times; list each model once."
            )
    for index, model in enumerate(plan.data_models):
        where = f"data_models[{index}] ({model.name})"
        if not model.name.isidentifier() or keyword.iskeyword(model.name):
            problems.append(
                f"data_models[{index}]: {model.name!r} is not a Python class name; name the model "
                "like a class (Recipe, TaskItem)."
            )
            continue
        for field_name, count in Counter(f.name for f in model.fields).items():
            if count > 1:
                problems.append(f"{where}: the field {field_name!r} is listed {count} times.")
        for field in model.fields:
            if not field.name.isidentifier() or keyword.iskeyword(field.name):
                problems.append(
                    f"{where}: the field {field.name!r} is not a Python name; use snake_case "
                    "(due_date)."
                )
    return problems


def model_file(plan: Plan, model: DataModel) -> str | None:
    """The planned backend file that defines a data model's table: the one its `file` key names,
    else `backend/models/<snake_case name>.py`, else a planned models file that mentions it."""
    named = (model.model_extra or {}).get("file")
    paths = plan.file_paths()
    if isinstance(named, str) and named in paths:
        return named
    expected = f"backend/models/{snake_case(model.name)}.py"
    if expected in paths:
        return expected
    for planned in plan.planned_files():
        if planned.path.startswith("backend/models/") and model.name in (planned.purpose or ""):
            return planned.path
    return None


def snake_case(name: str) -> str:
    """`TaskItem` -> `task_item`."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def _field_text(model: DataModel) -> str:
    parts = []
    for field in model.fields:
        if field.name == "id":
            continue  # the prompt names the primary key itself
        text = f"{field.name}: {field.type}"
        if not field.required:
            text += " (optional" + (
                f", default {field.default!r})" if field.default is not None else ")"
            )
        parts.append(text)
    return ", ".join(parts) or "fields as the features need"


def owned_tables(plan: Plan, path: str) -> list[DataModel]:
    """The data models whose table `path` defines."""
    return [model for model in plan.data_models if model_file(plan, model) == path]


def tables_note(plan: Plan, path: str) -> str:
    """The prompt's line about the tables of `path`: the ones it defines, or for another backend
    file, where the tables it may use are defined."""
    if not path.startswith("backend/") or not path.endswith(".py") or not plan.data_models:
        return ""
    owned = owned_tables(plan, path)
    if owned:
        lines = [
            f"- `{model.name}` (table=True; an `id: int | None = Field(default=None, "
            f"primary_key=True)` plus {_field_text(model)})"
            for model in owned
        ]
        return (
            f"`{path}` owns these tables of the app's database; define each as "
            "`class Name(SQLModel, table=True)`, with its request/response schemas (plain "
            "SQLModel classes) beside it:\n" + "\n".join(lines) + "\n"
        )
    elsewhere = [
        f"`{model.name}` in {model_file(plan, model) or MODELS_FOLDER}"
        for model in plan.data_models
    ]
    return (
        "The app's tables (import them, never redefine them or keep rows in module-level "
        "lists or dicts): " + ", ".join(elsewhere) + ".\n"
    )
