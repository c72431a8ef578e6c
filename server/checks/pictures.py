"""Pictures of the running app's pages: a desktop-wide screenshot of every planned route in
`.stepforge/screenshots/<route>.png`, and whether the page showed anything besides the layout.

The runtime smoke test calls `capture` on each page it opened, after the page settled. A blank
page (no text, no image, chart or control in the layout's <main>) is a warning on its page file:
the page rendered, so nothing threw, but a user sees an empty app.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING

import anyio

from protocol.models import PageScreenshot, Problem, Severity
from server.checks.problems import problem
from server.errors import StepForgeError
from server.workspace.meta import META, MetaFiles

if TYPE_CHECKING:
    from playwright.async_api import Page, ViewportSize

log = logging.getLogger(__name__)

SCREENSHOTS = "screenshots"
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}  # desktop width
SOURCE = "smoke"
# How long a page may take to show its content before it counts as blank (a real blank page costs
# this once per check; a slow one must not be called blank).
BLANK_WAIT_MS = 15_000
# Whether the page's own part of the layout (<main>, or the whole body when the user's layout has
# no <main>) shows anything: text, or a visible picture, chart, or control.
_BLANK_SCRIPT = """() => {
  const area = document.querySelector("main") || document.body;
  if ((area.innerText || "").trim()) return false;
  const shown = (el) => {
    const box = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    return box.width > 0 && box.height > 0 && style.visibility !== "hidden" && style.opacity !== "0";
  };
  const things = area.querySelectorAll("img, svg, canvas, video, iframe, input, textarea, select, button");
  return !Array.from(things).some(shown);
}"""


def picture_name(route: str) -> str:
    """The file name of a route's picture: `/` -> `index.png`, `/tasks/:id` -> `tasks_id.png`."""
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", route.strip("/")).strip("_")
    return f"{stem or 'index'}.png"


def clear_pictures(root: Path) -> None:
    """Blocking: remove the last check's pictures (a route the plan dropped leaves none behind)."""
    meta = MetaFiles(root)
    for name in meta.listdir(SCREENSHOTS):
        if name.endswith(".png"):
            meta.remove(f"{SCREENSHOTS}/{name}")


async def capture(
    page: Page, root: Path, route: str, page_file: str | None
) -> PageScreenshot | None:
    """Screenshot the settled page into the workspace, and whether it showed nothing; None when
    the browser could not take it (the page's own errors are the smoke test's to report)."""
    try:
        blank = await _stays_blank(page)
        data = await page.screenshot(full_page=True, type="png")
    except Exception as error:  # playwright's errors, a page closed under us
        log.warning("could not picture %s: %s", route, error)
        return None
    name = picture_name(route)
    try:
        await anyio.to_thread.run_sync(MetaFiles(root).write, f"{SCREENSHOTS}/{name}", data)
    except (OSError, StepForgeError) as error:  # the check's findings matter more than a picture
        log.warning("could not save the screenshot of %s: %s", route, error)
    return PageScreenshot(
        route=route, path=f"{META}/{SCREENSHOTS}/{name}", page_file=page_file, blank=blank
    )


async def _stays_blank(page: Page) -> bool:
    """Whether the page still shows nothing after waiting for it: on a busy machine Vite compiles
    a page's modules for seconds after `load`, and a page still arriving is not a blank page."""
    from playwright.async_api import TimeoutError as PlaywrightTimeout

    shows = f"() => !({_BLANK_SCRIPT})()"
    try:
        await page.wait_for_function(shows, timeout=BLANK_WAIT_MS)
        return False
    except PlaywrightTimeout:
        pass
    # Once more after a reload: Vite's dependency optimizer reloads every page when it finds a new
    # dependency, and a page caught in that reload stays white without being blank.
    try:
        await page.reload(wait_until="load", timeout=30_000)
        await page.wait_for_function(shows, timeout=BLANK_WAIT_MS)
    except PlaywrightTimeout:
        return True
    return False


def blank_problem(route: str, page_file: str) -> Problem:
    return problem(
        page_file,
        1,
        1,
        "page-blank",
        f"Opening {route} in a browser shows nothing besides the layout: the page renders no "
        "text, picture or control (its data may never arrive, or it returns nothing).",
        SOURCE,
        severity=Severity.WARNING,
    )
