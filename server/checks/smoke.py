"""The runtime smoke test: the app as it runs in its preview (started for the test if none runs).

- the backend answers every planned GET endpoint without path parameters with a non-5xx status;
- a backend that does not start is a problem on the backend file its traceback names;
- where a Chromium is available, every planned route renders without an uncaught error: an error
  is a problem on the file its stack names, else on the route's page.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from protocol.models import PreviewStartParams, Problem
from server.checks.contract import _owner_of
from server.checks.problems import problem
from server.checks.project import Project
from server.checks.toolchain import ToolUnavailable
from server.errors import StepForgeError
from server.plan.validation import component_file
from server.preview.service import PreviewService
from server.progress import NoProgress

if TYPE_CHECKING:
    from playwright.async_api import ConsoleMessage, Error

log = logging.getLogger(__name__)

SOURCE = "smoke"
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SETTLE_MS = 1500
NETWORK_ERRORS = ("Failed to load resource", "CORS policy", "net::ERR_")
# `File "/workspace/backend/routers/x.py", line 12, in <module>` (docker or local paths)
_PY_FRAME = re.compile(r'File "(?P<file>[^"]+/backend/(?P<path>[^"]+\.py))", line (?P<line>\d+)')
# `http://127.0.0.1:3002/src/pages/Tasks.tsx?t=17:12:5`
_JS_FRAME = re.compile(
    r"https?://[^/\s]+/(?P<path>src/[^?\s:)]+)(?:\?[^:\s)]*)?:(?P<line>\d+):(?P<col>\d+)"
)


def chromium() -> str | None:
    configured = os.environ.get("STEPFORGE_CHROMIUM")
    if configured:
        return configured if Path(configured).exists() else None
    return next((c for c in CHROMIUM_CANDIDATES if Path(c).exists()), shutil.which("chromium"))


def crash_problems(log_lines: list[str]) -> list[Problem]:
    """The backend's traceback in its log: a problem at its deepest backend frame."""
    place: tuple[str, int] | None = None
    last_error = ""
    for line in (re.sub(r"^\[(frontend|backend)\] ", "", raw) for raw in log_lines):
        frame = _PY_FRAME.search(line)
        if frame:
            place = ("backend/" + frame.group("path"), int(frame.group("line")))
        elif re.match(r"^\s*[A-Za-z_.]*(Error|Exception)\b", line.strip()):
            last_error = line.strip()
    if place is None:
        return []
    return [
        problem(
            place[0],
            place[1],
            1,
            "backend-crash",
            f"The backend does not start: {last_error or 'see the preview log'}",
            SOURCE,
        )
    ]


async def run(previews: PreviewService, root: Path, project: Project) -> list[Problem]:
    status = await previews.status(root)
    started_here = False
    if not (status.running and status.health and status.health.backend):
        try:
            await previews.start(root, PreviewStartParams(), NoProgress())
        except StepForgeError as error:
            logs = await previews.logs(root, 300)
            found = crash_problems(
                [line.line for line in logs.lines if line.role == "backend"]
                or error.message.splitlines()
            )
            if found:
                return found
            raise ToolUnavailable(f"the preview did not start: {error.message}") from None
        started_here = True
        status = await previews.status(root)
    try:
        assert status.backend_url and status.frontend_url
        found = await _backend(status.backend_url, project)
        found += await _pages(status.frontend_url, project)
        return found
    finally:
        if started_here:
            await previews.stop(root)


async def _backend(backend_url: str, project: Project) -> list[Problem]:
    found = []
    plan = project.plan
    if plan is None:
        return []
    async with httpx.AsyncClient(timeout=15.0) as client:
        for endpoint in plan.api_endpoints:
            if endpoint.method != "GET" or "{" in endpoint.path:
                continue
            try:
                response = await client.get(backend_url + endpoint.path)
            except httpx.HTTPError as error:
                status, detail = 0, f"no answer ({type(error).__name__})"
            else:
                status, detail = response.status_code, f"HTTP {response.status_code}"
            if status == 0 or status >= 500:
                found.append(
                    problem(
                        _owner_of(project, endpoint.path) or "backend/main.py",
                        1,
                        1,
                        "endpoint-error",
                        f"GET {endpoint.path} answered {detail} in the running app.",
                        SOURCE,
                    )
                )
    return found


async def _pages(frontend_url: str, project: Project) -> list[Problem]:
    plan = project.plan
    executable = chromium()
    if plan is None or not plan.routes:
        return []
    if executable is None:
        raise ToolUnavailable("no Chromium found for the page checks (set STEPFORGE_CHROMIUM)")
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        raise ToolUnavailable(
            "playwright is not installed (pip install 'stepforge[browser]')"
        ) from None
    found: list[Problem] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            for route in plan.routes:
                page_file = component_file(plan, route.component) or "frontend/src/routes.tsx"
                page = await browser.new_page()
                errors: list[str] = []
                page.on("pageerror", _collect_uncaught(errors))
                page.on("console", _collect_console(errors))
                try:
                    await page.goto(frontend_url + route.path, wait_until="load", timeout=30_000)
                    await page.wait_for_timeout(SETTLE_MS)
                except Exception as error:  # a page that never loads is a problem too
                    errors.append(f"the page did not load: {error}")
                finally:
                    await page.close()
                for text in dict.fromkeys(errors):
                    found.append(_page_problem(route.path, page_file, text))
        finally:
            await browser.close()
    return found


def _collect_uncaught(into: list[str]) -> Callable[[Error], None]:
    def collect(error: Error) -> None:
        into.append(f"{error}\n{error.stack or ''}")

    return collect


def _collect_console(into: list[str]) -> Callable[[ConsoleMessage], None]:
    def collect(message: ConsoleMessage) -> None:
        # A failed request shows as a network error ("Failed to load resource", a CORS refusal of
        # a 500 without CORS headers): the endpoint checks name those on the backend's file.
        if message.type == "error" and not any(mark in message.text for mark in NETWORK_ERRORS):
            into.append(message.text)

    return collect


def _page_problem(route: str, page_file: str, text: str) -> Problem:
    path, line, column = page_file, 1, 1
    for frame in _JS_FRAME.finditer(text):
        if "/node_modules/" not in frame.group(0):
            path = "frontend/" + frame.group("path")
            line, column = int(frame.group("line")), int(frame.group("col"))
            break
    first = text.strip().splitlines()[0] if text.strip() else "an error"
    return problem(
        path, line, column, "page-error", f"Opening {route} in a browser: {first[:400]}", SOURCE
    )
