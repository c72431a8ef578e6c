"""Task models: the `task` table, and what the API accepts."""

from datetime import date
from enum import Enum

from sqlmodel import Field, SQLModel


class TaskStatus(str, Enum):
    todo = "todo"
    doing = "doing"
    done = "done"


class TaskCreate(SQLModel):
    title: str = Field(min_length=1, max_length=200)
    project_id: int | None = Field(default=None, foreign_key="project.id")
    status: TaskStatus = TaskStatus.todo
    due: date | None = None


class TaskUpdate(SQLModel):
    title: str | None = Field(default=None, min_length=1, max_length=200)
    status: TaskStatus | None = None
    due: date | None = None


class Task(TaskCreate, table=True):
    id: int | None = Field(default=None, primary_key=True)
