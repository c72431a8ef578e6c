"""Statistics for the dashboard."""

from models.task import TaskStatus

from services.task_store import PROJECTS, list_tasks


def task_stats() -> dict[str, object]:
    tasks = list_tasks()
    by_status = {status.value: sum(1 for t in tasks if t.status == status) for status in TaskStatus}
    by_project = {
        project.name: sum(1 for t in tasks if t.project_id == project.id) for project in PROJECTS
    }
    return {"total": len(tasks), "byStatus": by_status, "byProject": by_project}
