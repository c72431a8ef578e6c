"""Dashboard statistics."""

from fastapi import APIRouter
from services.stats import task_stats

router = APIRouter(prefix="/api/stats", tags=["stats"])


@router.get("")
def get_stats() -> dict[str, object]:
    return task_stats()
