"""Project model: the `project` table, a named group of tasks."""

from sqlmodel import Field, SQLModel


class Project(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(min_length=1, max_length=100)
    color: str = "#2563eb"
