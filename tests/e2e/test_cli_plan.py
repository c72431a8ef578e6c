"""`stepforge plan` and `stepforge status` as a user runs them: a subprocess, its output, its exit code."""

from __future__ import annotations

import json

from protocol.models import FileCounts
from tests.conftest import daemon_env, run_cli

REQUEST = "a task manager with a dashboard"


def test_plan_writes_a_valid_plan_and_prints_a_summary(fake_groq, workspace):
    done = run_cli("plan", REQUEST, "--workspace", str(workspace), env=daemon_env(fake_groq))
    assert done.returncode == 0, done.stderr
    assert "Planned task-manager: 25 files in 7 steps, 4 routes" in done.stdout
    assert str(workspace / ".stepforge" / "plan.json") in done.stdout
    assert "Validating the plan" in done.stderr  # plain progress lines when not on a terminal
    plan = json.loads((workspace / ".stepforge" / "plan.json").read_text())
    assert plan["project_name"] == "task-manager"
    assert (workspace / "frontend" / "package.json").exists() and (
        workspace / "backend" / "main.py"
    ).exists()


def test_json_output_is_the_result_object(fake_groq, workspace):
    done = run_cli(
        "plan", REQUEST, "--workspace", str(workspace), "--json", env=daemon_env(fake_groq)
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["projectName"] == "task-manager" and result["usage"]["calls"] == 1
    status = run_cli("status", "--workspace", str(workspace), "--json", env=daemon_env(fake_groq))
    # Every state is counted, 0 where no file is in it.
    assert json.loads(status.stdout)["counts"] == FileCounts(pending=25).to_wire()


def test_a_bad_plan_is_refused_with_exit_3_and_the_reason(fake_groq, responder, workspace):
    bad = dict(responder.app.plan)
    bad["files"] = {**bad["files"], "frontend": [*bad["files"]["frontend"], "../../escape.ts"]}
    responder.plan_replies = [json.dumps(bad)] * 3
    done = run_cli("plan", REQUEST, "--workspace", str(workspace), env=daemon_env(fake_groq))
    assert done.returncode == 3
    assert "'../../escape.ts'" in done.stderr and "contains '..'" in done.stderr
    assert not (workspace / ".stepforge" / "plan.json").exists()


def test_a_missing_key_is_exit_3_saying_what_to_set(fake_groq, workspace):
    env = daemon_env(fake_groq)
    env.pop("GROQ_API_KEY")
    done = run_cli("plan", REQUEST, "--workspace", str(workspace), env=env)
    assert done.returncode == 3
    assert "GROQ_API_KEY is not set" in done.stderr


def test_usage_errors_are_exit_2(fake_groq, tmp_path):
    assert run_cli("plan", env=daemon_env(fake_groq)).returncode == 2
    missing = run_cli(
        "plan", REQUEST, "--workspace", str(tmp_path / "nope"), env=daemon_env(fake_groq)
    )
    assert missing.returncode == 2 and "is not a folder" in missing.stderr


def test_status_of_an_empty_workspace(fake_groq, workspace):
    done = run_cli("status", "--workspace", str(workspace), env=daemon_env(fake_groq))
    assert done.returncode == 0 and "no plan yet" in done.stdout
