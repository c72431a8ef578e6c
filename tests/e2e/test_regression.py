"""After a change, the behaviour tier is the regression check: an endpoint that worked before the
change and is broken by it is reported as a regression on the router's line; an endpoint the
change removes on purpose is none. One workspace: generate (the tier records what passed), a
change that breaks the projects' create, a change that removes the projects' detail endpoint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import daemon_env, require_docker, run_cli
from tests.fake_groq import FakeGroq
from tests.fake_groq.behaviour_defects import PROJECTS, decorator_line
from tests.fake_groq.regression_changes import (
    BREAK_REQUEST,
    CREATE_DECORATOR,
    PROJECTS_BROKEN,
    PROJECTS_WITHOUT_DETAIL,
    REMOVE_REQUEST,
    regression_responder,
)

# Minutes on a loaded machine: one generate and two changes, each with the behaviour tier.
pytestmark = [pytest.mark.slow, pytest.mark.docker, pytest.mark.timeout(1500)]
BEHAVIOUR_ON = {"STEPFORGE_RUNTIME_CHECKS": "1"}


def behaviour_ran(result: dict) -> bool:
    return any(t["name"] == "behaviour" and t["ran"] for t in result.get("checks") or [])


def change(workspace: Path, request: str, env: dict[str, str]):
    """`stepforge change REQUEST --json` with one repair round (the behaviour tier runs after)."""
    return run_cli(
        "change", request, "--workspace", str(workspace), "--json",
        "--repair-rounds", "1", env=env, timeout=900,
    )  # fmt: skip


def test_a_change_that_breaks_an_endpoint_is_a_regression_and_a_removal_is_not(
    workspace: Path,
) -> None:
    require_docker()
    script = regression_responder()
    with FakeGroq(script.responder) as fake:
        env = daemon_env(fake, **BEHAVIOUR_ON)
        planned = run_cli("plan", "a task manager", "--workspace", str(workspace), env=env)
        assert planned.returncode == 0, planned.stderr
        done = run_cli("generate", "--workspace", str(workspace), "--json", env=env, timeout=900)
        generated = json.loads(done.stdout)
        assert done.returncode == 0, (generated.get("problems"), done.stderr[-2000:])
        assert behaviour_ran(generated) and generated["problems"] == []
        recorded = json.loads((workspace / ".stepforge/behaviour.json").read_text())
        assert {"method": "POST", "route": "/api/projects"} in [
            {"method": o["method"], "route": o["route"]}
            for o in recorded["operations"]
            if o["passed"]
        ]

        script.phase = "break"
        broken = json.loads(change(workspace, BREAK_REQUEST, env).stdout)
        assert (workspace / PROJECTS).read_text() == PROJECTS_BROKEN
        regressions = [p for p in broken["problems"] if p["code"] == "regression"]
        assert [(p["path"], p["line"], p["source"]) for p in regressions] == [
            (PROJECTS, decorator_line(PROJECTS_BROKEN, CREATE_DECORATOR), "behaviour")
        ], broken["problems"]
        [regression] = regressions
        assert regression["message"].startswith(
            f"Regression: worked before change {broken['historyId']}, broken by it "
            "(api-not-stored): "
        ), regression["message"]
        assert 'POST /api/projects {"name":' in regression["message"]
        # The saved check report (for status and the editor) says it too.
        saved = json.loads((workspace / ".stepforge/problems.json").read_text())
        assert [p["code"] for p in saved["problems"] if p["source"] == "behaviour"] == [
            "regression"
        ]

        script.phase = "remove"
        removed = change(workspace, REMOVE_REQUEST, env)
        result = json.loads(removed.stdout)
    assert (workspace / PROJECTS).read_text() == PROJECTS_WITHOUT_DETAIL
    # The detail endpoint is gone on purpose and the create works again: nothing to report.
    assert removed.returncode == 0, (result.get("problems"), removed.stderr[-2000:])
    assert result["problems"] == []
    recorded = json.loads((workspace / ".stepforge/behaviour.json").read_text())
    routes = {(o["method"], o["route"]): o["passed"] for o in recorded["operations"]}
    assert routes[("POST", "/api/projects")] is True
    assert ("GET", "/api/projects/{project_id}") not in routes
