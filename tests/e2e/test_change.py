"""Changing a generated app with a request, end to end through the `stepforge` command and the
real daemon: only the touched files are asked for, edits are merged or left in conflict, owned
files removed and edited ones kept, dry runs change nothing, invalid deltas are refused, undo
reverts what the user left alone, and a killed change resumes."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, daemon_env, run_cli
from tests.fake_groq import AppResponder, Latency, ScriptedApp
from tests.fake_groq.changes import (
    DELTA,
    MODIFICATIONS,
    NEW_FILES,
    REQUEST,
    favorites_responder,
    modified,
)

pytestmark = pytest.mark.slow
APP = ScriptedApp.fixture()
TOUCHED = {*NEW_FILES, *MODIFICATIONS}


@pytest.fixture
def responder() -> AppResponder:
    return favorites_responder(AppResponder(ScriptedApp.fixture()))


def change(fake, workspace: Path, *args: str, timeout: float = 600):
    done = run_cli(
        "change",
        REQUEST,
        "--workspace",
        str(workspace),
        "--json",
        *args,
        env=daemon_env(fake),
        timeout=timeout,
    )
    return done, json.loads(done.stdout) if done.stdout.strip() else None


def tree(workspace: Path) -> dict[str, str]:
    return {
        p.relative_to(workspace).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(workspace.rglob("*"))
        if p.is_file() and "node_modules" not in p.parts and "__pycache__" not in p.parts
    }


def test_a_change_touches_only_what_it_must(fake_groq, generated, responder):
    done, result = change(fake_groq, generated, "--no-repair")
    assert done.returncode == 0, done.stderr
    assert set(result["written"]) == TOUCHED and result["merged"] == []
    assert result["delta"]["summary"] == DELTA["summary"]
    # One call for the delta, one per touched file, nothing else asked again.
    assert responder.delta_calls == 1
    assert responder.calls_by_path == dict.fromkeys(TOUCHED, 1)
    for path, content in NEW_FILES.items():
        assert (generated / path).read_text() == content
    for path in MODIFICATIONS:
        assert (generated / path).read_text() == modified(path, APP.files[path])
    # Each modified file was asked with its instructions and its current text.
    prompts = {s.file_path: s.prompt for s in fake_groq.served if s.file_path}
    assert "add `favorite: bool = False` to Task" in prompts["backend/models/task.py"]
    assert "The current version of `backend/models/task.py`" in prompts["backend/models/task.py"]
    # Routes and routers registered, the plan updated, the change recorded.
    assert '"/favorites"' in (generated / "frontend/src/routes.tsx").read_text()
    assert "routers.favorites" in (generated / "backend/router_registry.py").read_text()
    plan = json.loads((generated / ".stepforge/plan.json").read_text())
    assert "frontend/src/pages/Favorites.tsx" in [
        f if isinstance(f, str) else f["path"] for f in plan["files"]["frontend"]
    ]
    assert {
        "method": "GET",
        "path": "/api/favorites",
        "description": "List favorite tasks",
    } in plan["api_endpoints"]
    assert (generated / ".stepforge/plan.previous.json").exists()
    history = json.loads(
        run_cli(
            "history", "--workspace", str(generated), "--json", env=daemon_env(fake_groq)
        ).stdout
    )
    # History lists every StepForge commit (plan, generate, change): one change among them.
    [entry] = [e for e in history["entries"] if e["kind"] == "change"]
    assert entry["status"] == "applied" and entry["request"] == REQUEST
    assert entry["files"]["backend/routers/favorites.py"] == "added"


def test_the_delta_call_sees_outlines_not_whole_files(fake_groq, generated):
    done, _ = change(fake_groq, generated, "--dry-run")
    assert done.returncode == 0
    [delta_call] = [s for s in fake_groq.served if "change planner" in s.prompt]
    body = APP.files["backend/services/task_store.py"]
    assert "def create_task" in delta_call.prompt  # its outline
    assert body not in delta_call.prompt  # not its text


def test_a_dry_run_changes_nothing(fake_groq, generated):
    before = tree(generated)
    done, result = change(fake_groq, generated, "--dry-run")
    assert done.returncode == 0 and result["dryRun"] is True
    assert result["delta"]["add_files"][0]["path"] == "backend/routers/favorites.py"
    assert tree(generated) == before


def test_an_edit_far_from_the_change_is_merged(fake_groq, generated):
    model = generated / "backend/models/task.py"
    model.write_text("# my note\n" + model.read_text())
    done, result = change(fake_groq, generated, "--no-repair")
    assert done.returncode == 0, done.stderr
    assert result["merged"] == ["backend/models/task.py"]
    text = model.read_text()
    assert text.startswith("# my note\n") and "favorite: bool = False" in text


def test_an_overlapping_edit_is_a_conflict_and_the_file_is_untouched(fake_groq, generated):
    model = generated / "backend/models/task.py"
    anchor = MODIFICATIONS["backend/models/task.py"][0]  # the line the change edits
    mine = model.read_text().replace(anchor, anchor + "    starred: bool = False\n")
    assert mine != model.read_text()
    model.write_text(mine)
    done, result = change(fake_groq, generated, "--no-repair")
    assert done.returncode == 4
    assert [c["path"] for c in result["conflicts"]] == ["backend/models/task.py"]
    assert model.read_text() == mine


def test_removals_delete_owned_files_and_keep_edited_ones(fake_groq, generated, responder):
    removal = {
        "summary": "drop the settings page and the bar chart",
        "remove_files": ["frontend/src/pages/Settings.tsx", "frontend/src/components/BarChart.tsx"],
        "remove_routes": ["/settings"],
        "modify_files": [
            {"path": "frontend/src/pages/Dashboard.tsx", "change": "drop the bar chart"}
        ],
    }
    responder.delta_replies[:] = [json.dumps(removal)]
    dashboard = APP.files["frontend/src/pages/Dashboard.tsx"]
    without_chart = "\n".join(x for x in dashboard.splitlines() if "BarChart" not in x) + "\n"
    responder.overrides["frontend/src/pages/Dashboard.tsx"] = lambda r: (
        without_chart if "Instructions for this version" in r.prompt else dashboard
    )
    chart = generated / "frontend/src/components/BarChart.tsx"
    chart.write_text(chart.read_text() + "// my tweak\n")
    done, result = change(fake_groq, generated, "--no-repair")
    assert done.returncode == 0, done.stderr
    assert result["removed"] == ["frontend/src/pages/Settings.tsx"]
    assert [k["path"] for k in result["kept"]] == ["frontend/src/components/BarChart.tsx"]
    assert not (generated / "frontend/src/pages/Settings.tsx").exists()
    assert chart.read_text().endswith("// my tweak\n")
    assert '"/settings"' not in (generated / "frontend/src/routes.tsx").read_text()


def test_an_invalid_delta_is_reasked_then_refused(fake_groq, generated, responder):
    bad = {"summary": "x", "modify_files": [{"path": "frontend/src/pages/Nope.tsx", "change": "y"}]}
    outside = {"summary": "x", "add_files": [{"path": ".vscode/settings.json"}]}
    responder.delta_replies[:] = [json.dumps(bad), "not json", json.dumps(outside)]
    before = tree(generated)
    done, _ = change(fake_groq, generated)
    assert done.returncode == 3
    assert "did not produce a valid change in 3 attempts" in done.stderr
    assert "'.vscode/settings.json'" in done.stderr
    calls = [s for s in fake_groq.served if "change planner" in s.prompt]
    assert (
        len(calls) == 3 and "'frontend/src/pages/Nope.tsx' is not a planned file" in calls[1].prompt
    )
    assert tree(generated) == before


def test_undo_reverts_what_the_user_left_alone(fake_groq, generated):
    before = {path: (generated / path).read_text() for path in MODIFICATIONS}
    done, _ = change(fake_groq, generated, "--no-repair")
    assert done.returncode == 0
    types_file = generated / "frontend/src/types/task.ts"
    types_file.write_text(types_file.read_text() + "// mine\n")
    env = daemon_env(fake_groq)
    undone = run_cli("undo", "--workspace", str(generated), "--json", env=env)
    assert undone.returncode == 0, undone.stderr
    result = json.loads(undone.stdout)
    # Undo is a revert with git's merge: the edited file goes back too, the user's line kept.
    # (and it reverts every path of the change's commit: the plan and the registries as well).
    assert result["kept"] == [] and TOUCHED <= set(result["reverted"])
    for path in NEW_FILES:
        assert not (generated / path).exists()
    for path, text in before.items():
        if path != "frontend/src/types/task.ts":
            assert (generated / path).read_text() == text
    assert types_file.read_text() == before["frontend/src/types/task.ts"] + "// mine\n"
    plan = json.loads((generated / ".stepforge/plan.json").read_text())
    assert all(r["path"] != "/favorites" for r in plan["routes"])
    assert '"/favorites"' not in (generated / "frontend/src/routes.tsx").read_text()
    status = json.loads(run_cli("status", "--workspace", str(generated), "--json", env=env).stdout)
    assert {f["path"] for f in status["files"]} == set(APP.files)
    again = run_cli("undo", "--workspace", str(generated), env=env)
    assert again.returncode == 2 and "no change to undo" in again.stderr


def test_a_change_killed_midway_resumes_with_generate(fake_groq, generated, responder):
    fake_groq.latency = Latency(first_token_seconds=0.3, tokens_per_second=300)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "server",
            "change",
            REQUEST,
            "--workspace",
            str(generated),
            "--concurrency",
            "1",
            "--no-repair",
        ],
        env=daemon_env(fake_groq),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    state_path = generated / ".stepforge/state.json"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        time.sleep(0.1)
        records = json.loads(state_path.read_text())["files"]
        done = [
            p
            for p in TOUCHED
            if records.get(p, {}).get("state") == "done" and not records[p].get("instructions")
        ]
        if len(done) >= 2 and any(records.get(p, {}).get("state") == "generating" for p in TOUCHED):
            break
    holder = (generated / ".stepforge/lock.holder").read_text()
    os.kill(int(holder.rsplit(" ", 1)[1]), signal.SIGKILL)
    process.communicate(timeout=30)
    history = json.loads((generated / ".stepforge/history/0001.json").read_text())
    assert history["status"] == "applying"

    fake_groq.latency = Latency()
    resumed = run_cli(
        "generate", "--workspace", str(generated), "--json", env=daemon_env(fake_groq)
    )
    assert resumed.returncode == 0, resumed.stderr
    for path, content in NEW_FILES.items():
        assert (generated / path).read_text() == content
    for path in MODIFICATIONS:
        assert (generated / path).read_text() == modified(path, APP.files[path])
    untouched = set(APP.files) - TOUCHED
    assert all(responder.calls_by_path.get(p, 0) == 0 for p in untouched)
    history = json.loads((generated / ".stepforge/history/0001.json").read_text())
    assert history["status"] == "applied"
