"""A plan delta: what a follow-up request ("add a favorites page") changes in the plan, the JSON
document the LLM is asked for. Like the plan it keeps the LLM's snake_case names, and unknown keys
are kept. The rules that need the plan and the workspace are in `server.change.delta`."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from protocol.plan import ApiEndpoint, PlanDependencies, PlanPart, PlanPath, Route


class AddedFile(PlanPart):
    path: PlanPath
    purpose: str | None = None
    depends_on: list[str] | None = None


class ModifiedFile(PlanPart):
    path: PlanPath
    change: str = Field(min_length=1, description="What must change in this file.")


class EndpointRef(PlanPart):
    method: str = Field(min_length=1)
    path: str = Field(min_length=1)

    @field_validator("method")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()


class DependencyNames(PlanPart):
    npm: list[str] = Field(default_factory=list)
    pypi: list[str] = Field(default_factory=list)


class PlanDelta(PlanPart):
    summary: str = ""
    add_files: list[AddedFile] = Field(default_factory=list)
    modify_files: list[ModifiedFile] = Field(default_factory=list)
    remove_files: list[str] = Field(default_factory=list)
    add_routes: list[Route] = Field(default_factory=list)
    remove_routes: list[str] = Field(default_factory=list, description="Route paths.")
    add_api_endpoints: list[ApiEndpoint] = Field(default_factory=list)
    remove_api_endpoints: list[EndpointRef] = Field(default_factory=list)
    add_data_models: list[Any] = Field(default_factory=list)
    remove_data_models: list[str] = Field(default_factory=list, description="Model names.")
    add_dependencies: PlanDependencies = Field(default_factory=PlanDependencies)
    remove_dependencies: DependencyNames = Field(default_factory=DependencyNames)

    def touched(self) -> list[str]:
        """Every file the delta adds, modifies or removes."""
        return [
            *(f.path for f in self.add_files),
            *(f.path for f in self.modify_files),
            *self.remove_files,
        ]

    def to_document(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)
