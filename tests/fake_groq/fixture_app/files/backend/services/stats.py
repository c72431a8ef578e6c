"""Statistics for the dashboard."""

from models.task import TaskStatus
from sqlmodel import Session

from services.task_store import list_projects, list_tasks


def task_stats(session: Session) -> dict[str, object]:
    tasks = list_tasks(session)
    by_status = {status.value: sum(1 for t in tasks if t.status == status) for status in TaskStatus}
    by_project = {
        project.name: sum(1 for t in tasks if t.project_id == project.id)
        for project in list_projects(session)
    }
    return {"total": len(tasks), "byStatus": by_status, "byProject": by_project}
