"""The task manager with behaviour defects: its first answers for two router files pass every
static check (syntax, imports, ruff, the compiler, the interpreter importing the app, the plan's
contract) and fail only when the app is used; asked again with the checks' problems ("Fix these
problems ..."), each comes back right.

Held out from its clean twin (`behaviour_app`: the fixture app plus a task's detail endpoint and
a project's create and detail endpoints, all correct), the defects are:
- backend/routers/tasks.py: the detail endpoint raises on a real id (a relation the model does not
  have), and the delete deletes nothing (no `session.commit()`);
- backend/routers/projects.py: the create does not commit (the record is gone with the session),
  and the detail endpoint answers a field the response_model does not have in place of one it
  requires (`title` for `name`).
The frontend's form-field defect of issue 18 belongs to the pages-in-use checks (not here).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from tests.fake_groq.defects import REPAIR_MARK
from tests.fake_groq.responders import AppResponder, ScriptedApp
from tests.fake_groq.server import ChatRequest

TASKS = "backend/routers/tasks.py"
PROJECTS = "backend/routers/projects.py"
PROJECT_MODEL = "backend/models/project.py"

TASKS_RIGHT = '''"""CRUD endpoints for tasks."""

from db import get_session
from fastapi import APIRouter, Depends, HTTPException
from models.task import Task, TaskCreate, TaskUpdate
from services import task_store
from sqlmodel import Session

router = APIRouter(prefix="/api/tasks", tags=["tasks"])


@router.get("", response_model=list[Task])
def list_tasks(session: Session = Depends(get_session)) -> list[Task]:
    return task_store.list_tasks(session)


@router.get("/{task_id}", response_model=Task)
def read_task(task_id: int, session: Session = Depends(get_session)) -> Task:
    task = task_store.get_task(session, task_id)
    if task is None:
        raise HTTPException(status_code=404, detail="Task not found")
    return task


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
    task = task_store.get_task(session, task_id)
    if task is None:
        raise HTTPException(status_code=404, detail="Task not found")
    session.delete(task)
    session.commit()
'''

PROJECTS_RIGHT = '''"""Projects: list, create, read."""

from db import get_session
from fastapi import APIRouter, Depends, HTTPException
from models.project import Project, ProjectCreate
from services.task_store import list_projects
from sqlmodel import Session

router = APIRouter(prefix="/api/projects", tags=["projects"])


@router.get("", response_model=list[Project])
def get_projects(session: Session = Depends(get_session)) -> list[Project]:
    return list_projects(session)


@router.post("", response_model=Project, status_code=201)
def create_project(data: ProjectCreate, session: Session = Depends(get_session)) -> Project:
    project = Project.model_validate(data)
    session.add(project)
    session.commit()
    session.refresh(project)
    return project


@router.get("/{project_id}", response_model=Project)
def read_project(project_id: int, session: Session = Depends(get_session)) -> Project:
    project = session.get(Project, project_id)
    if project is None:
        raise HTTPException(status_code=404, detail="Project not found")
    return project
'''

PROJECT_MODEL_RIGHT = '''"""Project model: the `project` table, a named group of tasks; what the API accepts."""

from sqlmodel import Field, SQLModel


class ProjectCreate(SQLModel):
    name: str = Field(min_length=1, max_length=100)
    color: str = Field(default="#2563eb", max_length=20)


class Project(ProjectCreate, table=True):
    id: int | None = Field(default=None, primary_key=True)
'''


@dataclass(frozen=True)
class BehaviourDefect:
    path: str
    edits: tuple[tuple[str, str], ...]  # (right, wrong): the first answer has wrong for right
    code: str  # the problem the behaviour checks must report
    decorator: str  # on the line of this decorator (the endpoint's)

    def broken(self, content: str) -> str:
        for right, wrong in self.edits:
            assert content.count(right) == 1, f"{self.path}: {right!r} not found once"
            content = content.replace(right, wrong)
        return content


DEFECTS = [
    BehaviourDefect(
        TASKS,
        (
            (
                '    return task\n\n\n@router.post("", response_model=Task, status_code=201)',
                '    return {**task.model_dump(), "project": task.project.name}\n\n\n'
                '@router.post("", response_model=Task, status_code=201)',
            ),
        ),
        code="api-roundtrip",
        decorator='@router.get("/{task_id}", response_model=Task)',
    ),
    BehaviourDefect(
        TASKS,
        (("    session.delete(task)\n    session.commit()\n", "    session.delete(task)\n"),),
        code="api-not-deleted",
        decorator='@router.delete("/{task_id}", status_code=204)',
    ),
    BehaviourDefect(
        PROJECTS,
        (
            (
                "    session.add(project)\n    session.commit()\n",
                "    session.add(project)\n    session.flush()\n",
            ),
        ),
        code="api-not-stored",
        decorator='@router.post("", response_model=Project, status_code=201)',
    ),
    BehaviourDefect(
        PROJECTS,
        (
            (
                "from fastapi import APIRouter, Depends, HTTPException\n",
                "from fastapi import APIRouter, Depends, HTTPException\n"
                "from fastapi.responses import JSONResponse\n",
            ),
            (
                'detail="Project not found")\n    return project\n',
                'detail="Project not found")\n'
                '    return JSONResponse({"id": project.id, "title": project.name, '
                '"color": project.color})\n',
            ),
        ),
        code="api-schema",
        decorator='@router.get("/{project_id}", response_model=Project)',
    ),
]
DEFECTIVE_FILES = sorted({defect.path for defect in DEFECTS})
EXTRA_ENDPOINTS = [
    {"method": "GET", "path": "/api/tasks/{id}", "description": "Read a task"},
    {"method": "POST", "path": "/api/projects", "description": "Create a project"},
    {"method": "GET", "path": "/api/projects/{id}", "description": "Read a project"},
]


def behaviour_app() -> ScriptedApp:
    """The clean twin: the fixture app with the extra endpoints, every file right."""
    app = ScriptedApp.fixture()
    plan = copy.deepcopy(app.plan)
    endpoints = plan["api_endpoints"]
    assert isinstance(endpoints, list)
    endpoints.extend(EXTRA_ENDPOINTS)
    app.plan = plan
    app.files[TASKS] = TASKS_RIGHT
    app.files[PROJECTS] = PROJECTS_RIGHT
    app.files[PROJECT_MODEL] = PROJECT_MODEL_RIGHT
    return app


def first_answers(app: ScriptedApp) -> dict[str, str]:
    """The defective files as they are first answered (every defect of each in it)."""
    wrong: dict[str, str] = {}
    for defect in DEFECTS:
        wrong[defect.path] = defect.broken(wrong.get(defect.path, app.files[defect.path]))
    return wrong


def decorator_line(content: str, decorator: str) -> int:
    return content.splitlines().index(decorator) + 1


def behaviour_responder() -> AppResponder:
    """Answers the defective files wrong first, right when asked to fix their problems."""
    app = behaviour_app()
    responder = AppResponder(app)
    for path, wrong in first_answers(app).items():
        right = app.files[path]

        def answer(request: ChatRequest, wrong: str = wrong, right: str = right) -> str:
            return right if REPAIR_MARK in request.prompt else wrong

        responder.overrides[path] = answer
    return responder
