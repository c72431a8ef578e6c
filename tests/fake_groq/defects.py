"""The task manager with the defects a real LLM writes per file, for the checks and the repair loop.

The first answer for each defective file carries its defect; asked again with the checks' problems
("Fix these problems ..."), the file comes back right. Each defect is one that a particular tier
catches: a missing named export (imports), a wrong property only the type checker sees (tsc), a
Python import of a class that does not exist (imports, and the interpreter), a frontend call to an
endpoint the backend lacks (contract). One file imports in package style
(`from backend.services.stats import ...`), which is no defect: both styles must run.
"""

from __future__ import annotations

from dataclasses import dataclass

from tests.fake_groq.responders import AppResponder, ScriptedApp
from tests.fake_groq.server import ChatRequest

REPAIR_MARK = "Fix these problems"


@dataclass(frozen=True)
class Defect:
    path: str
    wrong: str  # in the file's first answer ...
    right: str  # ... instead of this (every occurrence)
    code: str  # the problem the checks must report
    line: int

    def broken(self, content: str) -> str:
        assert self.right in content, f"{self.path}: {self.right!r} not found"
        return content.replace(self.right, self.wrong)


DEFECTS = [
    Defect(
        "frontend/src/hooks/useTasks.ts",
        wrong="removeTask",  # imported and called, but services/tasks.ts names it deleteTask
        right="deleteTask",
        code="import-missing-export",
        line=2,
    ),
    Defect(
        "frontend/src/components/TaskCard.tsx",
        wrong='"flex-1"}>{task.name}</span>',
        right='"flex-1"}>{task.title}</span>',
        code="TS2339",
        line=14,
    ),
    Defect(
        "backend/routers/projects.py",
        wrong="from models.project import Project, ProjectCreate\n",
        right="from models.project import Project\n",
        code="import-missing-name",
        line=4,
    ),
    Defect(
        "frontend/src/services/tasks.ts",
        wrong='request<TaskStats>("/api/statistics")',
        right='request<TaskStats>("/api/stats")',
        code="call-unserved",
        line=7,
    ),
]
PACKAGE_STYLE = (
    "backend/routers/stats.py",
    "from services.stats import task_stats",
    "from backend.services.stats import task_stats",
)


def defective_app() -> ScriptedApp:
    """The fixture app whose files are as they end up (package-style import included)."""
    app = ScriptedApp.fixture()
    path, plain, package_style = PACKAGE_STYLE
    app.files[path] = app.files[path].replace(plain, package_style)
    return app


def defective_responder() -> AppResponder:
    """Answers defective files wrong first, right when asked to fix their problems."""
    app = defective_app()
    responder = AppResponder(app)
    for defect in DEFECTS:
        right = app.files[defect.path]
        wrong = defect.broken(right)

        def answer(request: ChatRequest, wrong: str = wrong, right: str = right) -> str:
            return right if REPAIR_MARK in request.prompt else wrong

        responder.overrides[defect.path] = answer
    return responder
