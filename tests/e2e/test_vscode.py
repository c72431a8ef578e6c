"""The extension in real VS Code (code-server 4.139, VS Code's web build), driven through Chromium:
every user flow, from the first run to a change of the app, against the real daemon and the
project's test LLM. Failures leave a screenshot and the extension's log in artifacts/vscode/."""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.conftest import daemon_env, require_docker, run_cli
from tests.e2e.code_server import CodeServer, open_vscode, require_code_server
from tests.fake_groq import AppResponder, Latency, ScriptedApp
from tests.fake_groq.changes import REQUEST as CHANGE_REQUEST
from tests.fake_groq.changes import favorites_responder
from tests.fake_groq.defects import DEFECTS, defective_responder

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
REQUEST = "a task manager with a dashboard and charts"
PAGE = "frontend/src/pages/Dashboard.tsx"


@pytest.fixture
def vscode_env(fake_groq) -> dict[str, str]:
    """The daemon's environment without a key: in VS Code the key comes from SecretStorage."""
    env = daemon_env(fake_groq)
    env.pop("GROQ_API_KEY", None)
    return env


@pytest.fixture
def server(tmp_path: Path, vscode_env) -> Iterator[CodeServer]:
    require_code_server()
    instance = CodeServer.running(tmp_path / "code-server", vscode_env)
    yield instance
    instance.stop()


def generated(fake, workspace: Path, *generate_args: str) -> Path:
    env = daemon_env(fake)
    for args in (("plan", REQUEST), ("generate", *generate_args)):
        done = run_cli(*args, "--workspace", str(workspace), env=env, timeout=600)
        assert done.returncode in (0, 1), done.stderr
    return workspace


def set_key(workbench, key: str) -> None:
    workbench.command("StepForge: Set API Key")
    workbench.answer(key)
    workbench.notification("StepForge: API key saved")


def test_first_run_key_plan_generate_and_the_live_tree(server, fake_groq, workspace):
    with open_vscode(server, workspace, "first-run") as workbench:
        page = workbench.page
        view = workbench.files_view()
        # No plan yet: the welcome view's buttons.
        expect(view.get_by_role("button", name="Set API Key")).to_be_visible()
        expect(view.get_by_role("button", name="Plan a New App")).to_be_visible()

        # Without a key the daemon says what to set.
        workbench.command("StepForge: Plan a New App")
        workbench.answer(REQUEST)
        workbench.notification("GROQ_API_KEY is not set")
        workbench.clear_notifications()

        set_key(workbench, "gsk-test-key")
        # The key is in SecretStorage only: not in settings, not in the workspace.
        for path in [*server.user_data.rglob("settings.json"), *workspace.rglob("*")]:
            if path.is_file():
                assert "gsk-test-key" not in path.read_text(errors="replace"), path

        # Plan from the welcome view's button, with progress.
        fake_groq.latency = Latency(first_token_seconds=1.0)
        view.get_by_role("button", name="Plan a New App").click()
        workbench.answer(REQUEST)
        workbench.notification("StepForge: planning")
        workbench.notification("StepForge planned task-manager: 25 files")
        expect(view.locator(".monaco-list-row", has_text="Step 1: model")).to_be_visible()
        expect(page.locator(".pane-header", has_text="StepForge Files")).to_contain_text(
            "0/25 done"
        )
        workbench.clear_notifications()

        # Generate, then Cancel from the progress notification: the daemon stops.
        fake_groq.latency = Latency(first_token_seconds=0.5, tokens_per_second=200)
        workbench.command("StepForge: Generate Project")
        workbench.click_in_notification("StepForge: generating", "Cancel", timeout=60_000)
        workbench.notification("StepForge: cancelled")
        status = json.loads(
            run_cli(
                "status", "--workspace", str(workspace), "--json", env=daemon_env(fake_groq)
            ).stdout
        )
        assert status["generating"] is False and status["counts"].get("done", 0) < 25
        workbench.clear_notifications()

        # Generate to the end: the tree's states and tally follow live.
        fake_groq.latency = Latency(first_token_seconds=0.2, tokens_per_second=1500)
        workbench.command("StepForge: Generate Project")
        header = page.locator(".pane-header", has_text="StepForge Files")
        seen = set()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            tally = header.inner_text()
            seen.add(re.search(r"(\d+)/25 done", tally).group(1) if "/25 done" in tally else None)
            if "25/25 done" in tally:
                break
            time.sleep(0.2)
        assert "25/25 done" in header.inner_text()
        assert len(seen - {None}) >= 3  # it moved on its own, several times
        expect(view.locator(".monaco-list-row", has_text="task.py").first).to_contain_text("done")
        workbench.notification("StepForge wrote 25 files")


def test_regenerate_merges_an_edit_and_a_conflict_is_resolved_in_a_diff(
    server, fake_groq, responder, workspace
):
    generated(fake_groq, workspace)
    original = (workspace / PAGE).read_text()
    responder.overrides[PAGE] = lambda request: (
        original.replace("<h1>Dashboard</h1>", "<h1>Dashboard (sorted)</h1>")
        if "Instructions for this version" in request.prompt
        else original
    )
    with open_vscode(server, workspace, "regenerate") as workbench:
        set_key(workbench, "gsk-test-key")
        page = workbench.page
        # A user edit far from the change, saved on disk: merged.
        (workspace / PAGE).write_text(original + "// my note\n")
        workbench.open_file(PAGE)
        page.locator(".editor-actions [aria-label='Regenerate This File']").click()
        workbench.answer("sort it")
        workbench.notification("regenerated and merged with your edits")
        text = (workspace / PAGE).read_text()
        assert "// my note" in text and "Dashboard (sorted)" in text
        workbench.clear_notifications()

        # An overlapping edit: a conflict, the user's file untouched, a diff, a choice.
        responder.overrides[PAGE] = lambda request: original.replace(
            "<h1>Dashboard</h1>", "<h1>Overview</h1>"
        )
        mine = text.replace("<h1>Dashboard (sorted)</h1>", "<h1>My dashboard</h1>")
        (workspace / PAGE).write_text(mine)
        page.locator(".editor-actions [aria-label='Regenerate This File']").click()
        workbench.answer("rename it")
        workbench.click_in_notification("conflicts with your edits", "Resolve Conflict")
        expect(page.locator(".tab", has_text=re.compile("yours ↔ generated"))).to_be_visible()
        workbench.pick("Take generated")
        workbench.notification("replaced by the generated version")
        assert "<h1>Overview</h1>" in (workspace / PAGE).read_text()


def test_preview_from_the_status_bar(server, fake_groq, workspace):
    require_docker()
    generated(fake_groq, workspace)
    with open_vscode(server, workspace, "preview") as workbench:
        set_key(workbench, "gsk-test-key")
        page = workbench.page
        workbench.command("StepForge: Start Preview")
        workbench.notification("Preview running", timeout=300_000)
        item = page.locator(".statusbar-item", has_text="127.0.0.1:")
        expect(item).to_be_visible()
        frontend = "http://" + re.search(r"(127\.0\.0\.1:\d+)", item.inner_text()).group(1)
        assert httpx.get(frontend + "/", timeout=10).status_code == 200
        workbench.clear_notifications()
        item.click()  # opens the preview in the Simple Browser, at an address this browser reaches
        expect(page.locator(".tab", has_text="Simple Browser")).to_be_visible()
        workbench.command("StepForge: Stop Preview")
        workbench.notification("Stopped the preview")
        expect(item).to_be_hidden()
        with pytest.raises(httpx.HTTPError):
            httpx.get(frontend + "/", timeout=3)


@pytest.fixture
def responder() -> AppResponder:
    return AppResponder(ScriptedApp.fixture())


def open_quick_fix(page: Page, title: str) -> None:
    """Ctrl+. at the cursor, then the fix. The menu waits for every code action provider, VS Code's
    own TypeScript server included, which can be slow while it loads a project on a busy machine;
    a request VS Code cancelled meanwhile leaves no menu, so ask again."""
    fix = page.locator(".action-widget .monaco-list-row", has_text=title)
    for _ in range(4):
        page.keyboard.press("Control+.")
        try:
            fix.wait_for(timeout=30_000)
            break
        except PlaywrightTimeoutError:
            page.keyboard.press("Escape")
    fix.click(timeout=5_000)


def test_problems_and_the_regenerate_to_fix_quick_fix(server, fake_groq, workspace):
    require_docker()
    fake_groq.responder = defective_responder()
    generated(fake_groq, workspace, "--no-repair")
    card = next(d for d in DEFECTS if d.code == "TS2339")
    with open_vscode(server, workspace, "problems") as workbench:
        set_key(workbench, "gsk-test-key")
        page = workbench.page
        workbench.command("StepForge: Check Project")
        workbench.notification(r"StepForge: 4 problem\(s\)", timeout=300_000)
        workbench.command("View: Focus Problems (Errors, Warnings, Infos)")
        markers = page.locator(".markers-panel")
        expect(markers).to_contain_text("Property 'name' does not exist on type 'Task'")
        expect(markers).to_contain_text("`removeTask` is not exported")
        workbench.clear_notifications()

        workbench.open_file(card.path)
        # The cursor goes onto the diagnostic itself: code actions get the problems at the cursor.
        source_line = (workspace / card.path).read_text().splitlines()[card.line - 1]
        column = source_line.index("task.name") + len("task.") + 2
        workbench.command("Go to Line/Column...")
        workbench.answer(f":{card.line}:{column}")  # the go-to-line box keeps its ":" prefix
        expect(
            page.locator(".statusbar-item", has_text=f"Ln {card.line}, Col {column}")
        ).to_be_visible()
        open_quick_fix(page, "Regenerate to fix")
        workbench.notification(f"{Path(card.path).name} was regenerated", timeout=120_000)
        assert "{task.title}" in (workspace / card.path).read_text()
        expect(markers).not_to_contain_text("Property 'name' does not exist", timeout=120_000)
        expect(markers).to_contain_text("`ProjectCreate` is not defined")  # the others stay


def test_change_the_app_with_the_delta_confirmed_then_undo(server, fake_groq, workspace):
    fake_groq.responder = favorites_responder(AppResponder(ScriptedApp.fixture()))
    generated(fake_groq, workspace)
    with open_vscode(server, workspace, "change") as workbench:
        set_key(workbench, "gsk-test-key")
        workbench.command("StepForge: Change the App…")
        workbench.answer(CHANGE_REQUEST)
        dialog = workbench.dialog()
        expect(dialog).to_contain_text("+ frontend/src/pages/Favorites.tsx")
        expect(dialog).to_contain_text("~ backend/models/task.py")
        assert not (
            workspace / "frontend/src/pages/Favorites.tsx"
        ).exists()  # not before it is confirmed
        dialog.get_by_role("button", name="Apply").click()
        workbench.notification(r"StepForge changed 6 file\(s\)", timeout=300_000)
        assert (workspace / "frontend/src/pages/Favorites.tsx").exists()
        workbench.files_view()
        header = workbench.page.locator(".pane-header", has_text="StepForge Files")
        expect(header).to_contain_text("27/27 done")  # the two new files are in the tree
        workbench.clear_notifications()

        workbench.command("StepForge: Undo Last Change")
        workbench.dialog().get_by_role("button", name="Undo").click()
        workbench.notification("Undid change 1")
        assert not (workspace / "frontend/src/pages/Favorites.tsx").exists()


def test_a_daemon_crash_is_a_notification_and_the_daemon_comes_back(server, fake_groq, workspace):
    generated(fake_groq, workspace)
    with open_vscode(server, workspace, "crash") as workbench:
        view = workbench.files_view()
        # The daemon is up and has answered: the tree shows the plan's steps.
        expect(view.locator(".monaco-list-row", has_text="Step 1: model")).to_be_visible()
        [first] = server.daemon_pids()
        os.kill(first, 9)
        workbench.notification("The StepForge daemon stopped; restarting it")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not [p for p in server.daemon_pids() if p != first]:
            time.sleep(0.2)
        assert [p for p in server.daemon_pids() if p != first]
        workbench.command("StepForge: Show Status")
        workbench.page.locator(".quick-input-widget", has_text="task-manager").wait_for(
            timeout=30_000
        )


def test_a_daemon_that_cannot_start_says_what_to_do(tmp_path, vscode_env, workspace):
    require_code_server()
    broken = CodeServer.running(
        tmp_path / "broken", vscode_env, ["/nonexistent/stepforge", "serve"]
    )
    try:
        with open_vscode(broken, workspace, "cannot-start") as workbench:
            toast = workbench.notification("was not found. Install StepForge")
            expect(toast.get_by_role("button", name="Open Settings")).to_be_visible()
            toast.get_by_role("button", name="Open Settings").click()
            expect(workbench.page.locator(".settings-editor")).to_be_visible()
    finally:
        broken.stop()
