"""The frontend against the backend, for real: the API types written from the running backend's
own OpenAPI schema by openapi-typescript in the sandbox, the real TypeScript compiler holding a
frontend file to them, and the app's pages used in Chromium (forms filled and submitted, buttons
clicked) by `stepforge check --runtime`, on the scripted task manager."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from server.checks.api_types import FINGERPRINT_MARK, TYPES_FILE
from tests.conftest import base_env, require_docker, run_cli
from tests.fake_groq.defective_frontend import BODY_LINE, CALL_LINE, FORM_FILE, WRONG

# Two runtime checks (each starts the app, opens every page) after the session's generated app:
# minutes on a loaded machine.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]


def check_runtime(workspace: Path) -> tuple[int, dict, list[dict]]:
    """The exit code, the result, and its problems but the smoke test's blank-page warnings (a
    page whose lazy chunk is still compiling on a loaded machine looks blank for a moment: that
    is the smoke test's timing) and the API behaviour tier's (tests/e2e/test_behaviour.py holds
    its precision): this test is about the frontend against the backend."""
    done = run_cli(
        "check", "--workspace", str(workspace), "--runtime", "--json", env=base_env(), timeout=900
    )
    assert done.stdout.strip(), done.stderr
    result = json.loads(done.stdout)
    problems = [
        p for p in result["problems"] if p["code"] != "page-blank" and p["source"] != "behaviour"
    ]
    return done.returncode, result, problems


def test_the_clean_app_passes_and_a_field_the_backend_lacks_is_found_twice(generated: Path):
    require_docker()
    types = generated / TYPES_FILE
    # The app was generated with its checks on: the types are there, from the backend's schema.
    assert types.exists(), "generate did not write the API types"
    text = types.read_text()
    assert FINGERPRINT_MARK in text and "TaskCreate: {" in text and "title: string;" in text

    # The clean task manager, used in the browser: nothing to report.
    code, result, problems = check_runtime(generated)
    ran = {tier["name"] for tier in result["tiers"] if tier["ran"]}
    assert {"types", "tsc", "smoke"} <= ran and result["notRun"] == [], result["tiers"]
    assert problems == [] and result["complete"], problems

    # The form sends `name` where the model says `title`, its body typed with the generated types
    # as the file prompt asks: the compiler names the field (first: no app needs to run), and the
    # pages in use the 422 the form gets, both on the file that sends it (nothing else: the
    # import of the types resolves, the right field would compile).
    (generated / FORM_FILE).write_text(WRONG)
    code, result, problems = check_runtime(generated)
    assert code == 1 and result["complete"]
    found = {(p["path"], p["line"], p["code"]) for p in problems}
    assert found == {
        (FORM_FILE, BODY_LINE, "TS2353"),
        (FORM_FILE, CALL_LINE, "page-request-failed"),
    }, problems
    compiler = next(p for p in problems if p["source"] == "tsc")
    assert "'name' does not exist" in compiler["message"]
    in_use = next(p for p in problems if p["code"] == "page-request-failed")
    assert "POST /api/tasks" in in_use["message"] and '"name":' in in_use["message"]
    assert "answered 422" in in_use["message"] and "title" in in_use["message"]
