"""Dashboard statistics."""

from db import get_session
from fastapi import APIRouter, Depends
from services.stats import task_stats
from sqlmodel import Session

router = APIRouter(prefix="/api/stats", tags=["stats"])


@router.get("")
def get_stats(session: Session = Depends(get_session)) -> dict[str, object]:
    return task_stats(session)
