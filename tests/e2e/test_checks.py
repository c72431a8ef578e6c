"""Check and repair end to end: the scripted app with the defects a real LLM writes, through the
real daemon, the real TypeScript compiler, ruff and Python interpreter (in the preview's runtime:
Docker here and in CI), and the repair loop against the test LLM."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import daemon_env, require_docker, run_cli
from tests.fake_groq import AppResponder, FakeGroq, ScriptedApp
from tests.fake_groq.defects import DEFECTS, PACKAGE_STYLE, REPAIR_MARK, defective_responder

pytestmark = pytest.mark.slow
REQUEST = "a task manager with a dashboard and charts"
EXPECTED = {(d.path, d.line, d.code) for d in DEFECTS}
# "types" runs too: the backend does not import, so it writes nothing and the python tier says why.
TIERS = {"types", "static", "ruff", "tsc", "python"}


@pytest.fixture
def responder() -> AppResponder:
    return defective_responder()


def generate(fake: FakeGroq, workspace: Path, *args: str):
    env = daemon_env(fake)
    planned = run_cli("plan", REQUEST, "--workspace", str(workspace), env=env)
    assert planned.returncode == 0, planned.stderr
    done = run_cli("generate", "--workspace", str(workspace), "--json", *args, env=env, timeout=600)
    return done, json.loads(done.stdout) if done.stdout.strip() else None


def found(problems: list[dict]) -> set[tuple[str, int, str]]:
    return {(p["path"], p["line"], p["code"]) for p in problems}


def test_with_repair_off_every_defect_is_reported_on_its_file_and_line(
    fake_groq, responder, workspace
):
    require_docker()
    done, result = generate(fake_groq, workspace, "--no-repair")
    assert done.returncode == 1, done.stderr  # files written, but errors remain
    assert result["written"] and not result["failed"]
    assert found(result["problems"]) == EXPECTED  # each defect, and nothing else
    assert {t["name"] for t in result["checks"] if t["ran"]} == TIERS
    assert result["repaired"] == [] and result["repairUsage"]["calls"] == 0
    assert all(count == 1 for count in responder.calls_by_path.values())  # nothing asked again

    # `stepforge check` says the same, and status counts them.
    env = daemon_env(fake_groq)
    check = run_cli("check", "--workspace", str(workspace), "--json", env=env, timeout=300)
    assert check.returncode == 1
    assert found(json.loads(check.stdout)["problems"]) == EXPECTED
    human = run_cli("check", "--workspace", str(workspace), env=env, timeout=300).stdout
    assert "frontend/src/components/TaskCard.tsx:14:" in human and "4 errors" in human
    status = json.loads(run_cli("status", "--workspace", str(workspace), "--json", env=env).stdout)
    assert status["problems"] == {"error": 4, "warning": 0}


def test_with_repair_on_the_app_ends_without_problems(fake_groq, responder, workspace):
    require_docker()
    done, result = generate(fake_groq, workspace)
    assert done.returncode == 0, done.stdout + done.stderr
    assert result["problems"] == []
    defective = {d.path for d in DEFECTS}
    assert set(result["repaired"]) == defective
    # Only the defective files were asked again, once each.
    assert {p: n for p, n in responder.calls_by_path.items() if n > 1} == dict.fromkeys(
        defective, 2
    )
    repairs = [s for s in fake_groq.served if s.file_path and REPAIR_MARK in s.prompt]
    assert {s.file_path for s in repairs} == defective
    prompt_of = {s.file_path: s.prompt for s in repairs}
    assert (
        "`removeTask` is not exported by frontend/src/services/tasks.ts"
        in prompt_of["frontend/src/hooks/useTasks.ts"]
    )
    assert (
        "Property 'name' does not exist on type 'Task'"
        in prompt_of["frontend/src/components/TaskCard.tsx"]
    )
    assert (
        "`ProjectCreate` is not defined in backend/models/project.py"
        in prompt_of["backend/routers/projects.py"]
    )
    assert "GET /api/stats" in prompt_of["frontend/src/services/tasks.ts"]  # the endpoint list
    # The repair prompt shows what the file imports, in full.
    assert "export const deleteTask" in prompt_of["frontend/src/hooks/useTasks.ts"]
    assert result["repairUsage"]["calls"] == len(defective)
    # The package-style import is no defect: it stays, and the app checks clean with it.
    path, _, package_style = PACKAGE_STYLE
    assert package_style in (workspace / path).read_text()


@pytest.mark.parametrize("app", ["fixture", "synthetic"])
def test_clean_apps_have_no_problems(workspace, app):
    require_docker()
    scripted = ScriptedApp.fixture() if app == "fixture" else ScriptedApp.synthetic(files=24)
    with FakeGroq(AppResponder(scripted)) as fake:
        done, result = generate(fake, workspace)
    assert done.returncode == 0, done.stderr
    assert result["problems"] == [] and result["repaired"] == []
    ran = {t["name"] for t in result["checks"] if t["ran"]}
    assert {"static", "ruff", "tsc"} <= ran


def test_a_plans_packages_reach_the_manifests_and_locks(fake_groq, responder, workspace):
    responder.app.plan["dependencies"] = {
        "npm": {"date-fns": "^4.1.0"},  # not among the template's own
        "pypi": {"python-slugify": ">=8"},
    }
    env = daemon_env(fake_groq)
    planned = run_cli("plan", REQUEST, "--workspace", str(workspace), env=env, timeout=300)
    assert planned.returncode == 0, planned.stderr
    manifest = json.loads((workspace / "frontend/package.json").read_text())
    assert manifest["dependencies"]["date-fns"] == "^4.1.0"
    lock = json.loads((workspace / "frontend/package-lock.json").read_text())
    assert "node_modules/date-fns" in lock["packages"]
    assert "python-slugify" in (workspace / "backend/requirements.in").read_text()
    compiled = (workspace / "backend/requirements.txt").read_text()
    assert "python-slugify==" in compiled and "text-unidecode==" in compiled  # its own dependency
    assert "fastapi==" in compiled  # the template's stay

    from protocol.plan import Plan
    from server.checks.imports import check_imports
    from server.checks.project import load_project

    plan = Plan.model_validate(json.loads((workspace / ".stepforge/plan.json").read_text()))
    (workspace / "frontend/src").mkdir(parents=True, exist_ok=True)
    (workspace / "frontend/src/x.ts").write_text(
        'import { format } from "date-fns";\nimport dayjs from "dayjs";\n'
    )
    (workspace / "backend/y.py").write_text("import slugify\nimport yaml\n")
    problems = check_imports(load_project(workspace, plan), ["frontend/src/x.ts", "backend/y.py"])
    assert {(p.path, p.line, p.code) for p in problems} == {
        ("frontend/src/x.ts", 2, "package-missing"),
        ("backend/y.py", 2, "package-missing"),
    }
