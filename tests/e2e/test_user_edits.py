"""Never lose a user's edit: regenerating one file, conflicts and their resolution, deleted files,
edits during generation, the watcher, and edits to the plan. Real daemons, real files."""

from __future__ import annotations

import asyncio
import json
import os
import time

import pytest
from pygls.exceptions import JsonRpcException

from protocol.errors import ErrorCode
from tests.conftest import daemon_env, run_cli
from tests.fake_groq import ChatRequest, Latency, ScriptedApp

APP = ScriptedApp.fixture()
REQUEST = "a task manager with a dashboard and charts"
PAGE = "frontend/src/pages/Dashboard.tsx"
ORIGINAL = APP.files[PAGE]


def request(client, method, params):
    return asyncio.wrap_future(client.protocol.send_request(method, params))


def statuses_of(client) -> list[dict]:
    seen: list[dict] = []
    client.feature("stepforge/fileStatus")(lambda params: seen.append(params))
    return seen


async def wait_for(predicate, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


def regenerated(request_: ChatRequest) -> str:
    """The new version the 'LLM' writes when asked to regenerate the page: a changed heading."""
    if "Instructions for this version" in request_.prompt:
        return ORIGINAL.replace("<h1>Dashboard</h1>", "<h1>Dashboard (sorted)</h1>")
    return ORIGINAL


@pytest.fixture
async def generated(lsp, workspace, responder):
    responder.overrides[PAGE] = regenerated
    await request(lsp, "stepforge/plan", {"request": REQUEST})
    result = await request(lsp, "stepforge/generate", {})
    assert result["failed"] == []
    return workspace


async def test_an_untouched_file_is_replaced(lsp, generated):
    result = await request(
        lsp, "stepforge/regenerateFile", {"path": PAGE, "instructions": "sort it"}
    )
    assert result["outcome"] == "written"
    assert "Dashboard (sorted)" in (generated / PAGE).read_text()
    status = await request(lsp, "stepforge/status", {})
    assert {e["path"]: e["state"] for e in status["files"]}[PAGE] == "done"


async def test_an_edit_far_from_the_change_is_merged_with_both_kept(lsp, generated, fake_groq):
    page = generated / PAGE
    page.write_text(page.read_text() + "// my note at the end\n")
    result = await request(
        lsp, "stepforge/regenerateFile", {"path": str(page), "instructions": "sort it"}
    )
    assert result["outcome"] == "merged" and result.get("conflictId") is None
    text = page.read_text()
    assert "// my note at the end" in text and "Dashboard (sorted)" in text
    regeneration = fake_groq.served[-1].prompt
    assert (
        "// my note at the end" in regeneration and "sort it" in regeneration
    )  # it saw my version
    status = await request(lsp, "stepforge/status", {})
    assert {e["path"]: e["state"] for e in status["files"]}[PAGE] == "userModified"


@pytest.mark.parametrize("choice", ["mine", "generated", "merged"])
async def test_an_overlapping_edit_conflicts_then_each_choice_settles_it(lsp, generated, choice):
    page = generated / PAGE
    mine = page.read_bytes().replace(b"<h1>Dashboard</h1>", b"<h1>My dashboard</h1>")
    page.write_bytes(mine)
    result = await request(
        lsp, "stepforge/regenerateFile", {"path": PAGE, "instructions": "sort it"}
    )
    assert result["outcome"] == "conflict" and result["conflictId"]
    assert page.read_bytes() == mine  # byte for byte
    status = await request(lsp, "stepforge/status", {})
    assert [c["path"] for c in status["conflicts"]] == [PAGE]
    details = await request(lsp, "stepforge/conflictDetails", {"conflictId": result["conflictId"]})
    assert "My dashboard" in details["mine"] and "Dashboard (sorted)" in details["generated"]
    assert details["base"] == ORIGINAL

    params = {"conflictId": result["conflictId"], "choice": choice}
    if choice == "merged":
        params["content"] = ORIGINAL.replace("<h1>Dashboard</h1>", "<h1>My sorted dashboard</h1>")
    settled = await request(lsp, "stepforge/resolveConflict", params)
    assert settled["path"] == PAGE
    expected = {
        "mine": "My dashboard",
        "generated": "Dashboard (sorted)",
        "merged": "My sorted dashboard",
    }[choice]
    assert expected in page.read_text()
    status = await request(lsp, "stepforge/status", {})
    assert status["conflicts"] == []
    assert {e["path"]: e["state"] for e in status["files"]}[PAGE] == (
        "done" if choice == "generated" else "userModified"
    )
    with pytest.raises(JsonRpcException) as caught:
        await request(lsp, "stepforge/resolveConflict", params)
    assert caught.value.code == ErrorCode.CONFLICT_UNKNOWN


async def test_a_deleted_file_is_not_recreated_unless_forced(lsp, generated):
    (generated / PAGE).unlink()
    result = await request(lsp, "stepforge/regenerateFile", {"path": PAGE})
    assert result["outcome"] == "skipped" and not (generated / PAGE).exists()
    again = await request(lsp, "stepforge/generate", {})
    assert again["written"] == [] and not (generated / PAGE).exists()
    forced = await request(lsp, "stepforge/regenerateFile", {"path": PAGE, "force": True})
    assert forced["outcome"] == "written" and (generated / PAGE).exists()


async def test_only_planned_files_inside_the_workspace(lsp, generated, tmp_path):
    with pytest.raises(JsonRpcException) as caught:
        await request(lsp, "stepforge/regenerateFile", {"path": "frontend/src/main.tsx"})
    assert caught.value.code == ErrorCode.FILE_NOT_PLANNED
    with pytest.raises(JsonRpcException) as caught:
        await request(lsp, "stepforge/regenerateFile", {"path": str(tmp_path / "elsewhere.ts")})
    assert caught.value.code == ErrorCode.PATH_OUTSIDE_WORKSPACE


async def test_force_generation_merges_instead_of_overwriting(lsp, generated):
    model = generated / "backend/models/task.py"
    model.write_text(model.read_text() + "\n# my helper below\nMAX_TITLE = 200\n")
    result = await request(
        lsp, "stepforge/generate", {"force": True, "only": ["backend/models/task.py"]}
    )
    assert result["written"] == ["backend/models/task.py"]
    assert "MAX_TITLE = 200" in model.read_text()


async def test_edits_made_while_generation_runs_are_kept(lsp, workspace, fake_groq):
    statuses = statuses_of(lsp)
    await request(lsp, "stepforge/plan", {"request": REQUEST})
    fake_groq.latency = Latency(first_token_seconds=0.05, tokens_per_second=500)
    generating = asyncio.ensure_future(request(lsp, "stepforge/generate", {"concurrency": 2}))
    model = workspace / "backend/models/task.py"
    await wait_for(
        lambda: any(
            s["path"] == "backend/models/task.py" and s["state"] == "done" for s in statuses
        ),
        30,
    )
    model.write_text(model.read_text() + "# edited while the rest was generating\n")
    routes = workspace / "frontend/src/routes.tsx"
    routes.write_text("// my routes comment\n" + routes.read_text())  # re-registered at the end
    result = await generating
    assert result["failed"] == []
    assert model.read_text().endswith("# edited while the rest was generating\n")
    routes_text = routes.read_text()
    assert (
        routes_text.startswith("// my routes comment\n")
        and 'import("./pages/Dashboard")' in routes_text
    )
    await wait_for(
        lambda: any(
            s["path"] == "backend/models/task.py" and s["state"] == "userModified" for s in statuses
        )
    )


async def test_the_watcher_reports_edits_reverts_and_deletions(lsp, generated):
    statuses = statuses_of(lsp)
    page = generated / PAGE
    page.write_text(ORIGINAL + "// edit\n")
    await wait_for(
        lambda: statuses and statuses[-1] == {**statuses[-1], "path": PAGE, "state": "userModified"}
    )
    page.write_text(ORIGINAL)  # back to what StepForge wrote
    await wait_for(lambda: statuses[-1]["path"] == PAGE and statuses[-1]["state"] == "done")
    temporary = page.with_name(".Dashboard.tsx.swp")  # an editor's write-and-rename save
    temporary.write_text(ORIGINAL + "// renamed over\n")
    os.replace(temporary, page)
    await wait_for(lambda: statuses[-1]["path"] == PAGE and statuses[-1]["state"] == "userModified")
    page.unlink()
    await wait_for(lambda: statuses[-1]["path"] == PAGE and statuses[-1]["state"] == "deleted")
    state = json.loads((generated / ".stepforge" / "state.json").read_text())
    assert state["files"][PAGE]["state"] == "deleted"  # persisted, not only announced


async def test_plan_edits_are_validated_registered_and_generated(lsp, generated, responder):
    plan_path = generated / ".stepforge" / "plan.json"
    good = json.loads(plan_path.read_text())
    plan_path.write_text("{ this is not json")
    await wait_for(lambda: any("last valid plan" in m.message for m in lsp.messages))
    status = await request(lsp, "stepforge/status", {})
    assert (
        status["planError"] and status["planPresent"] and len(status["files"]) == 24
    )  # old plan kept

    report = "frontend/src/pages/Reports.tsx"
    responder.app.files[report] = (
        "export default function Reports() {\n  return <h1>Reports</h1>;\n}\n"
    )
    good["files"]["frontend"].append(report)
    good["implementation_order"][-1]["files"].append(report)
    good["routes"].append(
        {"path": "/reports", "component": "Reports", "icon": "FileBarChart", "label": "Reports"}
    )
    plan_path.write_text(json.dumps(good, indent=2))
    routes = generated / "frontend/src/routes.tsx"
    await wait_for(lambda: '"/reports"' in routes.read_text())
    status = await request(lsp, "stepforge/status", {})
    assert status.get("planError") is None and status["planChanges"]["added"] == [report]
    result = await request(lsp, "stepforge/generate", {})
    assert result["written"] == [report]
    assert 'import("./pages/Reports")' in routes.read_text()


# --- the CLI -------------------------------------------------------------------------------------


def test_cli_regenerate_exit_codes(fake_groq, responder, workspace):
    responder.overrides[PAGE] = regenerated
    env = daemon_env(fake_groq)
    assert run_cli("plan", REQUEST, "--workspace", str(workspace), env=env).returncode == 0
    assert run_cli("generate", "--workspace", str(workspace), env=env).returncode == 0
    page = workspace / PAGE
    page.write_text(page.read_text() + "// far away note\n")
    merged = run_cli("regenerate", PAGE, "--workspace", str(workspace), "-i", "sort it", env=env)
    assert merged.returncode == 0 and "merged with your edits" in merged.stdout
    page.write_text(page.read_text().replace("Dashboard (sorted)", "Board"))
    responder.overrides[PAGE] = lambda r: ORIGINAL.replace(
        "<h1>Dashboard</h1>", "<h1>Dashboard v2</h1>"
    )
    before = page.read_bytes()
    conflict = run_cli("regenerate", PAGE, "--workspace", str(workspace), "--json", env=env)
    assert conflict.returncode == 4 and page.read_bytes() == before
    conflict_id = json.loads(conflict.stdout)["conflictId"]
    settled = run_cli(
        "resolve", conflict_id, "--workspace", str(workspace), "--choice", "generated", env=env
    )
    assert settled.returncode == 0 and "Dashboard v2" in page.read_text()
