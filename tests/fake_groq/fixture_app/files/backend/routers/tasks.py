"""CRUD endpoints for tasks."""

from fastapi import APIRouter, HTTPException
from models.task import Task, TaskCreate, TaskUpdate
from services import task_store

router = APIRouter(prefix="/api/tasks", tags=["tasks"])


@router.get("", response_model=list[Task])
def list_tasks() -> list[Task]:
    return task_store.list_tasks()


@router.post("", response_model=Task, status_code=201)
def create_task(data: TaskCreate) -> Task:
    return task_store.create_task(data)


@router.patch("/{task_id}", response_model=Task)
def update_task(task_id: int, data: TaskUpdate) -> Task:
    task = task_store.update_task(task_id, data)
    if task is None:
        raise HTTPException(status_code=404, detail="Task not found")
    return task


@router.delete("/{task_id}", status_code=204)
def delete_task(task_id: int) -> None:
    if not task_store.delete_task(task_id):
        raise HTTPException(status_code=404, detail="Task not found")
