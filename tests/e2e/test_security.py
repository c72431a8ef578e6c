"""The attacks of the security review, each reproduced for real (real symlinks, real daemons, real
files) and each refused: nothing outside the workspace is read, written, truncated or deleted, an
LLM's plan cannot place files where tools would run them, and bad input gets a clear error."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest
from pygls.exceptions import JsonRpcException

from protocol.errors import ErrorCode
from tests.conftest import daemon_env, run_cli
from tests.fake_groq import ScriptedApp

APP = ScriptedApp.fixture()
REQUEST = "a task manager with a dashboard and charts"


def request(client, method, params):
    return asyncio.wrap_future(client.protocol.send_request(method, params))


def plan_with_cli(fake, workspace: Path) -> None:
    done = run_cli("plan", REQUEST, "--workspace", str(workspace), env=daemon_env(fake))
    assert done.returncode == 0, done.stderr


def generate_with_cli(fake, workspace: Path, *args: str):
    return run_cli("generate", "--workspace", str(workspace), *args, env=daemon_env(fake))


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder of the user's that is not part of the workspace, with a file that must survive."""
    folder = tmp_path / "home"
    folder.mkdir()
    (folder / ".bashrc").write_text("export PATH=$HOME/bin:$PATH\n")
    (folder / "ab").mkdir()
    (folder / "ab" / "notes.txt").write_text("private notes\n")
    return folder


def untouched(outside: Path) -> bool:
    return (outside / ".bashrc").read_text() == "export PATH=$HOME/bin:$PATH\n" and (
        outside / "ab" / "notes.txt"
    ).read_text() == "private notes\n"


# --- .stepforge is never followed through a symlink ------------------------------------------


def test_a_symlinked_baselines_folder_is_refused_and_nothing_outside_is_deleted(
    fake_groq, workspace, outside
):
    plan_with_cli(fake_groq, workspace)
    baselines = workspace / ".stepforge" / "baselines"
    if baselines.exists():
        import shutil

        shutil.rmtree(baselines)
    baselines.symlink_to(outside)
    done = generate_with_cli(fake_groq, workspace)
    assert done.returncode != 0
    assert ".stepforge/baselines is a symlink" in done.stderr
    assert untouched(outside) and sorted(p.name for p in outside.iterdir()) == [".bashrc", "ab"]


def test_a_symlinked_lock_is_refused_and_its_target_never_truncated(fake_groq, workspace, outside):
    plan_with_cli(fake_groq, workspace)
    lock = workspace / ".stepforge" / "lock"
    lock.unlink(missing_ok=True)
    lock.symlink_to(outside / ".bashrc")
    done = generate_with_cli(fake_groq, workspace)
    assert done.returncode != 0 and ".stepforge/lock is a symlink" in done.stderr
    assert untouched(outside)


def test_a_hard_linked_lock_is_refused_too(fake_groq, workspace, outside):
    plan_with_cli(fake_groq, workspace)
    lock = workspace / ".stepforge" / "lock"
    lock.unlink(missing_ok=True)
    os.link(outside / ".bashrc", lock)
    done = generate_with_cli(fake_groq, workspace)
    assert done.returncode != 0 and ".stepforge/lock" in done.stderr
    assert untouched(outside)


def test_a_symlinked_stepforge_folder_is_refused(fake_groq, workspace, outside):
    (workspace / ".stepforge").symlink_to(outside)
    done = run_cli("plan", REQUEST, "--workspace", str(workspace), env=daemon_env(fake_groq))
    assert done.returncode != 0 and ".stepforge is a symlink" in done.stderr
    assert untouched(outside) and not (outside / "plan.json").exists()


def test_a_symlinked_prompt_override_is_not_read(fake_groq, workspace, outside):
    (workspace / ".stepforge" / "prompts").mkdir(parents=True)
    (workspace / ".stepforge" / "prompts" / "plan.md").symlink_to(outside / "ab" / "notes.txt")
    done = run_cli("plan", REQUEST, "--workspace", str(workspace), env=daemon_env(fake_groq))
    assert done.returncode != 0 and "prompts/plan.md is a symlink" in done.stderr
    assert all("private notes" not in served.prompt for served in fake_groq.served)


def test_a_symlinked_plan_is_a_clear_plan_error(fake_groq, workspace, outside):
    plan_with_cli(fake_groq, workspace)
    plan = workspace / ".stepforge" / "plan.json"
    (outside / "plan.json").write_text(plan.read_text())
    plan.unlink()
    plan.symlink_to(outside / "plan.json")
    done = generate_with_cli(fake_groq, workspace)
    assert done.returncode == 3 and ".stepforge/plan.json is a symlink" in done.stderr


async def test_a_base_hash_that_is_a_path_is_never_opened(lsp, fake_groq, workspace, outside):
    plan_with_cli(fake_groq, workspace)
    state_path = workspace / ".stepforge" / "state.json"
    state = json.loads(state_path.read_text())
    state["conflicts"] = {
        "c0ffee": {
            "path": "frontend/src/pages/Tasks.tsx",
            "base_hash": f"../../../{outside.name}/ab/notes.txt",
            "generated_hash": str(outside / "ab" / "notes.txt"),
            "created": 1.0,
        }
    }
    state_path.write_text(json.dumps(state))
    details = await request(lsp, "stepforge/conflictDetails", {"conflictId": "c0ffee"})
    assert "private notes" not in json.dumps(details)
    assert details["base"] == "" and details["generated"] == ""


# --- planned paths are confined --------------------------------------------------------------

DANGEROUS = [
    ".vscode/settings.json",
    ".github/workflows/build.yml",
    ".envrc",
    "frontend/.npmrc",
    "backend/sitecustomize.py",
    "backend/evil.pth",
    "backend/conftest.py",
    "frontend/src/" + "x" * 300 + ".ts",
    "backend/user-profile.py",
    "frontend/src/pages/CON.tsx",
]


@pytest.mark.parametrize("path", DANGEROUS)
def test_a_plan_naming_a_dangerous_path_is_reasked_then_refused(
    fake_groq, responder, workspace, path
):
    bad = json.loads(json.dumps(APP.plan))
    bad["files"]["backend"].append(path)
    bad["implementation_order"][0]["files"].append(path)
    responder.plan_replies = [json.dumps(bad)] * 3
    done = run_cli("plan", REQUEST, "--workspace", str(workspace), env=daemon_env(fake_groq))
    assert done.returncode == 3
    assert repr(path)[:60] in done.stderr
    plan_calls = [s for s in fake_groq.served if "StepForge's planner" in s.prompt]
    assert len(plan_calls) == 3 and repr(path)[:60] in plan_calls[1].prompt
    assert not (workspace / path.split("/")[0]).exists() or path.startswith(
        ("frontend/", "backend/")
    )
    assert not (workspace / path).exists() if len(path) < 200 else True
    assert not (workspace / ".stepforge" / "plan.json").exists()


def test_an_edited_plan_with_a_dangerous_path_is_refused_before_anything_is_written(
    fake_groq, workspace
):
    plan_with_cli(fake_groq, workspace)
    plan_path = workspace / ".stepforge" / "plan.json"
    plan = json.loads(plan_path.read_text())
    plan["files"]["backend"].append(".vscode/settings.json")
    plan["implementation_order"][0]["files"].append(".vscode/settings.json")
    plan_path.write_text(json.dumps(plan))
    done = generate_with_cli(fake_groq, workspace)
    assert done.returncode == 3 and "'.vscode/settings.json'" in done.stderr
    assert not (workspace / ".vscode").exists()
    assert not (workspace / "backend" / "models" / "task.py").exists()


# --- bad input -------------------------------------------------------------------------------


def test_one_files_os_error_fails_that_file_and_the_run_goes_on(fake_groq, workspace):
    plan_with_cli(fake_groq, workspace)
    blocked = "frontend/src/pages/Settings.tsx"
    (workspace / blocked).mkdir(parents=True)  # a folder where the file should go
    done = generate_with_cli(fake_groq, workspace, "--json")
    assert done.returncode == 1
    result = json.loads(done.stdout)
    assert [f["path"] for f in result["failed"]] == [blocked]
    assert "could not be written" in result["failed"][0]["reason"]
    assert len(result["written"]) == len(APP.files) - 1


def test_a_users_binary_file_at_a_planned_path_is_kept(fake_groq, workspace):
    plan_with_cli(fake_groq, workspace)
    binary = "frontend/src/pages/Settings.tsx"
    (workspace / binary).parent.mkdir(parents=True, exist_ok=True)
    (workspace / binary).write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00binary")
    done = generate_with_cli(fake_groq, workspace, "--json")
    result = json.loads(done.stdout)
    assert done.returncode == 4 and [c["path"] for c in result["conflicts"]] == [binary]
    assert (workspace / binary).read_bytes().startswith(b"\x89PNG")
    assert len(result["written"]) == len(APP.files) - 1


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'{"files": {"frontend": ["\xff\xfe"]}}', "is not UTF-8 text"),
        (b"[" * 100_000 + b"]" * 100_000, "nests too deeply"),
        (b'{"files": ' + b"[" * 50 + b"]" * 50 + b"}", "deeper than 32 levels"),
    ],
)
async def test_an_unreadable_plan_is_a_clear_plan_error_naming_the_file(
    lsp, workspace, content, expected
):
    (workspace / ".stepforge").mkdir()
    (workspace / ".stepforge" / "plan.json").write_bytes(content)
    with pytest.raises(JsonRpcException) as caught:
        await request(lsp, "stepforge/generate", {})
    assert caught.value.code == ErrorCode.PLAN_INVALID
    assert str(workspace / ".stepforge" / "plan.json") in caught.value.message
    assert expected in caught.value.message


async def test_a_request_over_a_megabyte_is_refused(lsp, fake_groq):
    with pytest.raises(JsonRpcException) as caught:
        await request(lsp, "stepforge/plan", {"request": "x" * 2_000_000})
    assert caught.value.code == -32602 and "at most 1 MB" in caught.value.message
    with pytest.raises(JsonRpcException) as caught:
        await request(lsp, "stepforge/plan", {"request": "an app " * 5000})
    assert caught.value.code == -32602 and "request" in caught.value.message
    assert fake_groq.served == []


@pytest.mark.parametrize("params", [[], None])
async def test_empty_array_and_null_params_are_empty_params(lsp, params):
    status = await request(lsp, "stepforge/status", params)
    assert status["planPresent"] is False
