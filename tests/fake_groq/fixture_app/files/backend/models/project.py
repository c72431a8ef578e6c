"""Project model: a named group of tasks."""

from pydantic import BaseModel, Field


class Project(BaseModel):
    id: int
    name: str = Field(min_length=1, max_length=100)
    color: str = "#2563eb"
