"""Pages in use, in Chromium: what a user does in the first minute, on every planned route.

The runtime smoke test opens each route (server.checks.smoke); this module watches the page's
requests to the backend from before it loads, then, once it settled, fills each form of the page's
own part of the layout (<main>) with values that fit its inputs (their type, required, min/max and
lengths, and the backend's schema where a field's name matches a property of a request body) and
submits it, and clicks once each of its buttons outside forms (the destructive ones last, a
dialog or menu they open closed again with Escape, a page they navigate to left again). Bounded:
at most MAX_ACTIONS actions and PAGE_SECONDS seconds per page; a page with nothing to exercise
passes.

- a request to the backend answered 4xx/5xx, or failing, is a `page-request-failed` problem on
  the frontend file that sends it (the file whose API call matches its method and path, at that
  call; else the page's file), naming the request (method, path, body) and the answer (status,
  the start of its body);
- an uncaught error while doing so is a `page-uncaught-error` problem on the file its stack names
  (else the page's file), unless a failed request of the same action already explains it.

Routes with path parameters (`/tasks/:id`) are not exercised: a literal `:id` is no record a user
could open.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

import httpx

from protocol.models import Problem
from server.checks.contract import _owner_of, backend_routes, path_matches
from server.checks.problems import problem
from server.checks.project import Project

if TYPE_CHECKING:
    from playwright.async_api import Error, Page, Request, Response

log = logging.getLogger(__name__)

SOURCE = "pages"
TIER = "pages"
NOT_ON_USER_DATA = (
    "not run: the pages were opened but not used (forms submitted, buttons clicked), because "
    "the preview that runs is yours, on your data; stop it (`stepforge preview stop`) and check "
    "again, and the check uses them on a scratch database of its own"
)
MAX_ACTIONS = 12
PAGE_SECONDS = 10.0
ACTION_TIMEOUT_MS = 1500
IDLE_SECONDS = 3.0  # how long the requests an action started may take to finish
SETTLE_MS = 200  # for the page to render what the answers brought
MAX_FORMS = 4
MAX_BODY = 300
MAX_ANSWER = 300
DESTRUCTIVE = re.compile(r"delete|remove|trash|clear|reset|log ?out|sign ?out|archive", re.I)
IGNORED_FAILURES = ("net::ERR_ABORTED",)  # a request the page's own navigation cancelled
# What the page script reads of each field of a form (in document order).
_FORMS_SCRIPT = """(scope) => {
  const area = document.querySelector(scope) || document.body;
  const shown = (el) => {
    const box = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    return box.width > 0 && box.height > 0 && style.visibility !== "hidden";
  };
  const labelOf = (el) => {
    if (el.labels && el.labels.length) return el.labels[0].innerText || "";
    return el.getAttribute("aria-label") || el.getAttribute("placeholder") || "";
  };
  return Array.from(area.querySelectorAll("form")).map((form) =>
    Array.from(form.querySelectorAll("input, textarea, select")).map((el) => ({
      tag: el.tagName.toLowerCase(),
      type: (el.getAttribute("type") || "").toLowerCase(),
      name: el.getAttribute("name") || el.id || "",
      label: labelOf(el),
      required: !!el.required,
      shown: shown(el) && !el.disabled && !el.readOnly,
      min: el.getAttribute("min"),
      max: el.getAttribute("max"),
      step: el.getAttribute("step"),
      minLength: el.minLength > 0 ? el.minLength : null,
      maxLength: el.maxLength > 0 ? el.maxLength : null,
      options: el.tagName === "SELECT"
        ? Array.from(el.options).filter((o) => !o.disabled && o.value !== "").map((o) => o.value)
        : [],
    }))
  );
}"""
_BUTTONS = "button:not(form button):not(a button), [role=button]:not(form [role=button])"


# --- choosing values (pure) -------------------------------------------------------------------------


@dataclass(frozen=True)
class FormField:
    tag: str  # input, textarea, select
    type: str = ""  # an input's type, lowercased ("" is text)
    name: str = ""  # its name, else its id
    label: str = ""  # its label, aria-label or placeholder
    required: bool = False
    shown: bool = True
    min: str | None = None
    max: str | None = None
    step: str | None = None
    min_length: int | None = None
    max_length: int | None = None
    options: tuple[str, ...] = ()

    @classmethod
    def from_page(cls, data: dict[str, Any]) -> FormField:
        return cls(
            tag=str(data.get("tag") or "input"),
            type=str(data.get("type") or ""),
            name=str(data.get("name") or ""),
            label=str(data.get("label") or ""),
            required=bool(data.get("required")),
            shown=bool(data.get("shown", True)),
            min=data.get("min"),
            max=data.get("max"),
            step=data.get("step"),
            min_length=data.get("minLength"),
            max_length=data.get("maxLength"),
            options=tuple(str(o) for o in data.get("options") or ()),
        )


@dataclass(frozen=True)
class Fill:
    how: Literal["fill", "check", "select", "skip"]
    value: str = ""


SKIPPED_TYPES = {"hidden", "submit", "button", "reset", "file", "image"}
FIXED_VALUES = {
    "email": "ada@example.com",
    "url": "https://example.com",
    "tel": "5551234567",
    "color": "#3366cc",
    "password": "Secret-pass-123",
    "date": "2026-01-15",
    "datetime-local": "2026-01-15T10:30",
    "time": "10:30",
    "month": "2026-01",
    "week": "2026-W03",
}
FORMAT_VALUES = {
    "email": "ada@example.com",
    "uri": "https://example.com",
    "url": "https://example.com",
    "date": "2026-01-15",
    "date-time": "2026-01-15T10:30:00",
    "time": "10:30:00",
    "uuid": "3f2b8c1e-5d4a-4e6b-9a7c-1b2d3e4f5a6b",
}


def _words(text: str) -> str:
    """`project_id`, `projectId`, `Project ID` -> `projectid`."""
    return re.sub(r"[^a-z0-9]", "", text.lower())


def body_properties(schema: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Every property of every JSON request body of the OpenAPI document, by its name's words
    (references and `X | None` resolved), the first declaration of a name winning."""
    if not schema:
        return {}
    found: dict[str, dict[str, Any]] = {}
    for operations in (schema.get("paths") or {}).values():
        if not isinstance(operations, dict):
            continue
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            content = (operation.get("requestBody") or {}).get("content") or {}
            body = _resolve(schema, (content.get("application/json") or {}).get("schema"))
            for name, prop in (body.get("properties") or {}).items():
                found.setdefault(_words(name), _resolve(schema, prop))
    return found


def _resolve(document: dict[str, Any], node: Any, depth: int = 0) -> dict[str, Any]:
    if not isinstance(node, dict) or depth > 8:
        return {}
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        target: Any = document
        for part in ref[2:].split("/"):
            target = target.get(part) if isinstance(target, dict) else None
        return {
            **_resolve(document, target, depth + 1),
            **{k: v for k, v in node.items() if k != "$ref"},
        }
    for key in ("anyOf", "oneOf", "allOf"):
        options = [
            o for o in node.get(key) or () if isinstance(o, dict) and o.get("type") != "null"
        ]
        if options:
            merged = {k: v for k, v in node.items() if k != key}
            return {**_resolve(document, options[0], depth + 1), **merged}
    return node


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text not in (None, "") else None
    except ValueError:
        return None


def _numeric_value(item: FormField, prop: dict[str, Any]) -> str:
    low = _number(item.min)
    high = _number(item.max)
    for key in ("minimum", "exclusiveMinimum"):
        if isinstance(prop.get(key), int | float):
            value = float(prop[key]) + (1 if key.startswith("exclusive") else 0)
            low = value if low is None else max(low, value)
    for key in ("maximum", "exclusiveMaximum"):
        if isinstance(prop.get(key), int | float):
            value = float(prop[key]) - (1 if key.startswith("exclusive") else 0)
            high = value if high is None else min(high, value)
    value = max(1.0, low) if low is not None else 1.0
    if high is not None and value > high:
        value = high
    if prop.get("type") == "integer" and not value.is_integer():
        value = float(int(value) + 1)
    return str(int(value)) if value.is_integer() else str(value)


def _text_value(item: FormField, prop: dict[str, Any]) -> str:
    words = " ".join(re.findall(r"[A-Za-z]+", item.label or item.name)[:3]) or "value"
    text = f"Sample {words.lower()}"
    shortest = max(item.min_length or 0, int(prop.get("minLength") or 0), 1)
    longest = min(
        item.max_length or 10_000,
        int(prop["maxLength"]) if isinstance(prop.get("maxLength"), int) else 10_000,
    )
    while len(text) < shortest:
        text += " sample"
    return text[: max(longest, 1)]


def choose_value(item: FormField, prop: dict[str, Any] | None = None) -> Fill:
    """A value for one field that its input and the backend's property (if a name matched)
    accept: what a careful user would type."""
    prop = prop or {}
    kind = item.type if item.tag == "input" else item.tag
    if not item.shown or kind in SKIPPED_TYPES:
        return Fill("skip")
    if kind == "checkbox":
        return Fill("check") if item.required or prop.get("type") == "boolean" else Fill("skip")
    if kind == "radio":
        return Fill("check")
    enum = [str(v) for v in prop.get("enum") or () if v is not None]
    if kind == "select":
        chosen = next((o for o in item.options if o in enum), None)
        if chosen is None and item.options:
            chosen = item.options[0]
        return Fill("select", chosen) if chosen is not None else Fill("skip")
    if kind in ("number", "range"):
        return Fill("fill", _numeric_value(item, prop))
    if kind in FIXED_VALUES:
        value = FIXED_VALUES[kind]
        if item.min and value < item.min:
            value = item.min
        if item.max and value > item.max:
            value = item.max
        return Fill("fill", value)
    if enum:
        return Fill("fill", enum[0])
    if prop.get("format") in FORMAT_VALUES:
        return Fill("fill", FORMAT_VALUES[str(prop["format"])])
    if prop.get("type") in ("integer", "number"):
        return Fill("fill", _numeric_value(item, prop))
    return Fill("fill", _text_value(item, prop))


def matching_property(
    item: FormField, properties: dict[str, dict[str, Any]]
) -> dict[str, Any] | None:
    for candidate in (item.name, item.label):
        words = _words(candidate)
        if words and words in properties:
            return properties[words]
    return None


def button_order(labels: list[str]) -> list[int]:
    """The buttons' indexes in the order they are clicked: the destructive ones (delete, remove,
    clear) last, so that they do not take away what the others act on."""
    return sorted(range(len(labels)), key=lambda i: bool(DESTRUCTIVE.search(labels[i])))


# --- what went wrong, placed (pure) ----------------------------------------------------------------


@dataclass(frozen=True)
class FailedRequest:
    method: str
    path: str  # the URL's path (and query)
    body: str | None
    status: int | None  # None: no answer (`failure` says why)
    answer: str = ""
    failure: str | None = None


def sender(project: Project, method: str, path: str) -> tuple[str, int, int] | None:
    """The frontend file (and line, column) whose API call has this method and path: the file
    that sends it (an API wrapper that only forwards its argument names no path)."""
    bare = urlsplit(path).path
    loose = None
    for file in project.ts_files():
        for call in project.ts(file).api_calls:
            if not path_matches(call.path, bare):
                continue
            if call.method == method:
                return file, call.line, call.column
            loose = loose or (file, call.line, call.column)
    return loose


def served_at(project: Project, method: str, path: str) -> tuple[str, int, int] | None:
    """The backend file (and the route's line) that serves this request, else the module that
    should (the router whose prefix fits)."""
    bare = urlsplit(path).path
    for file, route in backend_routes(project):
        if route.method == method and path_matches(route.path, bare):
            return file, route.line, route.column
    owner = _owner_of(project, bare)
    return (owner, 1, 1) if owner else None


def backend_fault(failed: FailedRequest) -> bool:
    """A 5xx or no answer: the backend's fault, whatever the frontend sent; a 4xx is the
    frontend's (it sent what the backend does not take)."""
    return failed.status is None or failed.status >= 500


def smoke_covers(project: Project, failed: FailedRequest) -> bool:
    """Whether the smoke test's own endpoint check already names this failure: a 5xx (or no
    answer) of a planned GET endpoint without path parameters (one defect, one problem)."""
    plan = project.plan
    if plan is None or failed.method != "GET" or not backend_fault(failed):
        return False
    bare = urlsplit(failed.path).path
    return any(
        e.method == "GET" and "{" not in e.path and path_matches(e.path, bare)
        for e in plan.api_endpoints
    )


def request_problem(
    project: Project, route: str, page_file: str, action: str, failed: FailedRequest
) -> Problem:
    """On the frontend file that sent the request (a 4xx), or the backend file that serves it (a
    5xx, no answer), naming the request and the answer."""
    place = served_at(project, failed.method, failed.path) if backend_fault(failed) else None
    place = place or sender(project, failed.method, failed.path) or (page_file, 1, 1)
    body = f" with body {_short(failed.body, MAX_BODY)}" if failed.body else ""
    if failed.status is None:
        answer = f"got no answer ({failed.failure or 'the request failed'})"
    else:
        start = _short(failed.answer, MAX_ANSWER)
        answer = f"was answered {failed.status}" + (f": {start}" if start else "")
    return problem(
        place[0],
        place[1],
        place[2],
        "page-request-failed",
        f"Using {route} in a browser ({action}): {failed.method} {failed.path}{body} {answer}",
        SOURCE,
    )


_JS_FRAME = re.compile(
    r"https?://[^/\s]+/(?P<path>src/[^?\s:)]+)(?:\?[^:\s)]*)?:(?P<line>\d+):(?P<col>\d+)"
)


def error_problem(route: str, page_file: str, action: str, text: str) -> Problem:
    """An uncaught error, on the first file of the app its stack names (not node_modules)."""
    path, line, column = page_file, 1, 1
    for text_line in text.splitlines():
        match = next(
            (m for m in _JS_FRAME.finditer(text_line[:8192]) if "/node_modules/" not in m.group(0)),
            None,
        )
        if match is not None:
            path = "frontend/" + match.group("path")
            line, column = int(match.group("line")), int(match.group("col"))
            break
    first = text.strip().splitlines()[0] if text.strip() else "an error"
    return problem(
        path,
        line,
        column,
        "page-uncaught-error",
        f"Using {route} in a browser ({action}) raised an uncaught error: {first[:400]}",
        SOURCE,
    )


def _short(text: str | None, limit: int) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= limit else flat[:limit] + "…"


# --- the browser ------------------------------------------------------------------------------------


@dataclass
class _Action:
    what: str
    responses: list[Response] = field(default_factory=list)
    failures: list[FailedRequest] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class PageWatch:
    """The page's requests to the backend and its uncaught errors, from before it loads, grouped
    by the action that caused them (the load itself first)."""

    def __init__(self, page: Page, backend_url: str) -> None:
        self.page = page
        self.backend = backend_url.rstrip("/")
        self.actions = [_Action("on load")]
        self.pending = 0
        page.on("request", self._request)
        page.on("requestfinished", self._finished)
        page.on("requestfailed", self._failed)
        page.on("response", self._response)
        page.on("pageerror", self._error)

    def _ours(self, request: Request) -> bool:
        return request.url.startswith(self.backend + "/") and request.resource_type in (
            "fetch",
            "xhr",
        )

    def _request(self, request: Request) -> None:
        if self._ours(request):
            self.pending += 1

    def _finished(self, request: Request) -> None:
        if self._ours(request):
            self.pending = max(0, self.pending - 1)

    def _failed(self, request: Request) -> None:
        if not self._ours(request):
            return
        self.pending = max(0, self.pending - 1)
        failure = request.failure or "the request failed"
        if any(mark in failure for mark in IGNORED_FAILURES):
            return
        self.actions[-1].failures.append(
            FailedRequest(
                request.method, self._path(request.url), request.post_data, None, "", failure
            )
        )

    def _response(self, response: Response) -> None:
        if self._ours(response.request) and response.status >= 400:
            self.actions[-1].responses.append(response)

    def _error(self, error: Error) -> None:
        self.actions[-1].errors.append(f"{error}\n{error.stack or ''}")

    def _path(self, url: str) -> str:
        parts = urlsplit(url)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def begin(self, what: str) -> None:
        self.actions.append(_Action(what))

    async def settle(self) -> None:
        """Until the requests in flight are answered (bounded), and the page rendered them."""
        deadline = time.monotonic() + IDLE_SECONDS
        await self.page.wait_for_timeout(SETTLE_MS)
        while self.pending and time.monotonic() < deadline:
            await self.page.wait_for_timeout(50)
        await self.page.wait_for_timeout(SETTLE_MS if self.actions[-1].responses else 0)

    async def problems(self, project: Project, route: str, page_file: str) -> list[Problem]:
        found: list[Problem] = []
        # One problem per place, method and status (PATCH /api/tasks/1 and /2 failing alike).
        seen: set[tuple[str, int, str, int | None]] = set()
        for action in self.actions:
            failed = list(action.failures)
            for response in action.responses:
                try:
                    answer = await response.text()
                except Exception:  # the body is gone (the page navigated): the status still says
                    answer = ""
                request = response.request
                failed.append(
                    FailedRequest(
                        request.method,
                        self._path(request.url),
                        request.post_data,
                        response.status,
                        answer,
                    )
                )
            for item in failed:
                if smoke_covers(project, item):
                    continue
                made = request_problem(project, route, page_file, action.what, item)
                key = (made.path, made.line, item.method, item.status)
                if key not in seen:
                    seen.add(key)
                    found.append(made)
            if failed or action.what == "on load":
                continue  # a rejection of a failed request echoes it; load errors are smoke's
            for text in dict.fromkeys(action.errors):
                found.append(error_problem(route, page_file, action.what, text))
        return found


async def backend_schema(backend_url: str) -> dict[str, Any] | None:
    """The running backend's OpenAPI document (for values that fit its request bodies), or None:
    the forms are then filled from their inputs alone."""
    try:
        async with httpx.AsyncClient(timeout=10.0) as client:
            response = await client.get(backend_url.rstrip("/") + "/openapi.json")
        document = response.json() if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        return None
    return document if isinstance(document, dict) else None


async def exercise(page: Page, watch: PageWatch, route: str, schema: dict[str, Any] | None) -> None:
    """Fill and submit the page's forms, click its buttons (bounded); what happens is in `watch`."""
    if ":" in route or "*" in route:
        return
    try:
        await _exercise(page, watch, route, schema)
    except Exception as error:  # the page crashed or closed under us: what was seen still counts
        log.warning("using %s stopped early: %s", route, error)
    finally:
        log.info("used %s: %s", route, ", ".join(a.what for a in watch.actions[1:]) or "nothing")


async def _exercise(
    page: Page, watch: PageWatch, route: str, schema: dict[str, Any] | None
) -> None:
    started = time.monotonic()
    actions = 0
    properties = body_properties(schema)
    home = page.url
    scope = "main" if await page.locator("main").count() else "body"

    def left() -> bool:
        return actions < MAX_ACTIONS and time.monotonic() - started < PAGE_SECONDS

    try:
        forms = await page.evaluate(_FORMS_SCRIPT, scope)
    except Exception as error:  # the page went away under us
        log.info("could not read the forms of %s: %s", route, error)
        return
    for index, fields in enumerate(forms[:MAX_FORMS]):
        if not left():
            return
        actions += 1
        watch.begin(
            "submitting its form" if len(forms) == 1 else f"submitting its form {index + 1}"
        )
        await _submit(page, page.locator(scope).locator("form").nth(index), fields, properties)
        await watch.settle()
        await _back_home(page, home)
    buttons = page.locator(scope).locator(_BUTTONS)
    labels = await _labels(buttons)
    for index in button_order(labels):
        if not left():
            return
        label = labels[index]
        target = buttons.nth(index)
        try:
            if not (await target.is_visible() and await target.is_enabled()):
                continue
        except Exception:
            continue
        actions += 1
        watch.begin(f"clicking the button “{label or index + 1}”")
        await _click(page, target)
        await watch.settle()
        await _back_home(page, home)


async def _labels(buttons: Any) -> list[str]:
    try:
        return [
            " ".join(str(text).split())[:60]
            for text in await buttons.evaluate_all(
                "(els) => els.map((el) => el.innerText || el.getAttribute('aria-label') || '')"
            )
        ]
    except Exception:
        return []


async def _submit(
    page: Page, form: Any, fields: list[dict[str, Any]], properties: dict[str, dict[str, Any]]
) -> None:
    controls = form.locator("input, textarea, select")
    for position, data in enumerate(fields):
        item = FormField.from_page(data)
        fill = choose_value(item, matching_property(item, properties))
        control = controls.nth(position)
        try:
            if fill.how == "fill":
                await control.fill(fill.value, timeout=ACTION_TIMEOUT_MS)
            elif fill.how == "check":
                await control.check(timeout=ACTION_TIMEOUT_MS)
            elif fill.how == "select":
                await control.select_option(fill.value, timeout=ACTION_TIMEOUT_MS)
        except Exception as error:  # a field that will not take a value: the form says so
            log.info("could not fill a field: %s", error)
    submit = form.locator("button[type=submit], input[type=submit], button:not([type])").first
    try:
        if await submit.count() and await submit.is_visible():
            await submit.click(timeout=ACTION_TIMEOUT_MS)
        else:
            await form.evaluate("(f) => f.requestSubmit()")
    except Exception as error:
        log.info("could not submit a form: %s", error)


async def _click(page: Page, target: Any) -> None:
    try:
        await target.click(timeout=ACTION_TIMEOUT_MS)
        await page.keyboard.press("Escape")  # a dialog or menu it opened
    except Exception as error:
        log.info("could not click a button: %s", error)


async def _back_home(page: Page, home: str) -> None:
    if urlsplit(page.url).path != urlsplit(home).path:
        try:
            await page.goto(home, wait_until="load", timeout=15_000)
            await page.wait_for_timeout(SETTLE_MS)
        except Exception as error:
            log.info("could not go back to %s: %s", home, error)
