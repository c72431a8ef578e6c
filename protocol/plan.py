"""The implementation plan: the JSON document the LLM is asked for and `.stepforge/plan.json` holds.

The plan keeps the LLM's snake_case field names (it is a document the user edits, not a wire
message). Unknown keys are kept so that a richer plan survives a round trip through validation.
Only the shape is checked here; semantic rules (safe paths, every file placed in a step, routes
whose component is planned) live in `server.planning.validation`, because they need context.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

DEFAULT_ROUTE_GROUP = "Overview"


class PlanPart(BaseModel):
    """Base of every plan object: unknown keys are kept, not rejected."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


# A path as the LLM wrote it, without surrounding spaces.
PlanPath = Annotated[str, AfterValidator(str.strip), Field(min_length=1)]


class PlannedFile(PlanPart):
    """One file to generate. In the plan it may be written as a bare path string."""

    path: PlanPath
    purpose: str | None = None
    depends_on: list[str] | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"path": value}
        return value


class Route(PlanPart):
    """A page of the frontend: its URL path, the component that renders it, and its nav entry."""

    path: str = Field(min_length=1)
    component: str = Field(min_length=1)
    icon: str = "Circle"
    label: str = Field(min_length=1)
    group: str = DEFAULT_ROUTE_GROUP


class ApiEndpoint(PlanPart):
    method: str = Field(min_length=1)
    path: str = Field(min_length=1)
    description: str = ""

    @field_validator("method")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()


class ImplementationStep(PlanPart):
    step: int
    type: str = ""
    files: list[str] = Field(default_factory=list)

    @field_validator("files", mode="before")
    @classmethod
    def _paths_from_objects(cls, value: Any) -> Any:
        # An LLM sometimes repeats the file objects here instead of bare paths.
        if isinstance(value, list):
            return [item.get("path", item) if isinstance(item, dict) else item for item in value]
        return value


class ModelField(PlanPart):
    """One column of a planned table. Written as `"name: type"` in older plans."""

    name: str = Field(min_length=1)
    type: str = "str"
    required: bool = True
    default: Any = None

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        if isinstance(value, str):
            name, _, type_ = value.partition(":")
            return _field_from(name.strip(), type_.strip() or "str")
        return value


def _field_from(name: str, type_: Any) -> dict[str, Any]:
    """A field of an older plan's `{"name": "type"}` mapping: optional when its type allows None."""
    if isinstance(type_, dict):
        return {"name": name, **type_}
    text = str(type_)
    return {"name": name, "type": text, "required": "None" not in text and "Optional" not in text}


_LEADING_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class DataModel(PlanPart):
    """A table of the app's database: `{"name": "Recipe", "fields": [{"name": "title", "type":
    "str", "required": true}]}`; unknown keys (relations, description) are kept. Older plans'
    shapes are read too: fields as a `{"name": "type"}` mapping, a model as `{"Recipe": {...}}`
    or as a sentence starting with its name."""

    name: str = Field(min_length=1)
    fields: list[ModelField] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _older_shapes(cls, value: Any) -> Any:
        if isinstance(value, str):
            match = _LEADING_NAME.search(value)
            return {"name": match.group(0) if match else value.strip(), "description": value}
        if not isinstance(value, dict):
            return value
        if "name" not in value and len(value) == 1:
            ((name, fields),) = value.items()
            value = {"name": name, "fields": fields}
        fields = value.get("fields")
        if isinstance(fields, dict):
            value = {**value, "fields": [_field_from(k, v) for k, v in fields.items()]}
        return value


class PlanDependencies(PlanPart):
    """Packages the app needs beyond the template's: name -> version range, per ecosystem."""

    npm: dict[str, str] = Field(default_factory=dict)
    pypi: dict[str, str] = Field(default_factory=dict)

    def is_empty(self) -> bool:
        return not self.npm and not self.pypi


class Plan(PlanPart):
    """The whole plan. `files` maps a group ("frontend", "backend", ...) to its planned files."""

    project_name: str | None = None
    features: list[Any] = Field(default_factory=list)
    files: dict[str, list[PlannedFile]]
    routes: list[Route] = Field(default_factory=list)
    api_endpoints: list[ApiEndpoint] = Field(default_factory=list)
    data_models: list[DataModel] = Field(default_factory=list)
    dependencies: PlanDependencies = Field(default_factory=PlanDependencies)
    implementation_order: list[ImplementationStep] = Field(min_length=1)

    def planned_files(self) -> Iterator[PlannedFile]:
        """Every planned file, group by group, in the order the plan lists them."""
        for group in self.files.values():
            yield from group

    def file_paths(self) -> list[str]:
        return [planned.path for planned in self.planned_files()]

    def file(self, path: str) -> PlannedFile | None:
        return next((f for f in self.planned_files() if f.path == path), None)

    def data_model(self, name: str) -> DataModel | None:
        return next((m for m in self.data_models if m.name == name), None)

    def to_document(self) -> dict[str, Any]:
        """The plan as stored in plan.json: no nulls the LLM did not write, no empty
        `dependencies` it did not ask for."""
        document = self.model_dump(mode="json", exclude_none=True)
        if self.dependencies.is_empty() and "dependencies" not in self.model_fields_set:
            document.pop("dependencies", None)
        return document
