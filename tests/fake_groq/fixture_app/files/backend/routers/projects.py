"""Project listing."""

from fastapi import APIRouter, Depends
from models.project import Project
from db import get_session
from services.task_store import list_projects
from sqlmodel import Session

router = APIRouter(prefix="/api/projects", tags=["projects"])


@router.get("", response_model=list[Project])
def get_projects(session: Session = Depends(get_session)) -> list[Project]:
    return list_projects(session)
