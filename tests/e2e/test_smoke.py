"""The running app as the checks see it: both Python import styles serve in both preview runtimes,
and `stepforge check --runtime` finds what only a run shows (an endpoint that fails, a page that
throws, a backend that does not start), on the file to fix."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.conftest import daemon_env, require_docker, run_cli
from tests.e2e.test_preview import require_runtime, stop_everything
from tests.fake_groq import AppResponder
from tests.fake_groq.defects import PACKAGE_STYLE, defective_app

pytestmark = pytest.mark.slow
REQUEST = "a task manager with a dashboard and charts"


@pytest.fixture
def responder() -> AppResponder:
    return AppResponder(defective_app())  # as it ends up: package-style imports in stats.py


def generate(fake, workspace: Path) -> None:
    env = daemon_env(fake)
    for args in (("plan", REQUEST), ("generate", "--no-repair")):
        done = run_cli(*args, "--workspace", str(workspace), env=env, timeout=600)
        assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("runtime", ["docker", "local"])
def test_both_python_import_styles_run_in_both_runtimes(fake_groq, workspace, runtime):
    require_runtime(runtime)
    generate(fake_groq, workspace)
    path, _, package_style = PACKAGE_STYLE
    assert package_style in (workspace / path).read_text()
    env = daemon_env(fake_groq)
    started = run_cli(
        "preview", "start", "--workspace", str(workspace), "--runtime", runtime, "--json", env=env
    )
    try:
        assert started.returncode == 0, started.stderr
        backend = json.loads(started.stdout)["backendUrl"]
        assert httpx.get(backend + "/api/stats", timeout=10).json()["total"] == 5
        checked = run_cli(
            "check", "--workspace", str(workspace), "--runtime", "--json", env=env, timeout=600
        )
        result = json.loads(checked.stdout)
        assert result["problems"] == []
        assert any(t["name"] == "smoke" and t["ran"] for t in result["tiers"])
        # The preview is the user's, on their data: its pages are opened but not used, and the
        # check says so (not complete: exit 1).
        assert result["notRun"] == ["pages"] and checked.returncode == 1
    finally:
        stop_everything(workspace, fake_groq)


def test_runtime_problems_sit_on_the_file_to_fix(fake_groq, workspace):
    require_docker()
    generate(fake_groq, workspace)
    stats = workspace / "backend/routers/stats.py"
    stats.write_text(stats.read_text().replace("return task_stats(session)", "return {'ratio': 1 / 0}"))
    settings = workspace / "frontend/src/pages/Settings.tsx"
    settings.write_text(
        settings.read_text().replace(
            "export default function Settings() {",
            'export default function Settings() {\n  if (Date.now() > 0) throw new Error("settings exploded");',
        )
    )
    env = daemon_env(fake_groq)
    checked = run_cli(
        "check", "--workspace", str(workspace), "--runtime", "--json", env=env, timeout=600
    )
    result = json.loads(checked.stdout)
    assert checked.returncode == 1
    found = {(p["path"], p["code"]) for p in result["problems"]}
    assert found == {
        ("backend/routers/stats.py", "endpoint-error"),
        ("frontend/src/pages/Settings.tsx", "page-error"),
    }
    page = next(p for p in result["problems"] if p["code"] == "page-error")
    assert "settings exploded" in page["message"]
    # The preview the check started for itself is gone again.
    status = json.loads(
        run_cli("preview", "status", "--workspace", str(workspace), "--json", env=env).stdout
    )
    assert status["running"] is False

    # A backend that does not start: a problem where its traceback points.
    projects = workspace / "backend/routers/projects.py"
    projects.write_text(projects.read_text() + '\nraise RuntimeError("no database")\n')
    checked = run_cli(
        "check", "--workspace", str(workspace), "--runtime", "--json", env=env, timeout=600
    )
    crash = [
        p
        for p in json.loads(checked.stdout)["problems"]
        if p["path"] == "backend/routers/projects.py"
    ]
    assert len(crash) == 1 and "no database" in crash[0]["message"], [
        (c["code"], c["source"], c["message"]) for c in crash
    ]
    assert crash[0]["line"] == len(projects.read_text().splitlines())
