"""The command line as a newcomer meets it: bad input, read-only folders and misconfiguration are
refused before any work, in the command line's own terms (flags and environment variables, never
an editor's settings, pydantic's wording or a traceback)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from protocol import methods
from protocol.errors import ErrorCode
from server.client import DaemonClient, DaemonError
from tests.conftest import REPO, base_env, daemon_env, run_cli
from tests.fake_groq import FakeGroq, Latency

TRACEBACK = "Traceback (most recent call last)"


def read_only_cli(
    folder: Path, *args: str, env: dict[str, str], cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """The CLI with `folder` mounted read-only (a private mount namespace: root's rights do not
    get round a read-only file system, as they would round chmod)."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare is not installed")
    script = 'mount --bind -o ro "$1" "$1" || exit 97; shift; exec "$@"'
    done = subprocess.run(
        [
            "unshare",
            "-m",
            "sh",
            "-c",
            script,
            "sh",
            str(folder),
            sys.executable,
            "-m",
            "server",
            *args,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd or REPO,
    )
    if done.returncode == 97:
        pytest.skip("cannot mount a read-only folder here (needs root)")
    return done


def test_a_blank_request_is_refused_like_an_empty_one(fake_groq, workspace):
    for request in ("", "   \n\t "):
        done = run_cli("plan", request, "--workspace", str(workspace), env=daemon_env(fake_groq))
        assert done.returncode == 2
        assert "the request is empty" in done.stderr and 'stepforge plan "' in done.stderr
    assert fake_groq.served == [] and not (workspace / ".stepforge").exists()


def test_a_long_request_comes_from_a_file_within_the_documented_limit(fake_groq, workspace):
    request = workspace.parent / "request.txt"
    request.write_text("x" * 10_001, encoding="utf-8")
    done = run_cli(
        "plan", "--request-file", str(request), "-w", str(workspace), env=daemon_env(fake_groq)
    )
    assert done.returncode == 2 and "10,001 characters" in done.stderr and "10,000" in done.stderr
    request.write_text("a task manager\n" + "with projects and a dashboard. " * 300, "utf-8")
    done = run_cli(
        "plan", "--request-file", str(request), "-w", str(workspace), env=daemon_env(fake_groq)
    )
    assert done.returncode == 0, done.stderr
    assert "with projects and a dashboard." in fake_groq.served[0].prompt


def test_read_only_folders_are_refused_before_any_work(fake_groq, tmp_path):
    env = daemon_env(fake_groq)
    frozen = tmp_path / "frozen"
    (frozen / ".stepforge").mkdir(parents=True)
    for args in (
        ("plan", "a task manager", "-w", str(frozen)),
        ("change", "add a favorites page", "-w", str(frozen)),
        ("generate", "-w", str(frozen)),
    ):
        done = read_only_cli(frozen, *args, env=env)
        assert done.returncode == 1, done.stderr
        assert f"cannot write to {frozen}" in done.stderr, done.stderr
        assert TRACEBACK not in done.stderr and ".stepforge-" not in done.stderr
    done = read_only_cli(frozen, "new", "a task manager", "--parent", str(frozen), env=env)
    assert done.returncode == 2 and f"cannot write to {frozen}" in done.stderr, done.stderr
    assert TRACEBACK not in done.stderr
    assert fake_groq.served == []  # no LLM call was spent on any of them


def test_folders_that_are_not_folders_are_named_as_what_they_are(fake_groq, tmp_path):
    env = daemon_env(fake_groq)
    a_file = tmp_path / "notes.txt"
    a_file.write_text("hello")
    done = run_cli("status", "--workspace", str(a_file), env=env)
    assert done.returncode == 2 and "is a file, not a folder" in done.stderr
    assert "mkdir" not in done.stderr
    done = run_cli("new", "a task manager", "--parent", str(tmp_path / "missing"), env=env)
    assert done.returncode == 2 and "mkdir -p" in done.stderr
    assert "--parent" not in done.stderr  # it was passed: no advice to pass it


def test_the_workspace_defaults_to_the_project_around_the_current_folder(fake_groq, workspace):
    env = daemon_env(fake_groq)
    assert run_cli("plan", "a task manager", "-w", str(workspace), env=env).returncode == 0
    inside = workspace / "frontend" / "src"
    done = run_cli("status", "--json", env=env, cwd=inside)
    assert done.returncode == 0, done.stderr
    status = json.loads(done.stdout)
    assert status["projectName"] == "task-manager"
    table = run_cli("status", env=env, cwd=inside)  # piped: every path whole, never cut short
    longest = max((entry["path"] for entry in status["files"]), key=len)
    assert len(longest) > 30 and longest in table.stdout and "…" not in table.stdout


def test_cli_errors_name_flags_and_variables(fake_groq: FakeGroq, workspace):
    done = run_cli(
        "generate", "--repair-rounds", "99", "-w", str(workspace), env=daemon_env(fake_groq)
    )
    assert done.returncode == 2 and "--repair-rounds" in done.stderr, done.stderr
    assert "repairRounds" not in done.stderr and "Invalid params" not in done.stderr

    done = run_cli(
        "status", "-w", str(workspace), env=daemon_env(fake_groq, STEPFORGE_CONCURRENCY="abc")
    )
    assert "STEPFORGE_CONCURRENCY='abc'" in done.stderr and "option concurrency" not in done.stderr

    done = run_cli("plan", "a task manager", "-w", str(workspace), env=base_env())
    assert done.returncode == 3 and "GROQ_API_KEY is not set" in done.stderr
    assert "initializationOptions" not in done.stderr

    wrong_path = {**fake_groq.env(), "GROQ_BASE_URL": fake_groq.base_url + "/api"}
    done = run_cli("plan", "a task manager", "-w", str(workspace), env=base_env(**wrong_path))
    assert done.returncode == 3 and "GROQ_BASE_URL" in done.stderr, done.stderr
    assert "STEPFORGE_MODEL" not in done.stderr  # the URL is wrong, not the model


def test_ctrl_c_during_generate_exits_130_quietly(fake_groq, workspace):
    """Ctrl-C reaches the whole foreground process group: the CLI and its daemon."""
    env = daemon_env(fake_groq)
    assert run_cli("plan", "a task manager", "-w", str(workspace), env=env).returncode == 0
    fake_groq.latency.tokens_per_second = 50  # slow enough to be interrupted mid-run
    process = subprocess.Popen(
        [sys.executable, "-m", "server", "generate", "-w", str(workspace)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        start_new_session=True,
        # As a terminal's foreground job has it: a shell without job control starts background
        # jobs (a CI script's `&`, say) with SIGINT ignored, and the CLI would inherit that.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 240  # a loaded machine starts the daemon slowly
    while not any(s.file_path for s in fake_groq.served) and process.poll() is None:
        assert time.monotonic() < deadline, "generate asked for no file in 240 s"
        time.sleep(0.2)
    assert process.poll() is None, process.communicate()  # still generating: interrupt it
    os.killpg(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130
    assert TRACEBACK not in stderr and "InvalidStateError" not in stderr
    assert stderr.rstrip().endswith("stepforge: interrupted")


async def test_errors_answered_to_a_client_leave_no_traceback_in_the_daemon_log(
    fake_groq, workspace
):
    client = DaemonClient(workspace, env=daemon_env(fake_groq, STEPFORGE_LOG_LEVEL="INFO"))
    async with client:
        with pytest.raises(DaemonError, match="plan"):
            await client.request(methods.GENERATE, {})
    log = "\n".join(client.stderr_tail)
    assert TRACEBACK not in log and "Exception occurred" not in log, log


MODEL = "backend/models/project.py"  # the plan's first step: it can be generated alone


def first_line(text: str, line: str) -> str:
    return "\n".join([line, *text.split("\n")[1:]])


def test_a_conflict_can_be_seen_and_settled_from_the_cli(fake_groq, responder, workspace):
    env = daemon_env(fake_groq)
    original = responder.app.files[MODEL]
    assert run_cli("plan", "a task manager", "-w", str(workspace), env=env).returncode == 0
    generated = run_cli(
        "generate", "--only", MODEL, "--no-repair", "-w", str(workspace), env=env, timeout=600
    )
    assert (workspace / MODEL).read_text() == original, generated.stderr
    (workspace / MODEL).write_text(first_line(original, '"""My own project model."""'))
    responder.overrides[MODEL] = lambda _: first_line(original, '"""Project model, v2."""')
    conflict = run_cli("regenerate", MODEL, "-w", str(workspace), "--json", env=env)
    assert conflict.returncode == 4, conflict.stderr
    conflict_id = json.loads(conflict.stdout)["conflictId"]

    listed = run_cli("conflicts", "-w", str(workspace), env=env)
    assert listed.returncode == 0 and f"{conflict_id}  {MODEL}" in listed.stdout
    shown = run_cli("conflict", "show", conflict_id, "-w", str(workspace), env=env)
    assert shown.returncode == 0, shown.stderr
    mine, _, proposal = shown.stdout.partition("StepForge's proposal")
    assert f"-{original.splitlines()[0]}" in mine and '+"""My own project model.' in mine
    assert "v2" not in mine
    assert '+"""Project model, v2.' in proposal and "My own" not in proposal

    merged = run_cli("resolve", conflict_id, "--choice", "merged", "-w", str(workspace), env=env)
    assert merged.returncode == 2 and "--content-file" in merged.stderr
    assert "My own project model" in (workspace / MODEL).read_text()  # nothing settled


async def test_a_cancel_from_the_progress_ui_ends_the_progress_as_cancelled(lsp, fake_groq):
    fake_groq.latency = Latency(first_token_seconds=30.0)
    token = "ui-cancel"
    lsp.progress_reports.setdefault(token, [])
    plan = asyncio.wrap_future(
        lsp.protocol.send_request(
            "stepforge/plan", {"request": "a task manager", "workDoneToken": token}
        )
    )
    await asyncio.sleep(0.5)
    lsp.protocol.notify(
        "window/workDoneProgress/cancel", types.WorkDoneProgressCancelParams(token=token)
    )
    with pytest.raises(JsonRpcException) as caught:
        await asyncio.wait_for(plan, 5)
    assert caught.value.code == ErrorCode.REQUEST_CANCELLED
    await asyncio.sleep(0.2)
    end = lsp.progress_reports[token][-1]
    assert isinstance(end, types.WorkDoneProgressEnd) and end.message == "Cancelled"


async def test_results_carry_every_documented_field(lsp, workspace):
    status = await asyncio.wrap_future(lsp.protocol.send_request("stepforge/status", {}))
    assert status["planError"] is None and status["projectName"] is None  # present, null
    assert status["planPresent"] is False and status["files"] == []
