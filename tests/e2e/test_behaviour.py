"""The behaviour tier against the running backend (its own sandbox, a scratch database): the clean
task manager has no findings; the app whose router files store nothing, raise on a real id,
delete nothing and answer off their response_model is reported endpoint by endpoint, with the
request and the answer in each message, and repaired by asking only those files again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import daemon_env, require_docker, run_cli
from tests.e2e.test_preview import stop_everything
from tests.fake_groq import FakeGroq
from tests.fake_groq.behaviour_defects import (
    DEFECTIVE_FILES,
    DEFECTS,
    PROJECT_MODEL,
    behaviour_app,
    behaviour_responder,
    decorator_line,
    first_answers,
)

# Minutes on a loaded machine: the full checks with the runtime tier, twice, and one generate.
pytestmark = [pytest.mark.slow, pytest.mark.docker, pytest.mark.timeout(1200)]
BEHAVIOUR_ON = {"STEPFORGE_RUNTIME_CHECKS": "1"}


def behaviour_problems(result: dict) -> list[dict]:
    assert any(t["name"] == "behaviour" and t["ran"] for t in result["tiers"]), result["tiers"]
    return [p for p in result["problems"] if p["source"] == "behaviour"]


def test_the_clean_app_has_no_findings_and_the_defects_sit_on_their_endpoints(
    generated: Path, fake_groq: FakeGroq
) -> None:
    """One check of the clean app, then of the same app with the defective first answers."""
    require_docker()
    env = daemon_env(fake_groq)
    try:
        checked = run_cli(
            "check", "--workspace", str(generated), "--runtime", "--json", env=env, timeout=600
        )
        result = json.loads(checked.stdout)
        assert behaviour_problems(result) == [], result["problems"]
        # (What the other runtime checks say of the pages is theirs to test.)
        assert [p for p in result["problems"] if p["path"].startswith("backend/")] == []

        # The app as the defective variant's first answers leave it (its plan has the endpoints).
        app = behaviour_app()
        plan_file = generated / ".stepforge/plan.json"
        plan = json.loads(plan_file.read_text())
        plan["api_endpoints"] = app.plan["api_endpoints"]
        plan_file.write_text(json.dumps(plan, indent=1))
        (generated / PROJECT_MODEL).write_text(app.files[PROJECT_MODEL])
        wrong = first_answers(app)
        for path, text in wrong.items():
            (generated / path).write_text(text)
        checked = run_cli(
            "check", "--workspace", str(generated), "--runtime", "--json", env=env, timeout=600
        )
        result = json.loads(checked.stdout)
    finally:
        stop_everything(generated, fake_groq)
    assert checked.returncode == 1
    found = {(p["path"], p["line"], p["code"]): p["message"] for p in behaviour_problems(result)}
    expected = {(d.path, decorator_line(wrong[d.path], d.decorator), d.code) for d in DEFECTS}
    assert set(found) == expected, found
    # Every other check passes the defective files: only running the app shows the defects.
    others = [p for p in result["problems"] if p["source"] != "behaviour"]
    assert [p for p in others if p["path"].startswith("backend/")] == [], others
    for message in found.values():
        # The request (method, concrete path) and the answer (its status) are in the message.
        assert " /api/" in message and "answered " in message, message
    assert any('POST /api/projects {"name":' in m for m in found.values())
    assert any("GET /api/projects/1 answered 200" in m for m in found.values())


def test_generate_repairs_the_behaviour_defects_by_asking_only_their_files(
    workspace: Path,
) -> None:
    require_docker()
    responder = behaviour_responder()
    with FakeGroq(responder) as fake:
        env = daemon_env(fake, **BEHAVIOUR_ON)
        planned = run_cli("plan", "a task manager", "--workspace", str(workspace), env=env)
        assert planned.returncode == 0, planned.stderr
        done = run_cli("generate", "--workspace", str(workspace), "--json", env=env, timeout=900)
    result = json.loads(done.stdout)
    assert done.returncode == 0, (result.get("problems"), done.stderr[-2000:])
    assert result["problems"] == []
    assert any(t["name"] == "behaviour" and t["ran"] for t in result["checks"]), result["checks"]
    assert sorted(result["repaired"]) == DEFECTIVE_FILES
    asked_again = sorted(path for path, calls in responder.calls_by_path.items() if calls > 1)
    assert asked_again == DEFECTIVE_FILES
    for path in DEFECTIVE_FILES:
        assert (workspace / path).read_text() == responder.app.files[path]
