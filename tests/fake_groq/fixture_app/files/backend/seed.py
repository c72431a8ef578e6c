"""Sample data, written once into a new database so that the dashboard has something to show."""

from datetime import date, timedelta

from models.project import Project
from models.task import Task, TaskStatus
from sqlmodel import Session


def seed(session: Session) -> None:
    website = Project(name="Website", color="#2563eb")
    mobile = Project(name="Mobile app", color="#16a34a")
    session.add_all([website, mobile])
    session.flush()  # gives the projects their ids
    today = date.today()
    for title, status, project, days in [
        ("Design the landing page", TaskStatus.done, website, -3),
        ("Write the API", TaskStatus.doing, website, 2),
        ("Set up analytics", TaskStatus.todo, website, 5),
        ("Build the login screen", TaskStatus.doing, mobile, 1),
        ("Publish to the store", TaskStatus.todo, mobile, 10),
    ]:
        session.add(
            Task(title=title, status=status, project_id=project.id, due=today + timedelta(days=days))
        )
