"""An in-memory task store, seeded so that the dashboard has something to show."""

from datetime import date, timedelta
from itertools import count

from models.project import Project
from models.task import Task, TaskCreate, TaskStatus, TaskUpdate

_ids = count(1)
_tasks: dict[int, Task] = {}
PROJECTS: list[Project] = [
    Project(id=1, name="Website", color="#2563eb"),
    Project(id=2, name="Mobile app", color="#16a34a"),
]


def list_tasks() -> list[Task]:
    return sorted(_tasks.values(), key=lambda task: task.id)


def get_task(task_id: int) -> Task | None:
    return _tasks.get(task_id)


def create_task(data: TaskCreate) -> Task:
    task = Task(id=next(_ids), **data.model_dump())
    _tasks[task.id] = task
    return task


def update_task(task_id: int, data: TaskUpdate) -> Task | None:
    task = _tasks.get(task_id)
    if task is None:
        return None
    updated = task.model_copy(update=data.model_dump(exclude_unset=True))
    _tasks[task_id] = updated
    return updated


def delete_task(task_id: int) -> bool:
    return _tasks.pop(task_id, None) is not None


def _seed() -> None:
    today = date.today()
    for title, status, project, days in [
        ("Design the landing page", TaskStatus.done, 1, -3),
        ("Write the API", TaskStatus.doing, 1, 2),
        ("Set up analytics", TaskStatus.todo, 1, 5),
        ("Build the login screen", TaskStatus.doing, 2, 1),
        ("Publish to the store", TaskStatus.todo, 2, 10),
    ]:
        create_task(TaskCreate(title=title, status=status, project_id=project, due=today + timedelta(days=days)))


_seed()
