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

import anyio
import httpx

from protocol.models import PageScreenshot, PreviewRuntime, PreviewStartParams, Problem
from server.checks import pages_in_use, pictures
from server.checks.contract import _owner_of
from server.checks.problems import problem
from server.checks.project import Project
from server.checks.toolchain import ToolUnavailable
from server.errors import StepForgeError
from server.plan.validation import component_file
from server.preview.service import PreviewService
from server.progress import NoProgress
from server.tool_env import tool_environment

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
# What of a log line the crash parsing reads: an app can log a line of megabytes (a dumped payload),
# and a traceback's lines are short.
MAX_LOG_LINE = 8192
# One repeat with nothing after it: linear.
_DOTTED_NAME = re.compile(r"[A-Za-z_.]*")
# `http://127.0.0.1:3002/src/pages/Tasks.tsx?t=17:12:5`. Linear: each repeat stops at a character
# the next part of the pattern starts with and the repeat excludes ('/', '?', ':').
_JS_FRAME = re.compile(
    r"https?://[^/\s]+/(?P<path>src/[^?\s:)]+)(?:\?[^:\s)]*)?:(?P<line>\d+):(?P<col>\d+)"
)


def chromium() -> str | None:
    configured = os.environ.get("STEPFORGE_CHROMIUM")
    if configured:
        return configured if Path(configured).exists() else None
    return next((c for c in CHROMIUM_CANDIDATES if Path(c).exists()), shutil.which("chromium"))


def _capped(line: str) -> tuple[str, bool]:
    """The first MAX_LOG_LINE characters of `line`, and whether it was cut."""
    return (line[:MAX_LOG_LINE], True) if len(line) > MAX_LOG_LINE else (line, False)


def _backend_frame(line: str) -> tuple[str, int] | None:
    """`File "/workspace/backend/routers/x.py", line 12, in <module>` (docker or local paths):
    ("backend/routers/x.py", 12). Plain string search, linear in the line's length (a regular
    expression here took seconds on a long line)."""
    start = line.find('File "')
    while start != -1:
        opened = start + len('File "')
        closed = line.find('"', opened)
        if closed == -1:
            return None
        filename = line[opened:closed]
        # The last /backend/ of the path, as in /home/me/backend/app/backend/x.py.
        cut = filename.rfind("/backend/")
        path = filename[cut + len("/backend/") :]
        after = closed + len('", line ')
        if cut > 0 and path.endswith(".py") and len(path) > 3 and line[closed:after] == '", line ':
            digits = line[after : after + 12]  # a line number has few digits
            count = len(digits) - len(digits.lstrip("0123456789"))
            if count:
                return "backend/" + path, int(digits[:count])
        start = line.find('File "', closed)
    return None


def _is_exception_line(text: str) -> bool:
    """`ValueError: ...`, `sqlalchemy.exc.OperationalError: ...`: a dotted name, one of whose
    parts ends in Error or Exception (not `ErrorHandler`, not `raise ValueError`)."""
    if "Error" not in text and "Exception" not in text:
        return False
    name = _DOTTED_NAME.match(text)
    end = name.end() if name else 0
    parts = text[:end].split(".")
    ends_name = end == len(text) or not (text[end].isalnum() or text[end] == "_")
    return any(part.endswith(("Error", "Exception")) for part in parts[:-1]) or (
        parts[-1].endswith(("Error", "Exception")) and ends_name
    )


def crash_problems(log_lines: list[str]) -> list[Problem]:
    """The backend's traceback in its log: a problem at its deepest backend frame.
    Blocking (call it in a worker thread): linear in the log's size, each line read up to
    MAX_LOG_LINE characters."""
    place: tuple[str, int] | None = None
    last_error = ""
    for raw in log_lines:
        line, cut = _capped(raw)
        if line.startswith(("[frontend] ", "[backend] ")):
            line = line.partition("] ")[2]
        frame = _backend_frame(line)
        if frame:
            place = frame
        elif _is_exception_line(line.strip()):
            last_error = line.strip() + (" [cut: the line is longer]" if cut else "")
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


async def run(
    previews: PreviewService,
    root: Path,
    project: Project,
    runtime: PreviewRuntime | None = None,
    screenshots: list[PageScreenshot] | None = None,
    unused: list[str] | None = None,
) -> list[Problem]:
    """`runtime`: where to start the preview when none runs (the checker's choice: never a
    fallback to local processes the user did not choose). `screenshots` receives a picture of
    every route that loaded; `unused` why the pages were not used (forms, buttons), if so."""
    status = await previews.status(root)
    started_here = False
    if not (status.running and status.health and status.health.backend):
        try:
            # Its own preview runs on a scratch database: the checks never touch the user's data.
            await previews.start(
                root, PreviewStartParams(runtime=runtime), NoProgress(), scratch_data=True
            )
        except StepForgeError as error:
            logs = await previews.logs(root, 300)
            found = await anyio.to_thread.run_sync(
                crash_problems,
                [line.line for line in logs.lines if line.role == "backend"]
                or error.message.splitlines(),
            )
            if found:
                return found
            raise ToolUnavailable(f"the preview did not start: {error.message}") from None
        started_here = True
        status = await previews.status(root)
    try:
        assert status.backend_url and status.frontend_url
        found = await _backend(status.backend_url, project)
        if not started_here and unused is not None and project.plan and project.plan.routes:
            unused.append(pages_in_use.NOT_ON_USER_DATA)
        found += await _pages(
            status.frontend_url,
            project,
            root,
            screenshots if screenshots is not None else [],
            # Only a preview on a scratch database is used (forms submitted, buttons clicked):
            # never the user's own data.
            status.backend_url if started_here else None,
        )
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


async def _pages(
    frontend_url: str,
    project: Project,
    root: Path,
    screenshots: list[PageScreenshot],
    backend_url: str | None = None,
) -> list[Problem]:
    """`backend_url`: exercise each page as a user would (server.checks.pages_in_use)."""
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
    await anyio.to_thread.run_sync(pictures.clear_pictures, root)
    schema = await pages_in_use.backend_schema(backend_url) if backend_url else None
    async with async_playwright() as playwright:
        browser_env: dict[str, str | float | bool] = {**tool_environment()}
        browser = await playwright.chromium.launch(
            executable_path=executable, args=CHROMIUM_ARGS, env=browser_env
        )
        try:
            for route in plan.routes:
                page_file = component_file(plan, route.component) or "frontend/src/routes.tsx"
                page = await browser.new_page(viewport=pictures.VIEWPORT)
                errors: list[str] = []
                shot: PageScreenshot | None = None
                page.on("pageerror", _collect_uncaught(errors))
                page.on("console", _collect_console(errors))
                watch = pages_in_use.PageWatch(page, backend_url) if backend_url else None
                try:
                    await page.goto(frontend_url + route.path, wait_until="load", timeout=30_000)
                    await page.wait_for_timeout(SETTLE_MS)
                except Exception as error:  # a page that never loads is a problem too
                    errors.append(f"the page did not load: {error}")
                else:
                    shot = await pictures.capture(page, root, route.path, page_file)
                    if watch is not None:
                        loaded = len(errors)
                        await pages_in_use.exercise(page, watch, route.path, schema)
                        del errors[loaded:]  # what using the page raised is the watch's to say
                        found += await watch.problems(project, route.path, page_file)
                finally:
                    await page.close()
                for text in dict.fromkeys(errors):
                    found.append(_page_problem(route.path, page_file, text))
                if shot is not None:
                    screenshots.append(shot)
                    if shot.blank and not errors:  # an error already says why it is empty
                        found.append(pictures.blank_problem(route.path, page_file))
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
    frames = (
        frame
        for text_line in text.splitlines()
        for frame in _JS_FRAME.finditer(_capped(text_line)[0])
        if "/node_modules/" not in frame.group(0)
    )
    found = next(frames, None)
    if found is not None:
        path = "frontend/" + found.group("path")
        line, column = int(found.group("line")), int(found.group("col"))
    first = text.strip().splitlines()[0] if text.strip() else "an error"
    return problem(
        path, line, column, "page-error", f"Opening {route} in a browser: {first[:400]}", SOURCE
    )
