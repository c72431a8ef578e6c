"""The pure checks on in-memory projects: what each reports, where, and that clean apps report
nothing."""

from __future__ import annotations

import json

import pytest

from protocol.plan import Plan
from server.checks.contract import check_contract, path_matches
from server.checks.imports import check_imports
from server.checks.project import Project
from server.checks.service import without_echoes
from server.checks.syntax import check_syntax
from server.checks.tools import HARNESS_MARK, parse_harness, parse_ruff, parse_tsc
from server.template import template_bytes, template_paths
from tests.fake_groq import ScriptedApp

NPM = {"react", "react-dom", "react-router", "lucide-react", "vite", "typescript"}
PYPI = {"fastapi", "pydantic", "pydantic-core", "uvicorn", "starlette"}


def project(files: dict[str, str], plan: dict | None = None) -> Project:
    return Project(Plan.model_validate(plan) if plan else None, files, set(NPM), set(PYPI))


def codes(problems) -> set[tuple[str, int, str]]:
    return {(p.path, p.line, p.code) for p in problems}


def scripted(app: ScriptedApp) -> Project:
    files = {path: template_bytes(path).decode() for path in template_paths()}
    files.update(app.files)
    return Project(
        Plan.model_validate(app.plan),
        files,
        set(json.loads(files["frontend/package.json"])["dependencies"])
        | set(json.loads(files["frontend/package.json"])["devDependencies"]),
        {
            line.split("==")[0]
            for line in files["backend/requirements.txt"].splitlines()
            if "==" in line
        },
    )


@pytest.mark.parametrize("app", [ScriptedApp.fixture(), ScriptedApp.synthetic()])
def test_clean_apps_have_no_problems(app):
    checked = scripted(app)
    assert check_syntax(checked) + check_imports(checked) + check_contract(checked) == []


# --- TypeScript ----------------------------------------------------------------------------------


def test_typescript_imports_are_resolved_and_their_names_checked():
    files = {
        "frontend/src/lib/a.ts": 'export const one = 1;\nexport * from "./b";\nexport default 3;\n',
        "frontend/src/lib/b.ts": "export function two() {}\nexport interface Shape { x: number }\n",
        "frontend/src/lib/index.ts": 'export { one as uno } from "./a";\n',
        "frontend/src/styles.css": "body {}\n",
        "frontend/src/page.tsx": (
            'import three, { one, two, type Shape, four } from "./lib/a";\n'
            'import { uno } from "./lib";\n'
            'import missing from "./lib/b";\n'
            'import nowhere from "./nowhere";\n'
            'import "./styles.css";\n'
            'import { useState } from "react";\n'
            'import dayjs from "dayjs";\n'
            'import fs from "node:fs";\n'
            'const Lazy = import("./lib/gone");\n'
        ),
    }
    assert codes(check_imports(project(files))) == {
        ("frontend/src/page.tsx", 1, "import-missing-export"),  # four
        ("frontend/src/page.tsx", 3, "import-no-default"),
        ("frontend/src/page.tsx", 4, "import-unresolved"),
        ("frontend/src/page.tsx", 7, "package-missing"),
        ("frontend/src/page.tsx", 8, "package-missing"),
        ("frontend/src/page.tsx", 9, "import-unresolved"),
    }
    [four] = [p for p in check_imports(project(files)) if p.code == "import-missing-export"]
    assert four.column == 39 and four.end_column == 43
    assert "it exports: Shape, one, two" in four.message


def test_a_star_export_of_a_package_makes_exports_unknowable():
    files = {
        "frontend/src/a.ts": 'export * from "react";\n',
        "frontend/src/b.ts": 'import { anything } from "./a";\n',
    }
    assert check_imports(project(files)) == []


# --- Python --------------------------------------------------------------------------------------


def test_python_imports_in_both_styles_and_relative():
    files = {
        "backend/models/__init__.py": "",
        "backend/models/task.py": "class Task: ...\nTASKS = []\n",
        "backend/services/store.py": (
            "from models.task import Task\n"
            "from backend.models.task import TASKS\n"
            "from ..models.task import Task as T2\n"
            "from .helpers import helper\n"
            "from models import task\n"
            "import backend.models.task\n"
            "import json, os.path\n"
            "from fastapi import APIRouter\n"
            "from pydantic_core import core_schema\n"
        ),
        "backend/services/helpers.py": "def helper(): ...\n",
    }
    assert check_imports(project(files)) == []


def test_python_import_problems():
    files = {
        "backend/models/task.py": "class Task: ...\n",
        "backend/routers/tasks.py": (
            "from models.task import Task, TaskCreate\n"
            "from models.tsk import Task\n"
            "from backend.services import store\n"
            "import sqlalchemy\n"
            "from .nothing import x\n"
        ),
    }
    found = check_imports(project(files))
    assert codes(found) == {
        ("backend/routers/tasks.py", 1, "import-missing-name"),
        ("backend/routers/tasks.py", 2, "import-unresolved"),
        ("backend/routers/tasks.py", 3, "import-unresolved"),
        ("backend/routers/tasks.py", 4, "package-missing"),
        ("backend/routers/tasks.py", 5, "import-unresolved"),
    }
    missing = next(p for p in found if p.code == "import-missing-name")
    assert (
        "`TaskCreate` is not defined in backend/models/task.py (it defines: Task)"
        in missing.message
    )


# --- the plan's contract -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("route", "call", "matches"),
    [
        ("/api/tasks/{task_id}", "/api/tasks/{*}", True),
        ("/api/tasks/{task_id}", "/api/tasks/42", True),
        ("/api/tasks", "/api/tasks/", True),
        ("/api/tasks", "/api/task", False),
        ("/api/tasks/{id}/done", "/api/tasks/{*}", False),
        ("/api/stats", "/api/{*}", True),
    ],
)
def test_path_patterns(route, call, matches):
    assert path_matches(route, call) is matches


PLAN = {
    "files": {
        "frontend": ["frontend/src/pages/Home.tsx", "frontend/src/api.ts"],
        "backend": ["backend/routers/items.py", "backend/routers/other.py"],
    },
    "routes": [{"path": "/", "component": "Home", "label": "Home"}],
    "api_endpoints": [
        {"method": "GET", "path": "/api/items"},
        {"method": "DELETE", "path": "/api/items/{id}"},
    ],
    "implementation_order": [
        {"step": 1, "files": ["backend/routers/items.py", "backend/routers/other.py"]},
        {"step": 2, "files": ["frontend/src/api.ts", "frontend/src/pages/Home.tsx"]},
    ],
}


def test_contract_problems_sit_on_the_file_that_should_change():
    files = {
        "frontend/src/pages/Home.tsx": "export function Home() { return null; }\n",
        "frontend/src/api.ts": (
            "export const list = () => fetch(`${API_URL}/api/items?sort=name`);\n"
            'export const drop = (id: number) => request(`/api/items/${id}`, { method: "DELETE" });\n'
            'export const bad = () => api.post("/api/itemz", {});\n'
            'const CONSTANT = "/api/not-a-call";\n'
        ),
        "backend/routers/items.py": (
            "from fastapi import APIRouter\n"
            'router = APIRouter(prefix="/api/items")\n'
            '@router.get("")\n'
            "def list_items(): ...\n"
        ),
        "backend/routers/other.py": "X = 1\n",
        "backend/router_registry.py": (
            "from routers.items import router as a\nfrom routers.other import router as b\n"
        ),
    }
    assert codes(check_contract(project(files, PLAN))) == {
        ("frontend/src/pages/Home.tsx", 1, "route-no-default"),
        ("backend/routers/items.py", 1, "endpoint-missing"),  # DELETE /api/items/{id}
        ("frontend/src/api.ts", 2, "call-unserved"),
        ("frontend/src/api.ts", 3, "call-unserved"),
        ("backend/routers/other.py", 1, "router-missing"),
    }


# --- the tools' output ---------------------------------------------------------------------------


def test_tsc_output_becomes_problems():
    output = (
        "src/components/Card.tsx(14,105): error TS2339: Property 'name' does not exist on type 'Task'.\n"
        "src/pages/Home.tsx(3,1): error TS2322: Type 'string' is not assignable to type 'number'.\n"
        "  The expected type comes from property 'id'.\n"
    )
    found = parse_tsc(output)
    assert codes(found) == {
        ("frontend/src/components/Card.tsx", 14, "TS2339"),
        ("frontend/src/pages/Home.tsx", 3, "TS2322"),
    }
    assert found[1].message.endswith("The expected type comes from property 'id'.")


def test_ruff_and_the_interpreter_output_become_problems():
    ruff = json.dumps(
        [
            {
                "code": "F821",
                "message": "Undefined name `Taks`",
                "filename": "/w/backend/routers/x.py",
                "location": {"row": 7, "column": 12},
                "end_location": {"row": 7, "column": 16},
            }
        ]
    )
    [undefined] = parse_ruff(ruff, "/w")
    assert (undefined.path, undefined.line, undefined.code, undefined.end_column) == (
        "backend/routers/x.py",
        7,
        "F821",
        16,
    )
    verdict = {
        "ok": False,
        "type": "ImportError",
        "message": "cannot import name 'X' from 'models.task'",
        "frames": [
            ["/workspace/backend/main.py", 9],
            ["/workspace/backend/routers/tasks.py", 3],
            ["<frozen importlib._bootstrap>", 1],
        ],
    }
    [crash] = parse_harness("noise\n" + HARNESS_MARK + json.dumps(verdict), "/workspace/backend")
    assert (crash.path, crash.line, crash.source) == ("backend/routers/tasks.py", 3, "python")
    assert parse_harness(HARNESS_MARK + '{"ok": true}', "/workspace/backend") == []
    assert parse_harness("Killed", "/workspace/backend")[0].code == "import-crash"


def test_tool_echoes_of_a_static_problem_are_dropped():
    from server.checks.problems import problem

    static = problem("a.ts", 2, 10, "import-missing-export", "x", "imports")
    echo = problem("a.ts", 2, 10, "TS2305", "x", "tsc")
    other = problem("a.ts", 9, 1, "TS2339", "y", "tsc")
    assert without_echoes([static, echo, other]) == [static, other]


def test_syntax_problems_have_a_place():
    files = {"backend/a.py": "def f(:\n", "frontend/src/b.tsx": "const x = <div>;\n"}
    assert codes(check_syntax(project(files))) == {
        ("backend/a.py", 1, "syntax"),
        ("frontend/src/b.tsx", 1, "syntax"),
    }
