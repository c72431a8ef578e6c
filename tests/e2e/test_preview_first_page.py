"""A new project's first page in the Docker preview: its dependencies come pre-bundled (Vite
bundles nothing as it starts, so the page waits for no bundling round, and a page that imports a
chart later reloads nothing), and a module request the browser loses (Chromium aborts the
requests in flight with ERR_NETWORK_CHANGED whenever a container's network interface comes up)
makes the page load itself again instead of staying blank. Chromium is Debian's, through
playwright; the app is the generated scripted task manager (its dashboard draws a recharts chart).
"""

from __future__ import annotations

import asyncio
import json

import docker
import pytest

from server.checks.smoke import CHROMIUM_ARGS, chromium
from server.preview.sandbox import VITE_CACHE_DIR, workspace_tag
from tests.conftest import daemon_env, require_docker, run_cli

pytestmark = pytest.mark.slow
LABELS = ["Dashboard", "Tasks", "Projects", "Settings"]
NAV = 'nav[aria-label="Main navigation"]'
# What Vite logs when it bundles dependencies it did not have (and reloads the browser for them).
BUNDLING = ("new dependencies optimized", "optimized dependencies changed", "re-optimizing")


async def load_losing_one_request(url: str, lost: str) -> tuple[int, list[str]]:
    """Open `url` in Chromium with the first request whose URL contains `lost` aborted; returns
    how many requests were aborted and the navigation's labels once every one shows."""
    from playwright.async_api import Route, async_playwright

    executable = chromium()
    if executable is None:
        pytest.fail("Debian's chromium is required (apt-get install chromium)")
    aborted = 0

    async def lose_the_first(route: Route) -> None:
        nonlocal aborted
        if lost in route.request.url and aborted == 0:
            aborted += 1
            await route.abort("internetdisconnected")
        else:
            await route.continue_()

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page()
            await page.route("**/*", lose_the_first)
            await page.goto(url + "/", wait_until="commit")
            nav = page.locator(NAV)
            await nav.wait_for(state="visible", timeout=60_000)
            for label in LABELS:
                await page.get_by_role("link", name=label).wait_for(timeout=30_000)
            await page.locator("main svg.recharts-surface").first.wait_for(timeout=60_000)
            return aborted, (await nav.inner_text()).split()
        finally:
            await browser.close()


def test_the_first_page_bundles_nothing_and_survives_a_lost_module(generated, fake_groq):
    require_docker()
    env = daemon_env(fake_groq)
    started = run_cli("preview", "start", "--workspace", str(generated), "--json", env=env)
    assert started.returncode == 0, started.stderr
    url = json.loads(started.stdout)["frontendUrl"]
    try:
        frontend = docker.from_env().containers.get(
            f"stepforge-frontend-{workspace_tag(str(generated))}"
        )
        # The shared copy's install ran `vite optimize`; the server's cache was seeded from it.
        listed = frontend.exec_run(["cat", f"{VITE_CACHE_DIR}/deps/_metadata.json"])
        assert listed.exit_code == 0, listed.output
        optimized = json.loads(listed.output)["optimized"]
        assert {"recharts", "react-dom/client", "@radix-ui/react-dialog"} <= set(optimized)

        # A module of the app's shell, then a lazily loaded page: each lost once.
        for lost in ("/src/layout/Sidebar.tsx", "/src/pages/Dashboard.tsx"):
            aborted, labels = asyncio.run(load_losing_one_request(url, lost))
            assert aborted == 1, lost
            assert all(label in labels for label in LABELS), (lost, labels)

        log = frontend.logs().decode("utf-8", "replace")
        assert not any(line in log for line in BUNDLING), log[-3000:]
    finally:
        run_cli("preview", "stop", "--workspace", str(generated), env=env)
