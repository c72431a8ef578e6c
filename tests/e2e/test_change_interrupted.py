"""A daemon SIGKILLed in the middle of a change (issue 16, item 5): no file that was complete is
left cut off, StepForge knows its own partial answer for what it is, and `undo` puts every file and
the plan back byte for byte and clears what the change left pending, so that a following
`generate` changes nothing."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import anyio
import pytest

from server.change.undo import is_changes_output
from server.generation.streaming import StreamingPreview
from server.workspace.history import ChangeEntry, TouchedFile
from server.workspace.state import FileRecord
from tests.conftest import REPO, copy_app, daemon_env, run_cli
from tests.fake_groq import AppResponder, Latency, ScriptedApp
from tests.fake_groq.changes import (
    MODIFICATIONS,
    NEW_FILES,
    REQUEST,
    favorites_responder,
    modified,
)

APP = ScriptedApp.fixture()
TOUCHED = {*NEW_FILES, *MODIFICATIONS}


def test_a_complete_file_is_never_shown_half_written(tmp_path):
    """The streaming preview of a file that exists writes nothing until the final write."""
    target = tmp_path / "a.py"
    target.write_text("x = 1\n")
    recorded: list[str] = []

    async def on_partial(digest: str) -> None:
        recorded.append(digest)

    async def stream(preview: StreamingPreview) -> None:
        await preview.show("y = ")

    existing = StreamingPreview(target, enabled=False, original=b"x = 1\n", on_partial=on_partial)
    anyio.run(stream, existing)
    assert target.read_text() == "x = 1\n" and not recorded
    # A new file does fill in, and its bytes were recorded as StepForge's before they landed.
    fresh = tmp_path / "b.py"
    anyio.run(stream, StreamingPreview(fresh, enabled=True, original=None, on_partial=on_partial))
    assert fresh.read_text() == "y = "
    assert recorded == [hashlib.sha256(b"y = ").hexdigest()]
    assert not list(tmp_path.glob(".*.stepforge-tmp"))  # each partial write was a rename


def test_undo_reverts_only_bytes_that_are_the_changes_own():
    entry = ChangeEntry(id=1, request="r", delta={}, previous_plan={}, status="applying")
    touched = TouchedFile(action="modified", before="old")
    record = FileRecord(written_hash="new", partial_hashes=["p1", "p2"])
    # Not reached, completed, or StepForge's partial answer (either of the last two writes).
    for disk in ("old", "new", "p1", "p2"):
        assert is_changes_output(entry, touched, disk, record)
    assert not is_changes_output(entry, touched, "edited", record)  # the user's
    assert not is_changes_output(entry, touched, None, record)  # deleted by the user
    assert is_changes_output(entry, TouchedFile(action="removed", before="old"), None, None)
    added = TouchedFile(action="added")
    assert is_changes_output(entry, added, None, None)
    assert not is_changes_output(entry, added, "p1", None)  # no record: nothing known as ours
    # A change that finished: only what it left counts (a settled conflict included).
    entry.status, touched.after = "applied", "settled"
    assert is_changes_output(entry, touched, "settled", record)
    assert not is_changes_output(entry, touched, "old", record)


@pytest.fixture
def responder() -> AppResponder:
    return favorites_responder(AppResponder(ScriptedApp.fixture()))


def app_tree(workspace: Path) -> dict[str, bytes]:
    """Every file of the app as bytes (StepForge's own folder and the repository aside: the undo
    is a commit)."""
    return {
        p.relative_to(workspace).as_posix(): p.read_bytes()
        for p in sorted(workspace.rglob("*"))
        if p.is_file() and not {".stepforge", ".git", "node_modules", "__pycache__"} & set(p.parts)
    }


def kill_mid_stream(fake_groq, app: Path) -> dict[str, object]:
    """Run `stepforge change` and SIGKILL its daemon while a file that already existed is being
    streamed and a new file shows a partial answer on disk. Returns what was seen at the kill."""
    first_token = 0.2
    fake_groq.latency = Latency(first_token_seconds=first_token, tokens_per_second=50)
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "server", "change", REQUEST),
            *("--workspace", str(app), "--concurrency", "2", "--no-repair"),
        ],
        env=daemon_env(fake_groq),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    seen: dict[str, object] = {}
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.05)
            now = time.monotonic()
            streaming = [
                s.file_path
                for s in list(fake_groq.served)
                if s.file_path in MODIFICATIONS
                and not s.finished
                and now - s.started > first_token + 0.6
            ]
            partial = {
                p: (app / p).read_text()
                for p in NEW_FILES
                if (app / p).exists() and (app / p).read_text() != NEW_FILES[p]
            }
            if streaming and partial:
                seen = {"streaming": streaming[0], "partial": partial}
                break
        holder = (app / ".stepforge/lock.holder").read_text()
        os.kill(int(holder.rsplit(" ", 1)[1]), signal.SIGKILL)
    finally:
        process.communicate(timeout=30)
        fake_groq.latency = Latency()
    assert seen, "the change was never caught streaming an existing and a new file at once"
    return seen


@pytest.mark.slow
def test_undo_of_a_change_killed_mid_file_puts_every_byte_back(
    fake_groq, generated_once, workspace
):
    app = copy_app(generated_once, workspace)
    before = app_tree(app)
    plan_before = (app / ".stepforge/plan.json").read_bytes()
    seen = kill_mid_stream(fake_groq, app)

    # The existing file being streamed is still whole: its complete version, not a cut-off one.
    streaming = str(seen["streaming"])
    assert (app / streaming).read_bytes() == before[streaming]
    for path in MODIFICATIONS:  # each is its old or its new version, never anything between
        text = (app / path).read_text()
        assert text in (before[path].decode(), modified(path, before[path].decode()))
    # The new file's partial answer is one the state knows as StepForge's own.
    state = json.loads((app / ".stepforge/state.json").read_text())
    for path, text in dict(seen["partial"]).items():  # type: ignore[call-overload]
        assert NEW_FILES[path].startswith(text)
        on_disk = hashlib.sha256((app / path).read_bytes()).hexdigest()
        assert on_disk in state["files"][path]["partial_hashes"]
    history = json.loads((app / ".stepforge/history/0001.json").read_text())
    assert history["status"] == "applying"

    env = daemon_env(fake_groq)
    undone = run_cli("undo", "--workspace", str(app), "--json", env=env)
    assert undone.returncode == 0, undone.stderr
    result = json.loads(undone.stdout)
    assert result["kept"] == [] and set(result["reverted"]) == TOUCHED
    assert app_tree(app) == before  # every file, byte for byte (the registries included)
    assert (app / ".stepforge/plan.json").read_bytes() == plan_before
    state = json.loads((app / ".stepforge/state.json").read_text())
    assert not any(record.get("instructions") for record in state["files"].values())
    assert not set(NEW_FILES) & set(state["files"])
    history = json.loads((app / ".stepforge/history/0001.json").read_text())
    assert history["status"] == "undone"

    # Nothing is left pending: generate asks for no file and changes nothing.
    asked_before = len(fake_groq.served)
    again = run_cli(
        "generate", "--workspace", str(app), "--no-repair", "--json", env=env, timeout=600
    )
    assert again.returncode == 0, again.stderr
    assert [s.file_path for s in fake_groq.served[asked_before:] if s.file_path] == []
    assert app_tree(app) == before
