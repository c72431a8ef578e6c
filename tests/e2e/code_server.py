"""Real VS Code for the extension's end-to-end tests: code-server (VS Code's web build, from npm,
set up by scripts/setup in .tools/) with the packaged .vsix installed, driven through Debian's
chromium by Playwright. The helpers speak the workbench's language: run a command from the
palette, answer an input box, wait for a notification, click its button."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect, sync_playwright

from server.checks.smoke import CHROMIUM_ARGS
from tests.conftest import REPO

TOOLS = REPO / ".tools"
CODE_SERVER = TOOLS / "code-server" / "node_modules" / ".bin" / "code-server"
NODE24 = TOOLS / "node24" / "bin"
VSIX = REPO / "client-extension" / "stepforge.vsix"
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = REPO / "artifacts" / "vscode"


def require_code_server() -> None:
    missing = [str(p) for p in (CODE_SERVER, VSIX, Path(CHROMIUM)) if not p.exists()]
    if not missing:
        return
    reason = f"real VS Code tests need {', '.join(missing)} (scripts/setup, then npm run package)"
    if os.environ.get("STEPFORGE_REQUIRE_DOCKER") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class CodeServer:
    def __init__(
        self,
        home: Path,
        env: dict[str, str],
        settings: dict[str, object],
        machine_settings: dict[str, object] | None = None,
    ) -> None:
        self.home = home
        self.marker = uuid.uuid4().hex  # in the environment of everything it starts
        self.env = {
            **env,
            "PATH": f"{NODE24}:{env.get('PATH', os.environ['PATH'])}",
            "STEPFORGE_E2E_ID": self.marker,
            "PYTHONPATH": str(REPO),
        }
        self.user_data = home / "user-data"
        self.extensions = home / "extensions"
        (self.user_data / "User").mkdir(parents=True, exist_ok=True)
        (self.user_data / "User" / "settings.json").write_text(
            json.dumps(
                {
                    "workbench.startupEditor": "none",
                    "security.workspace.trust.enabled": False,
                    "telemetry.telemetryLevel": "off",
                    "workbench.tips.enabled": False,
                    "extensions.autoUpdate": False,
                    "update.mode": "none",
                    "files.autoSave": "off",
                    **settings,
                },
                indent=1,
            )
        )
        # Machine-scoped settings (stepforge.serverCommand, ...) apply in a remote window such as
        # code-server's only from the remote machine's settings, not from the user's.
        (self.user_data / "Machine").mkdir(parents=True, exist_ok=True)
        (self.user_data / "Machine" / "settings.json").write_text(
            json.dumps(machine_settings or {}, indent=1)
        )
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @classmethod
    def running(
        cls, home: Path, env: dict[str, str], server_command: list[str] | None = None
    ) -> CodeServer:
        """A started code-server with the .vsix installed, running the daemon of this checkout
        (or `server_command`), set as the machine setting it is."""
        instance = cls(
            home,
            env,
            {},
            {
                "stepforge.serverCommand": server_command
                or [sys.executable, "-m", "server", "serve"]
            },
        )
        instance.install_extension()
        instance.start()
        return instance

    def install_extension(self) -> None:
        done = subprocess.run(
            [
                str(CODE_SERVER),
                "--extensions-dir",
                str(self.extensions),
                "--install-extension",
                str(VSIX),
            ],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert done.returncode == 0, done.stdout + done.stderr

    def start(self) -> None:
        log = open(self.home / "code-server.log", "wb")
        self.process = subprocess.Popen(
            [
                str(CODE_SERVER),
                "--auth",
                "none",
                "--bind-addr",
                f"127.0.0.1:{self.port}",
                "--user-data-dir",
                str(self.user_data),
                "--extensions-dir",
                str(self.extensions),
                "--disable-telemetry",
                "--disable-update-check",
                "--disable-workspace-trust",
            ],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise AssertionError(
            "code-server did not start: " + (self.home / "code-server.log").read_text()[-2000:]
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, 15)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
        for pid in self.daemon_pids():
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass

    def daemon_pids(self) -> list[int]:
        """The StepForge daemons this code-server's extension host started."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes().split(b"\0")
                environ = (entry / "environ").read_bytes()
            except OSError:
                continue
            if b"server" in cmdline and b"serve" in cmdline and self.marker.encode() in environ:
                found.append(int(entry.name))
        return found

    def extension_log(self) -> str:
        """What the extension wrote to its StepForge output channel (persisted by the host)."""
        logs = sorted((self.user_data / "logs").rglob("*StepForge*.log"))
        return "\n".join(p.read_text(errors="replace") for p in logs)


class Workbench:
    """The VS Code window in the browser."""

    def __init__(self, page: Page) -> None:
        self.page = page

    def wait_ready(self) -> None:
        self.page.locator(".monaco-workbench").wait_for(timeout=90_000)
        self.page.locator(".statusbar").wait_for(timeout=60_000)
        # The extension's contributions are read: its view is in the Explorer.
        self.page.locator(".pane-header", has_text="StepForge Files").wait_for(timeout=90_000)

    def command(self, title: str, *, timeout: float = 60.0) -> None:
        """Run a command from the palette by its title (commands of extensions appear once the
        extension host has read them: the palette is opened again until the command shows)."""
        page = self.page
        widget = page.locator(".quick-input-widget")
        deadline = time.monotonic() + timeout
        while True:
            page.keyboard.press("Escape")
            page.keyboard.press("F1")
            try:
                widget.wait_for(state="visible", timeout=5_000)
            except Exception:
                # The keyboard may be inside a webview (the Simple Browser): focus the workbench.
                page.locator(".part.sidebar .composite.title").first.click()
                if time.monotonic() > deadline:
                    raise
                continue
            box = widget.locator("input")
            box.fill(">" + title)
            row = widget.locator(".monaco-list-row", has_text=title).first
            try:
                row.wait_for(timeout=3_000)
            except Exception:
                if time.monotonic() > deadline:
                    raise
                continue
            box.press("Enter")
            return

    def answer(self, text: str, *, timeout: float = 30_000) -> None:
        """Type into the open input box (or quick pick) and accept."""
        widget = self.page.locator(".quick-input-widget")
        widget.wait_for(state="visible", timeout=timeout)
        box = widget.locator("input")
        box.fill(text)
        box.press("Enter")

    def pick(self, label: str, *, timeout: float = 30_000) -> None:
        widget = self.page.locator(".quick-input-widget")
        widget.locator(".monaco-list-row", has_text=label).first.click(timeout=timeout)

    def notification(self, pattern: str, *, timeout: float = 120_000) -> Locator:
        toast = self.page.locator(".notification-toast", has_text=re.compile(pattern))
        toast.first.wait_for(timeout=timeout)
        return toast.first

    def click_in_notification(self, pattern: str, button: str, *, timeout: float = 120_000) -> None:
        toast = self.notification(pattern, timeout=timeout)
        toast.get_by_role("button", name=button).click()

    def clear_notifications(self) -> None:
        self.command("Notifications: Clear All Notifications")

    def dialog(self, *, timeout: float = 120_000) -> Locator:
        box = self.page.locator(".monaco-dialog-box")
        box.wait_for(timeout=timeout)
        return box

    def files_view(self) -> Locator:
        """The StepForge Files view in the Explorer, expanded."""
        self.command("View: Show Explorer")
        header = self.page.locator(".pane-header", has_text="StepForge Files")
        header.wait_for(timeout=30_000)
        if header.get_attribute("aria-expanded") != "true":
            header.click()
        return self.page.locator(".pane", has=header)

    def open_file(self, relative: str) -> None:
        page = self.page
        page.keyboard.press("Escape")
        page.keyboard.press("Control+P")
        widget = page.locator(".quick-input-widget")
        widget.wait_for(state="visible", timeout=10_000)
        widget.locator("input").fill(relative)
        widget.locator(".monaco-list-row", has_text=Path(relative).name).first.wait_for(
            timeout=30_000
        )
        widget.locator("input").press("Enter")
        page.locator(".tab.active", has_text=Path(relative).name).wait_for(timeout=30_000)
        page.locator(".editor-instance .monaco-editor").first.wait_for(timeout=30_000)

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        target = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(target), full_page=True)
        return target


@contextmanager
def open_vscode(server: CodeServer, folder: Path, name: str) -> Iterator[Workbench]:
    """A browser on the folder; a screenshot is kept when the block fails."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1600, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(60_000)
        expect.set_options(timeout=60_000)
        workbench = Workbench(page)
        try:
            page.goto(f"{server.url}/?folder={folder}", wait_until="domcontentloaded")
            workbench.wait_ready()
            yield workbench
        except BaseException:
            try:
                workbench.screenshot(name)
                (ARTIFACTS / f"{name}.extension.log").write_text(server.extension_log())
            finally:
                raise
        finally:
            browser.close()
