"""Generating every planned file, end to end: a real daemon over stdio, the real groq SDK, the fake
Groq server with its faults, real files. Through LSP (pytest-lsp) and the `stepforge` command."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from protocol.errors import ErrorCode
from protocol.models import FileCounts
from server.config import load_settings
from server.llm.tokens import estimate_tokens
from tests.conftest import REPO, daemon_env, run_cli, start_lsp
from tests.fake_groq import AppResponder, FakeGroq, Latency, ScriptedApp

APP = ScriptedApp.fixture()
REQUEST = "a task manager with a dashboard and charts"


def request(client, method, params, msg_id=None):
    return asyncio.wrap_future(client.protocol.send_request(method, params, msg_id=msg_id))


def collect_file_status(client, into: list[dict] | None = None) -> list[dict]:
    seen: list[dict] = [] if into is None else into
    client.feature("stepforge/fileStatus")(lambda params: seen.append(params))
    return seen


def assert_app_complete(workspace: Path, app: ScriptedApp = APP) -> None:
    for path, content in app.files.items():
        assert (workspace / path).read_text() == content, path
    state = json.loads((workspace / ".stepforge" / "state.json").read_text())
    assert {record["state"] for record in state["files"].values()} == {"done"}


def plan_with_cli(fake: FakeGroq, workspace: Path, **env: str) -> None:
    done = run_cli("plan", REQUEST, "--workspace", str(workspace), env=daemon_env(fake, **env))
    assert done.returncode == 0, done.stderr


async def plan_and_generate(
    env: dict[str, str], workspace: Path, params: dict | None = None, on_client=None
) -> dict:
    """A daemon of its own (for settings in its environment): plan, then generate."""
    client = await start_lsp(env, workspace)
    if on_client is not None:
        on_client(client)
    try:
        await request(client, "stepforge/plan", {"request": REQUEST})
        return await request(client, "stepforge/generate", params or {})
    finally:
        await client.shutdown_session()


# --- through LSP -------------------------------------------------------------------------------


async def test_generate_the_whole_app_with_progress_and_file_status(lsp, workspace, fake_groq):
    statuses = collect_file_status(lsp)
    await request(lsp, "stepforge/plan", {"request": REQUEST})
    token = "gen-token"
    lsp.progress_reports.setdefault(token, [])
    result = await request(lsp, "stepforge/generate", {"workDoneToken": token})

    assert (
        sorted(result["written"]) == sorted(APP.files)
        and result["failed"] == []
        and result["skipped"] == []
    )
    assert result["usage"]["calls"] == 25 and result["usage"]["completionTokens"] > 0
    assert_app_complete(workspace)
    # The prompts share their first part byte for byte: the provider serves most from its cache,
    # and the usage says so, as the provider counted it.
    file_calls = [s for s in fake_groq.served if s.file_path]
    assert result["usage"]["cachedTokens"] == sum(s.cached_tokens for s in file_calls)
    assert result["usage"]["promptTokens"] == sum(s.prompt_tokens for s in file_calls)
    assert result["usage"]["cachedTokens"] > 0.6 * result["usage"]["promptTokens"]
    assert all(s.prompt.rstrip().endswith(f"Write the file `{s.file_path}`.") for s in file_calls)

    reports = lsp.progress_reports[token]
    assert type(reports[0]).__name__ == "WorkDoneProgressBegin" and reports[-1].message == "Done"
    messages = [getattr(r, "message", "") or "" for r in reports]
    assert "25/25 files" in messages[-2] or any(m.startswith("25/25") for m in messages)
    assert any(m.endswith("written frontend/src/pages/Dashboard.tsx") for m in messages)
    assert not any(" unchanged " in m for m in messages)  # new files, streamed or not
    percentages = [r.percentage for r in reports if getattr(r, "percentage", None) is not None]
    assert percentages == sorted(percentages) and percentages[-1] == 100
    by_path: dict[str, list[str]] = {}
    for item in statuses:
        by_path.setdefault(item["path"], []).append(item["state"])
    assert all(states[-2:] == ["generating", "done"] for states in by_path.values())
    assert len(by_path) == 25

    status = await request(lsp, "stepforge/status", {})
    assert status["counts"] == FileCounts(done=25).to_wire() and status["generating"] is False
    assert all(entry["usage"]["completionTokens"] > 0 for entry in status["files"])
    assert sum(entry["usage"]["cachedTokens"] for entry in status["files"]) == sum(
        s.cached_tokens for s in file_calls
    )
    assert status["usage"]["calls"] == 26  # the plan and 25 files
    routes = (workspace / "frontend/src/routes.tsx").read_text()
    assert 'import("./pages/Dashboard")' in routes and "PendingPage" not in routes
    assert "routers.tasks import router" in (workspace / "backend/router_registry.py").read_text()

    again = await request(lsp, "stepforge/generate", {})
    assert again["written"] == [] and again["usage"]["calls"] == 0  # nothing left to do


async def test_dependencies_are_done_before_their_dependents_start(lsp, fake_groq):
    fake_groq.latency = Latency(first_token_seconds=0.05)
    await request(lsp, "stepforge/plan", {"request": REQUEST})
    await request(lsp, "stepforge/generate", {"concurrency": 4})
    file_calls = [s for s in fake_groq.served if "file writer" in s.prompt]
    started = {}
    finished = {}
    for served in file_calls:
        path = served.file_path
        started[path], finished[path] = served.started, served.finished
    assert finished["backend/models/task.py"] <= started["backend/services/task_store.py"]
    assert max(finished[p] for p in started if "/components/" in p) <= min(
        started[p] for p in started if "/pages/" in p
    )
    assert fake_groq.max_in_flight > 1  # files of one step ran side by side


async def test_faults_are_recovered(fake_groq, workspace):
    def for_file(path):
        return lambda req: req.file_path == path

    fake_groq.add_fault("429", for_file("backend/models/task.py"), retry_after=0.2)
    fake_groq.add_fault("500", for_file("backend/routers/tasks.py"), times=2)
    fake_groq.add_fault("drop", for_file("frontend/src/pages/Dashboard.tsx"))
    fake_groq.add_fault("stall", for_file("frontend/src/hooks/useTasks.ts"), stall_seconds=4)
    fake_groq.add_fault("length", for_file("frontend/src/components/TaskCard.tsx"), fraction=0.4)
    # A small output limit cuts every long file: each is continued and stitched (the plan, with
    # its data models, takes more than the default four continuations at this limit).
    env = daemon_env(fake_groq, STEPFORGE_MAX_OUTPUT_TOKENS="256", STEPFORGE_CONTINUATIONS="8")
    result = await plan_and_generate(env, workspace)
    assert result["failed"] == [] and len(result["written"]) == 25
    assert_app_complete(workspace)
    faults = {s.fault for s in fake_groq.served}
    assert {"429", "500", "drop", "stall", "length"} <= faults
    continued = [s for s in fake_groq.served if "Your answer was cut off" in s.prompt]
    assert len(continued) >= 5


async def test_a_file_that_keeps_failing_is_failed_and_its_dependents_skipped(
    lsp, responder, workspace
):
    responder.overrides["backend/models/project.py"] = "class Project(:\n"
    await request(lsp, "stepforge/plan", {"request": REQUEST})
    result = await request(lsp, "stepforge/generate", {})
    assert [f["path"] for f in result["failed"]] == ["backend/models/project.py"]
    assert "Python syntax error" in result["failed"][0]["reason"]
    assert responder.calls_by_path["backend/models/project.py"] == 3  # bounded retries
    # Every call is counted, the failed file's three included.
    assert result["usage"]["calls"] == sum(responder.calls_by_path.values())
    skipped = {s["path"]: s["reason"] for s in result["skipped"]}
    assert skipped["backend/services/stats.py"] == "dependency failed: backend/models/project.py"
    assert "frontend/src/pages/Dashboard.tsx" in skipped  # transitively
    assert "backend/models/task.py" in result["written"]  # the rest carried on
    assert not (workspace / "backend/models/project.py").exists()  # no broken file left behind

    del responder.overrides["backend/models/project.py"]
    calls_before = dict(responder.calls_by_path)
    again = await request(lsp, "stepforge/generate", {})
    assert again["failed"] == [] and "backend/models/project.py" in again["written"]
    assert (
        responder.calls_by_path["backend/models/task.py"]
        == calls_before["backend/models/task.py"]
        == 1
    )
    assert_app_complete(workspace)


async def test_cancel_stops_promptly_and_a_later_generate_resumes(
    lsp, fake_groq, responder, workspace
):
    await request(lsp, "stepforge/plan", {"request": REQUEST})
    fake_groq.latency = Latency(first_token_seconds=0.1, tokens_per_second=300)
    msg_id = str(uuid.uuid4())
    generating = request(lsp, "stepforge/generate", {}, msg_id=msg_id)
    state_path = workspace / ".stepforge" / "state.json"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        states = [r["state"] for r in json.loads(state_path.read_text())["files"].values()]
        if states.count("done") >= 4:
            break
    started = time.monotonic()
    lsp.protocol.notify("$/cancelRequest", types.CancelParams(id=msg_id))
    with pytest.raises(JsonRpcException) as caught:
        await generating
    assert caught.value.code == ErrorCode.REQUEST_CANCELLED
    assert time.monotonic() - started < 3
    await asyncio.sleep(0.3)
    records = json.loads(state_path.read_text())["files"]
    assert "generating" not in {r["state"] for r in records.values()}
    done_before = {p for p, r in records.items() if r["state"] == "done"}
    for path, record in records.items():  # unfinished files were not left half-written
        if record["state"] != "done":
            assert not (workspace / path).exists(), path
    fake_groq.latency = Latency()
    result = await request(lsp, "stepforge/generate", {})
    assert set(result["written"]) == set(APP.files) - done_before
    assert all(responder.calls_by_path[p] == 1 for p in done_before)
    assert_app_complete(workspace)


async def test_status_is_prompt_while_generating_and_files_fill_in_on_disk(
    lsp, fake_groq, workspace
):
    await request(lsp, "stepforge/plan", {"request": REQUEST})
    fake_groq.latency = Latency(first_token_seconds=0.05, tokens_per_second=300, chunk_tokens=4)
    generating = asyncio.ensure_future(request(lsp, "stepforge/generate", {"concurrency": 4}))
    target = workspace / "backend/services/task_store.py"
    final = APP.files["backend/services/task_store.py"]
    partials: set[str] = set()
    latencies = []
    said_generating = 0
    while not generating.done():
        started = time.monotonic()
        status = await request(lsp, "stepforge/status", {})
        latencies.append(time.monotonic() - started)
        said_generating += status["generating"]
        if target.exists():
            text = target.read_text()
            if text != final:
                partials.add(text)
        await asyncio.sleep(0.05)
    await generating
    assert any(0 < len(p) < len(final) and final.startswith(p) for p in partials), (
        "never seen filling in"
    )
    assert said_generating > 5
    assert max(latencies) < 0.5
    assert_app_complete(workspace)


async def test_prompts_stay_within_a_small_context_window(fake_groq, workspace):
    env = daemon_env(fake_groq, STEPFORGE_CONTEXT_WINDOW="4096", STEPFORGE_MAX_OUTPUT_TOKENS="1024")
    result = await plan_and_generate(env, workspace)
    assert result["failed"] == []
    settings, _ = load_settings({"contextWindow": 4096, "maxOutputTokens": 1024}, {})
    file_calls = [s for s in fake_groq.served if s.file_path]
    assert len(file_calls) == 25
    # What the provider counts stays within the budget (the byte estimate is calibrated by it).
    assert max(s.prompt_tokens for s in file_calls) <= settings.prompt_budget
    assert max(estimate_tokens(s.prompt) for s in file_calls) > settings.prompt_budget * 0.9
    assert any("(outline)" in s.prompt for s in file_calls)


async def test_single_shot_writes_what_it_can_and_the_rest_file_by_file(
    fake_groq, responder, workspace
):
    env = daemon_env(fake_groq, STEPFORGE_MAX_OUTPUT_TOKENS="1500")  # cuts the whole-app answer
    statuses: list[dict] = []
    result = await plan_and_generate(
        env,
        workspace,
        {"singleShot": True},
        on_client=lambda client: collect_file_status(client, statuses),
    )
    assert result["failed"] == [] and sorted(result["written"]) == sorted(APP.files)
    assert_app_complete(workspace)
    single = [s for s in fake_groq.served if "app writer" in s.prompt]
    per_file = [s for s in fake_groq.served if "file writer" in s.prompt]
    assert len(single) == 1 and 0 < len(per_file) < 25
    assert sum(responder.calls_by_path.values()) == len(per_file)
    written_by_single_shot = set(APP.files) - set(responder.calls_by_path)
    assert written_by_single_shot and all(
        any(s["path"] == p and s["state"] == "done" for s in statuses)
        for p in written_by_single_shot
    )


async def test_rate_limits_slow_the_run_down_without_failures():
    app = ScriptedApp.synthetic(files=12, steps=3, min_tokens=150, max_tokens=300)
    with FakeGroq(AppResponder(app), tpm_limit=3000, tpm_window_seconds=1.0) as fake:
        workspace = (
            Path(os.environ.get("TMPDIR", "/tmp")) / f"stepforge-rate-{uuid.uuid4().hex[:8]}"
        )
        workspace.mkdir()
        client = await start_lsp(daemon_env(fake), workspace)
        try:
            await request(client, "stepforge/plan", {"request": "a benchmark"})
            result = await request(client, "stepforge/generate", {"concurrency": 6})
        finally:
            await client.shutdown_session()
        assert result["failed"] == [] and len(result["written"]) == 12
        assert_app_complete(workspace, app)
        file_calls = [s for s in fake.served if "file writer" in s.prompt]
        limited = fake.count(status=429)
        assert limited <= 4, f"{limited} 429s for {len(file_calls)} calls: the pacer did not pace"


# --- through the CLI ---------------------------------------------------------------------------


def test_cli_generate_and_status(fake_groq, workspace):
    plan_with_cli(fake_groq, workspace)
    done = run_cli(
        "generate", "--workspace", str(workspace), "--concurrency", "3", env=daemon_env(fake_groq)
    )
    assert done.returncode == 0, done.stderr
    assert "Generated 25 files, 0 failed, 0 skipped" in done.stdout
    assert_app_complete(workspace)
    status = json.loads(
        run_cli("status", "--workspace", str(workspace), "--json", env=daemon_env(fake_groq)).stdout
    )
    assert status["counts"] == FileCounts(done=25).to_wire() and status["usage"]["calls"] == 26


def test_cli_generate_exit_code_reflects_failures(fake_groq, responder, workspace):
    plan_with_cli(fake_groq, workspace)
    responder.overrides["frontend/src/types/task.ts"] = "export interface Task {"
    done = run_cli("generate", "--workspace", str(workspace), "--json", env=daemon_env(fake_groq))
    assert done.returncode == 1
    result = json.loads(done.stdout)
    assert result["failed"][0]["path"] == "frontend/src/types/task.ts"
    only = run_cli(
        "generate",
        "--workspace",
        str(workspace),
        "--only",
        "backend/nope.py",
        env=daemon_env(fake_groq),
    )
    assert only.returncode == 1 and "Not in the plan: backend/nope.py" in only.stderr


def test_a_plan_written_by_hand_gets_the_template_around_it(fake_groq, workspace):
    (workspace / ".stepforge").mkdir()
    (workspace / ".stepforge" / "plan.json").write_text(json.dumps(APP.plan))
    done = run_cli("generate", "--workspace", str(workspace), env=daemon_env(fake_groq))
    assert done.returncode == 0, done.stdout + done.stderr
    assert_app_complete(workspace)
    for template_file in ("frontend/package.json", "frontend/src/main.tsx", "backend/main.py"):
        assert (workspace / template_file).is_file(), template_file


def _daemon_pid(workspace: Path) -> int | None:
    holder_file = workspace / ".stepforge" / "lock.holder"
    holder = holder_file.read_text() if holder_file.exists() else ""
    return int(holder.rsplit(" ", 1)[1]) if "pid" in holder else None


def test_sigkill_mid_run_then_resume_completes_without_regenerating_done_files(
    fake_groq, responder, workspace
):
    plan_with_cli(fake_groq, workspace)
    fake_groq.latency = Latency(first_token_seconds=0.1, tokens_per_second=400)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "server",
            "generate",
            "--workspace",
            str(workspace),
            "--concurrency",
            "2",
        ],
        env=daemon_env(fake_groq),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    state_path = workspace / ".stepforge" / "state.json"
    deadline = time.monotonic() + 60
    pid = None
    while time.monotonic() < deadline:
        time.sleep(0.1)
        records = json.loads(state_path.read_text())["files"]
        pid = pid or _daemon_pid(workspace)
        if sum(r["state"] == "done" for r in records.values()) >= 6 and any(
            r["state"] == "generating" for r in records.values()
        ):
            break
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    process.communicate(timeout=30)
    assert process.returncode != 0
    records = json.loads(state_path.read_text())["files"]
    done_before = {p for p, r in records.items() if r["state"] == "done"}
    interrupted = {p for p, r in records.items() if r["state"] == "generating"}
    assert done_before and interrupted
    status = json.loads(
        run_cli("status", "--workspace", str(workspace), "--json", env=daemon_env(fake_groq)).stdout
    )
    assert status["generating"] is False  # nobody holds the lock: those files are pending again
    assert {e["path"] for e in status["files"] if e["state"] == "pending"} >= interrupted

    fake_groq.latency = Latency()
    done = run_cli("generate", "--workspace", str(workspace), env=daemon_env(fake_groq))
    assert done.returncode == 0, done.stderr
    assert_app_complete(workspace)
    assert all(responder.calls_by_path[p] == 1 for p in done_before), (
        "a done file was generated twice"
    )
    # An interrupted file is asked again once; it may not have been asked at all before the kill
    # (its state says `generating` a moment before its request goes out).
    assert all(responder.calls_by_path[p] in (1, 2) for p in interrupted)


def test_one_writer_per_workspace_while_status_still_reads(fake_groq, workspace):
    plan_with_cli(fake_groq, workspace)
    fake_groq.latency = Latency(first_token_seconds=0.3, tokens_per_second=300)
    process = subprocess.Popen(
        [sys.executable, "-m", "server", "generate", "--workspace", str(workspace)],
        env=daemon_env(fake_groq),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while _daemon_pid(workspace) is None and time.monotonic() < deadline:
            time.sleep(0.1)
        second = run_cli("generate", "--workspace", str(workspace), env=daemon_env(fake_groq))
        assert second.returncode == 1
        assert "busy" in second.stderr and "stepforge generate in pid" in second.stderr
        status = run_cli(
            "status", "--workspace", str(workspace), "--json", env=daemon_env(fake_groq)
        )
        assert status.returncode == 0 and json.loads(status.stdout)["generating"] is True
    finally:
        process.terminate()
        process.communicate(timeout=30)


def test_new_creates_a_fresh_folder_named_after_the_plan(fake_groq, tmp_path):
    done = run_cli("new", REQUEST, "--parent", str(tmp_path), env=daemon_env(fake_groq))
    assert done.returncode == 0, done.stderr
    assert f"Project: {tmp_path / 'task-manager'}" in done.stdout
    assert_app_complete(tmp_path / "task-manager")
    again = run_cli("new", REQUEST, "--parent", str(tmp_path), "--json", env=daemon_env(fake_groq))
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout[again.stdout.index("{") :])["folder"] == str(
        tmp_path / "task-manager-2"
    )
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".stepforge-new-")]


async def test_no_write_leaves_the_workspace_through_a_symlink(lsp, workspace, tmp_path):
    await request(lsp, "stepforge/plan", {"request": REQUEST})
    outside = tmp_path / "outside"
    outside.mkdir()
    (workspace / "backend" / "models").symlink_to(outside)
    result = await request(lsp, "stepforge/generate", {})
    failed = {f["path"]: f["reason"] for f in result["failed"]}
    assert set(failed) == {
        "backend/models/__init__.py",
        "backend/models/task.py",
        "backend/models/project.py",
    }
    assert all("leads outside the workspace" in reason for reason in failed.values())
    assert list(outside.iterdir()) == []
    skipped = {s["path"]: s["reason"] for s in result["skipped"]}
    assert skipped["backend/services/stats.py"].startswith("dependency failed: backend/models/")
