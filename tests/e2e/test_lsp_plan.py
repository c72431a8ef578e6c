"""Planning through a real LSP session over stdio (pytest-lsp), against the fake Groq server."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from protocol.errors import ErrorCode
from tests.conftest import daemon_env, start_lsp
from tests.fake_groq import Latency

REQUEST = "a task manager with a dashboard and charts"


def plan_request(client, params, msg_id=None):
    return asyncio.wrap_future(
        client.protocol.send_request("stepforge/plan", params, msg_id=msg_id)
    )


def kinds(reports):
    return [type(r).__name__ for r in reports]


async def test_initialize_names_the_server_and_its_commands(lsp):
    result = lsp.initialize_result
    assert result.server_info.name == "stepforge" and result.server_info.version
    commands = set(result.capabilities.execute_command_provider.commands)
    assert {"stepforge.plan", "stepforge.status"} <= commands


async def test_plan_with_a_client_token_reports_progress_and_writes_the_plan(
    lsp, workspace: Path, fake_groq
):
    token = "client-token-1"
    lsp.progress_reports.setdefault(token, [])
    result = await plan_request(lsp, {"request": REQUEST, "workDoneToken": token})

    assert result["projectName"] == "task-manager"
    assert result["planPath"] == str(workspace / ".stepforge" / "plan.json")
    stored = json.loads((workspace / ".stepforge" / "plan.json").read_text())
    assert stored == result["plan"] and len(stored["implementation_order"]) == 7
    assert result["usage"]["promptTokens"] > 0 and result["usage"]["calls"] == 1

    reports = lsp.progress_reports[token]
    assert (
        kinds(reports)[0] == "WorkDoneProgressBegin" and kinds(reports)[-1] == "WorkDoneProgressEnd"
    )
    middle = [r for r in reports if isinstance(r, types.WorkDoneProgressReport)]
    assert any("plan" in (r.message or "").lower() for r in middle)
    percentages = [r.percentage for r in middle if r.percentage is not None]
    assert percentages == sorted(percentages) and percentages[-1] >= 90
    assert reports[-1].message == "Done"


async def test_plan_without_a_token_gets_a_server_created_one(lsp):
    await plan_request(lsp, {"request": REQUEST})
    server_tokens = [t for t in lsp.progress_reports if str(t).startswith("stepforge-")]
    assert len(server_tokens) == 1
    assert kinds(lsp.progress_reports[server_tokens[0]])[-1] == "WorkDoneProgressEnd"


async def test_plan_as_a_command(lsp, workspace: Path):
    result = await lsp.workspace_execute_command_async(
        types.ExecuteCommandParams(command="stepforge.plan", arguments=[{"request": REQUEST}])
    )
    assert result["projectName"] == "task-manager"
    status = await lsp.workspace_execute_command_async(
        types.ExecuteCommandParams(command="stepforge.status", arguments=[{}])
    )
    assert status["planPresent"] is True and status["projectName"] == "task-manager"
    assert {entry["state"] for entry in status["files"]} == {"pending"}
    assert len(status["files"]) == 25


async def test_status_is_answered_while_a_plan_is_in_flight(lsp, fake_groq):
    fake_groq.latency = Latency(first_token_seconds=2.0)
    plan = asyncio.ensure_future(plan_request(lsp, {"request": REQUEST}))
    await asyncio.sleep(0.5)
    started = asyncio.get_running_loop().time()
    status = await lsp.protocol.send_request_async("stepforge/status", {})
    assert asyncio.get_running_loop().time() - started < 1.0
    assert not plan.done() and status["planPresent"] is False
    assert (await plan)["projectName"] == "task-manager"


async def test_cancel_request_stops_a_plan_promptly(lsp, fake_groq, workspace: Path):
    fake_groq.latency = Latency(first_token_seconds=30.0)
    token = "cancel-me"
    lsp.progress_reports.setdefault(token, [])
    msg_id = str(uuid.uuid4())
    plan = plan_request(lsp, {"request": REQUEST, "workDoneToken": token}, msg_id=msg_id)
    await asyncio.sleep(0.5)
    started = asyncio.get_running_loop().time()
    lsp.protocol.notify("$/cancelRequest", types.CancelParams(id=msg_id))
    with pytest.raises(JsonRpcException) as caught:
        await plan
    assert caught.value.code == ErrorCode.REQUEST_CANCELLED
    assert asyncio.get_running_loop().time() - started < 2.0
    assert not (workspace / ".stepforge" / "plan.json").exists()
    await asyncio.sleep(0.2)
    assert kinds(lsp.progress_reports[token])[-1] == "WorkDoneProgressEnd"
    # The workspace is free again: a new plan goes through.
    fake_groq.latency = Latency()
    assert (await plan_request(lsp, {"request": REQUEST}))["projectName"]


async def test_cancel_from_the_progress_ui_stops_a_plan(lsp, fake_groq):
    fake_groq.latency = Latency(first_token_seconds=30.0)
    token = "ui-cancel"
    lsp.progress_reports.setdefault(token, [])
    plan = plan_request(lsp, {"request": REQUEST, "workDoneToken": token})
    await asyncio.sleep(0.5)
    lsp.protocol.notify(
        "window/workDoneProgress/cancel", types.WorkDoneProgressCancelParams(token=token)
    )
    with pytest.raises(JsonRpcException) as caught:
        await asyncio.wait_for(plan, 3)
    assert caught.value.code == ErrorCode.REQUEST_CANCELLED


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"request": ""}, "request: the request is empty"),
        ({"request": " \n\t"}, "request: the request is empty"),
        ({}, "request: Field required"),
        ({"request": "x", "worksapce": "/tmp"}, "worksapce: Extra inputs are not permitted"),
    ],
)
async def test_invalid_params_are_a_useful_32602(lsp, params, expected):
    with pytest.raises(JsonRpcException) as caught:
        await asyncio.wait_for(plan_request(lsp, params), 5)
    assert caught.value.code == -32602
    assert expected in caught.value.message


async def test_an_invalid_plan_is_reasked_then_refused_naming_the_problem(
    lsp, responder, fake_groq, workspace: Path
):
    bad = dict(responder.app.plan)
    bad["files"] = {**bad["files"], "backend": [*bad["files"]["backend"], "../x.py"]}
    orphan = dict(responder.app.plan)
    orphan["routes"] = [
        *orphan["routes"],
        {"path": "/reports", "component": "Reports", "icon": "BarChart3", "label": "Reports"},
    ]
    responder.plan_replies = [json.dumps(bad), "not json at all", json.dumps(orphan)]
    with pytest.raises(JsonRpcException) as caught:
        await plan_request(lsp, {"request": REQUEST})
    assert caught.value.code == ErrorCode.PLAN_INVALID
    assert "3 attempts" in caught.value.message and "Reports" in caught.value.message
    plan_calls = [s for s in fake_groq.served if "StepForge's planner" in s.prompt]
    assert len(plan_calls) == 3
    assert "'../x.py'" in plan_calls[1].prompt and "contains '..'" in plan_calls[1].prompt
    assert not (workspace / ".stepforge" / "plan.json").exists()


async def test_one_bad_plan_then_a_good_one_succeeds(lsp, responder):
    responder.plan_replies = ['{"features": []}']
    result = await plan_request(lsp, {"request": REQUEST})
    assert result["attempts"] == 2 and result["usage"]["calls"] == 2


async def test_without_a_root_the_daemon_refuses_instead_of_guessing(fake_groq, tmp_path):
    client = await start_lsp(daemon_env(fake_groq), None)
    try:
        with pytest.raises(JsonRpcException) as caught:
            await plan_request(client, {"request": REQUEST})
        assert caught.value.code == ErrorCode.NO_WORKSPACE
        assert "No workspace" in caught.value.message
        other = tmp_path / "named"
        other.mkdir()
        result = await plan_request(client, {"request": REQUEST, "workspace": str(other)})
        assert result["planPath"].startswith(str(other))
    finally:
        await client.shutdown_session()


async def test_invalid_options_are_shown_and_defaults_used(fake_groq, workspace):
    client = await start_lsp(
        daemon_env(fake_groq), workspace, options={"concurrency": "lots", "model": "test-model"}
    )
    try:
        await asyncio.sleep(0.3)
        assert any("concurrency='lots'" in m.message for m in client.messages)
        await plan_request(client, {"request": REQUEST})
        assert fake_groq.served[-1].model == "test-model"
    finally:
        await client.shutdown_session()


async def test_the_api_key_reaches_no_log_state_or_message(fake_groq, workspace, capfd):
    secret = "gsk-super-secret-key-0123456789"
    fake_groq.api_key = secret
    env = daemon_env(fake_groq, STEPFORGE_LOG_LEVEL="DEBUG")
    client = await start_lsp(env, workspace, options={"apiKey": secret})
    try:
        await plan_request(client, {"request": REQUEST})
        fake_groq.add_fault("401")
        with pytest.raises(JsonRpcException):
            await plan_request(client, {"request": REQUEST})
        texts = [m.message for m in client.log_messages + client.messages]
        texts += [str(r) for reports in client.progress_reports.values() for r in reports]
    finally:
        await client.shutdown_session()
    texts.append(capfd.readouterr().err)
    texts += [
        p.read_text(errors="replace") for p in (workspace / ".stepforge").rglob("*") if p.is_file()
    ]
    assert all(secret not in text for text in texts)


async def test_cancel_reaches_a_plan_started_as_a_command(lsp, fake_groq):
    fake_groq.latency = Latency(first_token_seconds=30.0)
    msg_id = str(uuid.uuid4())
    command = asyncio.wrap_future(
        lsp.protocol.send_request(
            "workspace/executeCommand",
            types.ExecuteCommandParams(command="stepforge.plan", arguments=[{"request": REQUEST}]),
            msg_id=msg_id,
        )
    )
    await asyncio.sleep(0.5)
    lsp.protocol.notify("$/cancelRequest", types.CancelParams(id=msg_id))
    with pytest.raises(JsonRpcException) as caught:
        await asyncio.wait_for(command, 3)
    assert caught.value.code == ErrorCode.REQUEST_CANCELLED
    fake_groq.latency = Latency()
    status = await lsp.protocol.send_request_async("stepforge/status", {})
    assert status["generating"] is False
