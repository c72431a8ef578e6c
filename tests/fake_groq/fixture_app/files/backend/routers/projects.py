"""Project listing."""

from fastapi import APIRouter
from models.project import Project
from services.task_store import PROJECTS

router = APIRouter(prefix="/api/projects", tags=["projects"])


@router.get("", response_model=list[Project])
def list_projects() -> list[Project]:
    return PROJECTS
