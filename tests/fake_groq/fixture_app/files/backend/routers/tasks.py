"""CRUD endpoints for tasks."""

from db import get_session
from fastapi import APIRouter, Depends, HTTPException
from models.task import Task, TaskCreate, TaskUpdate
from services import task_store
from sqlmodel import Session

router = APIRouter(prefix="/api/tasks", tags=["tasks"])


@router.get("", response_model=list[Task])
def list_tasks(session: Session = Depends(get_session)) -> list[Task]:
    return task_store.list_tasks(session)


@router.post("", response_model=Task, status_code=201)
def create_task(data: TaskCreate, session: Session = Depends(get_session)) -> Task:
    return task_store.create_task(session, data)


@router.patch("/{task_id}", response_model=Task)
def update_task(task_id: int, data: TaskUpdate, session: Session = Depends(get_session)) -> Task:
    task = task_store.update_task(session, task_id, data)
    if task is None:
        raise HTTPException(status_code=404, detail="Task not found")
    return task


@router.delete("/{task_id}", status_code=204)
def delete_task(task_id: int, session: Session = Depends(get_session)) -> None:
    if not task_store.delete_task(session, task_id):
        raise HTTPException(status_code=404, detail="Task not found")
