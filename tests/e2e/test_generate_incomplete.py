"""`generate` whose check could not run to the end exits 1, as `check` does, and says "Not fully
checked" rather than "No problems found" (README, "Exit codes")."""

from __future__ import annotations

import json

from tests.conftest import daemon_env, run_cli


def test_generate_with_an_incomplete_check_exits_1(fake_groq, generated):
    # Every file is done already: generate writes nothing, asks no LLM, and checks the project,
    # without Docker (a socket that is not there) and local processes not chosen.
    env = daemon_env(fake_groq, DOCKER_HOST="unix:///nonexistent/docker.sock")
    done = run_cli("generate", "--workspace", str(generated), "--json", env=env, timeout=300)
    assert done.returncode == 1, done.stderr
    result = json.loads(done.stdout[done.stdout.index("{") :])
    assert result["written"] == [] and result["failed"] == []
    not_run = {tier["name"] for tier in result["checks"] if not tier["ran"]}
    assert {"tsc", "python"} <= not_run
    shown = run_cli("generate", "--workspace", str(generated), env=env, timeout=300)
    assert shown.returncode == 1
    assert "Not fully checked" in shown.stdout and "No problems found" not in shown.stdout
