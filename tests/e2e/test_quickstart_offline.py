"""`scripts/quickstart --offline` for real (setup skipped: this machine is set up): it plans and
generates the task manager with the scripted LLM, starts the preview (the page titled with the
project's name, with its favicon), and leaves the offline LLM running so that the follow-up
`stepforge change ...` it prints is answered too (run, as printed, in the project folder)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO, base_env, require_docker, run_cli
from tests.fake_groq.changes import REQUEST as CHANGE_REQUEST

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def test_the_offline_quickstart_builds_previews_and_answers_a_change(tmp_path: Path):
    require_docker()  # the quick start's preview runs in Docker
    env = base_env(STEPFORGE_PROJECTS=str(tmp_path), STEPFORGE_SKIP_SETUP="1")
    done = subprocess.run(
        [str(REPO / "scripts/quickstart"), "--offline", "a task manager"],
        env=env,
        capture_output=True,
        text=True,
        timeout=480,
        cwd=tmp_path,
    )
    pid = re.search(r"keeps running \(pid (\d+)\)", done.stdout)
    project = tmp_path / "task-manager"
    try:
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        assert pid is not None, done.stdout
        assert f"Project: {project}" in done.stdout
        frontend = re.search(r"^Frontend: (\S+)", done.stdout, re.MULTILINE)
        assert frontend is not None, done.stdout + done.stderr[-3000:]  # the preview runs

        # The preview's page is titled with the project's name and has an icon.
        page = httpx.get(frontend[1] + "/", timeout=60)
        assert page.status_code == 200
        assert "<title>Task Manager</title>" in page.text
        assert '<link rel="icon" type="image/svg+xml" href="/favicon.svg" />' in page.text
        icon = httpx.get(frontend[1] + "/favicon.svg", timeout=60)
        assert icon.status_code == 200 and icon.text.lstrip().startswith("<svg")

        # The follow-up commands, with the environment the script prints.
        exported = re.search(r"export GROQ_BASE_URL=(\S+) GROQ_API_KEY=(\S+)", done.stdout)
        assert exported is not None, done.stdout
        offline = {**env, "GROQ_BASE_URL": exported[1], "GROQ_API_KEY": exported[2]}
        changed = run_cli("change", CHANGE_REQUEST, env=offline, cwd=project, timeout=300)
        assert changed.returncode == 0, changed.stdout[-3000:] + changed.stderr[-3000:]
        assert (project / "frontend/src/pages/Favorites.tsx").is_file()
        assert "Favorites" in (project / "frontend/src/routes.tsx").read_text()
    finally:
        if pid is not None:
            os.kill(int(pid[1]), signal.SIGTERM)
        if project.exists():
            run_cli("preview", "stop", "--workspace", str(project), env=env)
