"""Task models: what the API accepts and returns."""

from datetime import date
from enum import Enum

from pydantic import BaseModel, Field


class TaskStatus(str, Enum):
    todo = "todo"
    doing = "doing"
    done = "done"


class TaskCreate(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    project_id: int | None = None
    status: TaskStatus = TaskStatus.todo
    due: date | None = None


class TaskUpdate(BaseModel):
    title: str | None = Field(default=None, min_length=1, max_length=200)
    status: TaskStatus | None = None
    due: date | None = None


class Task(TaskCreate):
    id: int
