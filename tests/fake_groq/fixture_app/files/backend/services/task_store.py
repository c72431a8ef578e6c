"""The tasks and projects in the app's database (through the session a handler was given)."""

from models.project import Project
from models.task import Task, TaskCreate, TaskUpdate
from sqlmodel import Session, select


def list_projects(session: Session) -> list[Project]:
    return list(session.exec(select(Project).order_by(Project.id)).all())


def list_tasks(session: Session) -> list[Task]:
    return list(session.exec(select(Task).order_by(Task.id)).all())


def get_task(session: Session, task_id: int) -> Task | None:
    return session.get(Task, task_id)


def create_task(session: Session, data: TaskCreate) -> Task:
    task = Task.model_validate(data)
    session.add(task)
    session.commit()
    session.refresh(task)
    return task


def update_task(session: Session, task_id: int, data: TaskUpdate) -> Task | None:
    task = session.get(Task, task_id)
    if task is None:
        return None
    # A null leaves the field as it is: a task's title and status are never empty.
    task.sqlmodel_update(data.model_dump(exclude_unset=True, exclude_none=True))
    session.add(task)
    session.commit()
    session.refresh(task)
    return task


def delete_task(session: Session, task_id: int) -> bool:
    task = session.get(Task, task_id)
    if task is None:
        return False
    session.delete(task)
    session.commit()
    return True
