"""From the plan to the first rendered page: `stepforge new --preview` with the scripted task
manager and the fake LLM's latency model (0.3 s to the first token, 400 tokens/s), Docker runtime.

The plan's end is when `new` moves the planned project into its folder (it starts the preview and
the generation right after); the first rendered page is when Chromium (Debian's, through
playwright) shows the app's sidebar with every planned page, navigated to as soon as the preview
records its ports. Also measured: `previewReadySeconds` (`new --json`: the plan to both servers
answering), the plan to the frontend's first HTTP 200 (what the page waits for before it loads),
the plan to the first page showing its own content instead of the pending placeholder, the plan to
the end of `new` (generation, check and repair: when a preview started after generation would
first answer), and how often the page loaded itself again (the template's index.html does when a
module request fails, as Chromium's do when a container's network interface comes up).

Run: .venv/bin/python -m bench.preview_ready [--runs N]
(needs Docker and the preview images; writes bench/results/preview_ready.json)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from asyncio.subprocess import DEVNULL, PIPE
from pathlib import Path
from typing import Any

import httpx

from bench.common import RESULTS, daemon_environment, write_results
from protocol.plan import Plan
from server.checks.smoke import CHROMIUM_ARGS, chromium
from tests.conftest import container_network_env
from tests.fake_groq import AppResponder, FakeGroq, Latency, ScriptedApp

LATENCY = Latency(first_token_seconds=0.3, tokens_per_second=400)
PENDING_TEXT = "has not generated this page yet"
POLL = 0.02


def _frontend_url(folder: Path) -> str | None:
    try:
        record = json.loads((folder / ".stepforge" / "preview.json").read_text())
    except (OSError, ValueError):
        return None
    port = record.get("frontend_port") if record.get("running") else None
    return f"http://127.0.0.1:{port}" if port else None


async def _until(condition: Any, output: asyncio.Task[tuple[bytes, bytes]], what: str) -> Any:
    """Poll `condition()` until it returns something truthy; fail if `new` ended first."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if output.done():
            raise SystemExit(f"`stepforge new` ended before {what}:\n{output.result()[1].decode()}")
        await asyncio.sleep(POLL)
    raise SystemExit(f"timed out waiting for {what}")


async def _first_answer(url: str, since: float) -> float:
    """Seconds from `since` to the frontend's first HTTP 200."""
    async with httpx.AsyncClient(timeout=2.0) as client:
        while True:
            try:
                if (await client.get(url)).status_code == 200:
                    return time.monotonic() - since
            except httpx.HTTPError:
                pass
            await asyncio.sleep(POLL)


async def _shows_its_own_content(page: Any) -> bool:
    """The first route's page itself: neither the pending placeholder nor the loading skeleton."""
    try:
        text = await page.locator("main").inner_text(timeout=1_000)
        loading = await page.locator('main [aria-label="Loading"]').count()
    except Exception:  # a hot reload replacing the document
        return False
    return bool(text.strip()) and PENDING_TEXT not in text and not loading


async def one_run(env: dict[str, str], labels: list[str], browser: Any) -> dict[str, Any]:
    parent = Path(tempfile.mkdtemp(prefix="stepforge-bench-ready-"))
    folder = parent / "task-manager"
    command = [sys.executable, "-m", "server", "new", "a task manager", "--preview", "--json"]
    process = await asyncio.create_subprocess_exec(
        *command, "--parent", str(parent), env=env, stdout=PIPE, stderr=PIPE
    )
    output = asyncio.create_task(process.communicate())  # read as it comes: pipes never fill
    try:
        await _until(folder.is_dir, output, "the plan")
        planned = time.monotonic()
        url = await _until(lambda: _frontend_url(folder), output, "the preview's ports")
        answered = asyncio.create_task(_first_answer(url + "/", planned))
        page = await browser.new_page(viewport={"width": 1280, "height": 800})
        loads: list[str] = []  # the app's own loads (not the browser's error pages)
        page.on(
            "framenavigated",
            lambda frame: (
                loads.append(frame.url)
                if frame is page.main_frame and frame.url.startswith(url)
                else None
            ),
        )
        nav = page.locator('nav[aria-label="Main navigation"]')
        rendered = None
        while rendered is None:  # until the page loads and shows every planned page
            if time.monotonic() - planned > 300:
                raise SystemExit("the preview's page never rendered")
            try:
                await page.goto(url + "/", wait_until="commit", timeout=30_000)
                await nav.wait_for(state="visible", timeout=30_000)
                text = await nav.inner_text()
                if all(label in text for label in labels):
                    rendered = time.monotonic()
            except Exception:  # the servers not answering yet, a load the busy host aborted
                await asyncio.sleep(0.1)
        own = None
        while own is None and not output.done():  # Vite's hot reload brings the page in
            if await _shows_its_own_content(page):
                own = time.monotonic()
            else:
                await asyncio.sleep(0.1)
        await page.close()
        answer_seconds = await asyncio.wait_for(answered, timeout=60)
        out, err = await asyncio.wait_for(output, timeout=600)
        ended = time.monotonic()
        if process.returncode != 0:
            raise SystemExit(f"`stepforge new` failed ({process.returncode}):\n{err[-3000:]!r}")
        text = out.decode()
        result = json.loads(text[text.index("{") :])
        return {
            "first_render_seconds": round(rendered - planned, 2),
            "frontend_answer_seconds": round(answer_seconds, 2),
            # Navigations to the app beyond the bench's own gotos and the router's redirects.
            "app_loads": len([u for u in loads if u.rstrip("/") == url]),
            "preview_ready_seconds": result.get("previewReadySeconds"),
            "first_own_page_seconds": round(own - planned, 2) if own else None,
            "new_done_seconds": round(ended - planned, 2),
            "files": len(result["generate"]["written"]),
        }
    finally:
        if process.returncode is None:
            process.kill()
            await output
        if folder.exists():
            stop = await asyncio.create_subprocess_exec(
                *(sys.executable, "-m", "server", "preview", "stop", "--workspace", str(folder)),
                env=env,
                stdout=DEVNULL,
                stderr=DEVNULL,
            )
            await stop.wait()


async def run(runs: int) -> dict[str, Any]:
    from playwright.async_api import async_playwright

    app = ScriptedApp.fixture()
    labels = [route.label for route in Plan.model_validate(app.plan).routes]
    samples = []
    load_before = os.getloadavg()[1]
    with FakeGroq(AppResponder(app), latency=LATENCY) as fake:
        env = {**daemon_environment(fake), **container_network_env()}
        async with async_playwright() as playwright:
            executable = chromium()
            if executable is None:
                raise SystemExit("no Chromium found (set STEPFORGE_CHROMIUM)")
            # Launched before the plan: the browser's own start is not the app's.
            browser = await playwright.chromium.launch(
                executable_path=executable, args=CHROMIUM_ARGS
            )
            try:
                for number in range(1, runs + 1):
                    sample = await one_run(env, labels, browser)
                    print(f"run {number}: {sample}", flush=True)
                    samples.append(sample)
            finally:
                await browser.close()
    first = [s["first_render_seconds"] for s in samples]
    own = [s["first_own_page_seconds"] for s in samples if s["first_own_page_seconds"]]
    return {
        "runs": runs,
        "files": samples[0]["files"],
        "first_render_seconds_median": round(statistics.median(first), 2),
        "first_render_seconds_max": round(max(first), 2),
        "frontend_answer_seconds_median": round(
            statistics.median(s["frontend_answer_seconds"] for s in samples), 2
        ),
        "preview_ready_seconds_median": round(
            statistics.median(s["preview_ready_seconds"] for s in samples), 2
        ),
        "first_own_page_seconds_median": round(statistics.median(own), 2) if own else None,
        "new_done_seconds_median": round(
            statistics.median(s["new_done_seconds"] for s in samples), 2
        ),
        "samples": samples,
        "load_average": [round(load_before, 1), round(os.getloadavg()[1], 1)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    figures = asyncio.run(run(args.runs))
    # Every session's medians are kept: on a shared machine one session's figure says little.
    previous = RESULTS / "preview_ready.json"
    sessions = json.loads(previous.read_text()).get("sessions", []) if previous.exists() else []
    figures["sessions"] = [*sessions, _session(figures)]
    write_results("preview_ready", figures)


def _session(figures: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "runs",
        "first_render_seconds_median",
        "frontend_answer_seconds_median",
        "preview_ready_seconds_median",
        "load_average",
    )
    return {
        "time": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        **{k: figures[k] for k in keys},
    }


if __name__ == "__main__":
    main()
