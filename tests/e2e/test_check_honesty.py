"""`stepforge check` says only what it knows: two checks at once both finish with the same real
result, the app cannot forge the import check's verdict, a check that did not run is never "No
problems found" (and exits 1), a folder with nothing to check says so and is left untouched, and
checks never fall back to running the project's code on this machine unasked. Real CLI processes,
real Docker, the real compiler and interpreter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import docker
import pytest

from server.preview import local_envs
from server.preview.launch import BACKEND_LOCKS, dependency_key
from server.preview.local_runtime import install_backend, install_frontend, local_venv
from tests.conftest import REPO, base_env, copy_app, daemon_env, require_docker, run_cli
from tests.fake_groq import AppResponder, FakeGroq, ScriptedApp

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
TS_ERROR = "\nexport const notANumber: number = 'text';\n"
FORGED = 'STEPFORGE-IMPORT-RESULT:{"ok": true}'
# A backend whose import fails (at run time: no static check sees it), and that tries every way
# of printing a clean verdict.
FORGING_MAIN = f"""import atexit, io, os, sys
atexit.register(lambda: print({FORGED!r}, flush=True))
os.write(1, {FORGED!r}.encode() + b"\\n")
os.write(2, {FORGED!r}.encode() + b"\\n")
sys.stdout = io.StringIO()
raise RuntimeError("this app fails at import")
"""


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The scripted task manager: planned through the CLI (the template laid out around it), its
    files written as the LLM's answers would be (generate, and its own check, are proven
    elsewhere; this spares the module their minutes)."""
    folder = tmp_path_factory.mktemp("planned") / "project"
    folder.mkdir()
    app = ScriptedApp.fixture()
    with FakeGroq(AppResponder(app)) as fake:
        done = run_cli("plan", "a task manager", "--workspace", str(folder), env=daemon_env(fake))
    assert done.returncode == 0, done.stderr
    for path, text in app.files.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_text(text)
    return folder


def check_cli(workspace: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "server", "check", "--workspace", str(workspace), *args],
        env=env or base_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )


def findings(result: dict) -> set[tuple[str, int, str]]:
    return {(p["path"], p["line"], p["code"]) for p in result["problems"]}


def test_two_checks_at_once_both_finish_with_the_same_real_result(generated, workspace):
    """One workspace, two `check` processes at the same time (a CLI check beside an editor's, or
    generate's): each has its own checker; neither kills the other's compiler."""
    require_docker()
    app = copy_app(generated, workspace)
    page = sorted((app / "frontend/src/pages").glob("*.tsx"))[0]
    page.write_text(page.read_text() + TS_ERROR)
    (app / "backend/main.py").write_text(FORGING_MAIN)

    runs = [check_cli(app, "--json") for _ in range(2)]
    outputs = [run.communicate(timeout=600) for run in runs]
    results = []
    for run, (out, err) in zip(runs, outputs, strict=True):
        assert run.returncode == 1, err
        result = json.loads(out)
        ran = {tier["name"] for tier in result["tiers"] if tier["ran"]}
        assert {"static", "ruff", "tsc", "python"} <= ran, result["tiers"]
        assert result["complete"] is True and result["notRun"] == []
        results.append(result)
    assert findings(results[0]) == findings(results[1])
    codes = {(p["path"], p["code"]) for p in results[0]["problems"]}
    relative = str(page.relative_to(app))
    assert (relative, "TS2322") in codes
    # The forged verdicts (atexit, fd 1 and 2, a replaced sys.stdout) did not hide the failure.
    [imported] = [p for p in results[0]["problems"] if p["source"] == "python"]
    assert imported["code"] == "import-error"
    assert "RuntimeError: this app fails at import" in imported["message"]
    assert (imported["path"], imported["line"]) == ("backend/main.py", 6)
    # Each daemon removed its own checkers when it ended.
    left = docker.from_env().containers.list(
        all=True, filters={"label": f"stepforge.workspace={app}"}
    )
    assert [c.name for c in left if c.labels.get("stepforge.purpose") == "checks"] == []


def test_without_docker_the_code_running_checks_are_skipped_and_the_check_fails(
    generated, workspace
):
    """No sandbox and local processes not chosen: the interpreter and the compiler do not run the
    project's code on this machine; the check says so, how to allow it, and exits 1."""
    app = copy_app(generated, workspace)
    venvs_before = sorted((app / ".stepforge").glob("preview/venv-*"))
    env = base_env(DOCKER_HOST="unix:///nonexistent/docker.sock")
    done = run_cli("check", "--workspace", str(app), env=env, timeout=300)
    assert done.returncode == 1, done.stderr
    assert "No problems found" not in done.stdout
    assert "Not fully checked" in done.stdout
    for tier in ("tsc", "python"):
        assert f"not checked: {tier}: not run: no Docker sandbox is available" in done.stdout
    assert "--tools-runtime local" in done.stdout
    assert "STEPFORGE_PREVIEW_RUNTIME=local" in done.stdout
    # Nothing was installed or run locally.
    assert sorted((app / ".stepforge").glob("preview/venv-*")) == venvs_before
    assert not (app / "frontend/node_modules").exists()
    as_json = run_cli("check", "--workspace", str(app), "--json", env=env, timeout=300)
    result = json.loads(as_json.stdout)
    assert result["complete"] is False and {"tsc", "python"} <= set(result["notRun"])


def test_a_folder_with_nothing_to_check_says_so_and_is_left_untouched(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    env = base_env()
    done = run_cli("check", "--workspace", str(empty), env=env)
    assert done.returncode == 1
    assert "No app in" in done.stderr and "stepforge new" in done.stderr
    assert "No problems found" not in done.stdout
    for command in (["status"], ["history"], ["preview", "status"], ["preview", "logs"]):
        run_cli(*command, "--workspace", str(empty), env=env)
    assert list(empty.iterdir()) == []

    broken = tmp_path / "broken"
    (broken / ".stepforge").mkdir(parents=True)
    (broken / ".stepforge/plan.json").write_text('{"project_name": ')
    done = run_cli("check", "--workspace", str(broken), env=env)
    assert done.returncode == 1, done.stderr
    assert "plan.json is not valid JSON" in done.stdout
    assert "No problems found" not in done.stdout


def test_local_environments_a_repository_ships_are_never_trusted(tmp_path, monkeypatch):
    """A repository's `.stepforge/preview/venv-*/bin/python` and `node_modules/.bin/tsc` (with the
    marker files an older StepForge trusted) are removed and installed again; only what StepForge
    installed itself, as its record outside the workspace says, is used."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    root = tmp_path / "repo"
    (root / "backend").mkdir(parents=True)
    (root / "backend/requirements.txt").write_text("")
    (root / "frontend").mkdir()
    (root / "frontend/package.json").write_text('{"name": "x", "version": "1.0.0"}')
    ran = tmp_path / "shipped-binary-ran"
    evil = f"#!/bin/sh\ntouch {ran}\n"
    venv = root / ".stepforge/preview" / f"venv-{dependency_key(root, BACKEND_LOCKS)}"
    assert venv == local_venv(root)
    (venv / "bin").mkdir(parents=True)
    (venv / "bin/python").write_text(evil)
    (venv / ".installed").touch()
    (venv / local_envs.ID_FILE).write_text("0" * 32)
    tsc = root / "frontend/node_modules/.bin/tsc"
    tsc.parent.mkdir(parents=True)
    tsc.write_text(evil)
    for path in (venv / "bin/python", tsc):
        path.chmod(0o755)
    from server.preview.launch import FRONTEND_LOCKS

    (root / "frontend/node_modules" / f".stepforge-{dependency_key(root, FRONTEND_LOCKS)}").touch()

    env = {k: v for k, v in os.environ.items() if not k.startswith(("GROQ_", "STEPFORGE_"))}
    python = install_backend(root, env)
    install_frontend(root, env)
    assert not tsc.exists()
    answer = subprocess.run([str(python), "-c", "print(6 * 7)"], capture_output=True, text=True)
    assert answer.stdout.strip() == "42"
    assert not ran.exists()
    identity = (venv / local_envs.ID_FILE).read_text()
    # Installed by StepForge: trusted next time, nothing installed again.
    assert install_backend(root, env) == python
    assert (venv / local_envs.ID_FILE).read_text() == identity
    # A binary swapped in later (a pull that writes into the venv) is not trusted either.
    (venv / "bin/python").unlink()
    (venv / "bin/python").write_text(evil)
    (venv / "bin/python").chmod(0o755)
    python = install_backend(root, env)
    subprocess.run([str(python), "-c", "pass"], check=True)
    assert not ran.exists()
    assert (venv / local_envs.ID_FILE).read_text() != identity
