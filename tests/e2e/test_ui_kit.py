"""The template's Tailwind and component kit in a real browser (Debian's chromium through
playwright): utility classes get Tailwind's styles, the kit's components render, the runtime
check's screenshots exist for every route and show something, a blank page is a warning, and a
class nobody defines is no error. And `new --preview` runs the app while its files are written.

The app is the template with the scripted task manager, plus three pages of this test's own: a
gallery of the kit, a page with an undefined class, a blank page. It is built with the template's
own `npm run build` (tsc, then vite build) and served by `vite preview`; no backend runs, so the
pages show their "could not load" states (network errors are not page errors).
"""

from __future__ import annotations

import base64
import copy
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from protocol.models import PageScreenshot, Severity
from protocol.plan import Plan
from server.checks import smoke
from server.checks.project import Project
from server.template.registrar import render_routes
from tests.conftest import daemon_env, require_docker, run_cli
from tests.fake_groq import AppResponder, FakeGroq, ScriptedApp
from tests.fake_groq.server import Latency
from tests.unit.test_template import lay_out, npm_build, template_node_modules  # noqa: F401

pytestmark = pytest.mark.slow

KIT_PAGE = """import { useState } from "react";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardHeader, CardTitle } from "@/components/ui/card";
import { Checkbox } from "@/components/ui/checkbox";
import { Dialog, DialogContent, DialogDescription, DialogTitle, DialogTrigger } from "@/components/ui/dialog";
import { EmptyState } from "@/components/ui/empty-state";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { Select, SelectContent, SelectItem, SelectTrigger, SelectValue } from "@/components/ui/select";
import { Skeleton } from "@/components/ui/skeleton";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { Tabs, TabsContent, TabsList, TabsTrigger } from "@/components/ui/tabs";
import { Textarea } from "@/components/ui/textarea";
import { toast } from "@/components/ui/toast";

export default function Kit() {
  const [done, setDone] = useState(false);
  return (
    <div className="space-y-6">
      <h1>Kit</h1>
      <div className="bg-blue-600 p-4 text-white" data-testid="utility">utility</div>
      <Card data-testid="card">
        <CardHeader><CardTitle>Card title</CardTitle></CardHeader>
        <CardContent className="flex flex-wrap items-center gap-3">
          <Button data-testid="primary" onClick={() => toast.success("Saved", "the kit works")}>Save</Button>
          <Button variant="outline">Outline</Button>
          <Badge variant="success">done</Badge>
          <Label htmlFor="done">Done</Label>
          <Checkbox id="done" checked={done} onCheckedChange={(checked) => setDone(checked === true)} />
          <Input placeholder="Title" />
          <Textarea placeholder="Notes" />
          <Select defaultValue="a">
            <SelectTrigger className="w-40"><SelectValue /></SelectTrigger>
            <SelectContent><SelectItem value="a">Alpha</SelectItem></SelectContent>
          </Select>
          <Skeleton className="h-4 w-24" />
        </CardContent>
      </Card>
      <Tabs defaultValue="one">
        <TabsList><TabsTrigger value="one">One</TabsTrigger><TabsTrigger value="two">Two</TabsTrigger></TabsList>
        <TabsContent value="one">First tab</TabsContent>
        <TabsContent value="two">Second tab</TabsContent>
      </Tabs>
      <Table>
        <TableHeader><TableRow><TableHead>Name</TableHead></TableRow></TableHeader>
        <TableBody><TableRow><TableCell>Row one</TableCell></TableRow></TableBody>
      </Table>
      <Dialog>
        <DialogTrigger asChild><Button variant="secondary">Open dialog</Button></DialogTrigger>
        <DialogContent>
          <DialogTitle>Dialog title</DialogTitle>
          <DialogDescription>Dialog text</DialogDescription>
        </DialogContent>
      </Dialog>
      <EmptyState title="Nothing here" description="An empty state" />
    </div>
  );
}
"""
ODD_PAGE = """export default function Odd() {
  return (
    <div className="fancy-card-that-nobody-defines btn-primary">
      <h1>Odd</h1>
    </div>
  );
}
"""
BLANK_PAGE = """export default function Blank() {
  return <div className="space-y-6" />;
}
"""
EXTRA = {"Kit": KIT_PAGE, "Odd": ODD_PAGE, "Blank": BLANK_PAGE}


def chromium_or_skip() -> str:
    executable = smoke.chromium()
    if executable is None:
        if os.environ.get("STEPFORGE_REQUIRE_DOCKER") == "1":
            pytest.fail("Debian's chromium is required in CI")
        pytest.skip("chromium is not installed")
    return executable


def app_plan() -> Plan:
    document = copy.deepcopy(ScriptedApp.fixture().plan)
    paths = [f"frontend/src/pages/{name}.tsx" for name in EXTRA]
    document["files"]["frontend"] = [*document["files"]["frontend"], *paths]
    document["routes"] = [
        *document["routes"],
        *(
            {"path": f"/{name.lower()}", "component": name, "icon": "Circle", "label": name}
            for name in EXTRA
        ),
    ]
    last = max(step["step"] for step in document["implementation_order"])
    document["implementation_order"].append({"step": last + 1, "type": "page", "files": paths})
    return Plan.model_validate(document)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def served(tmp_path, template_node_modules):  # noqa: F811
    """The built app served by `vite preview` on 127.0.0.1: (root, plan, url)."""
    chromium_or_skip()
    root = lay_out(tmp_path, template_node_modules)
    plan = app_plan()
    files = {**ScriptedApp.fixture().files}
    files.update({f"frontend/src/pages/{name}.tsx": text for name, text in EXTRA.items()})
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    (root / "frontend/src/routes.tsx").write_text(render_routes(plan, set(plan.file_paths())).text)
    built = npm_build(root)  # tsc -b (the kit, the app, the odd class) and vite build
    assert built.returncode == 0, built.stdout + built.stderr
    port = free_port()
    server = subprocess.Popen(
        ["npx", "vite", "preview", "--host", "127.0.0.1", "--port", str(port), "--strictPort"],
        cwd=root / "frontend",
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + "/", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline and server.poll() is None, (
                "vite preview did not start"
            )
            time.sleep(0.2)
        yield root, plan, url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)
        shutil.rmtree(root / "frontend" / "dist", ignore_errors=True)


async def colours_in(page, png: bytes) -> int:
    """How many distinct colours a grid of samples of the picture has (decoded by the browser)."""
    source = "data:image/png;base64," + base64.b64encode(png).decode()
    return int(
        await page.evaluate(
            """async (source) => {
              const img = new Image();
              img.src = source;
              await img.decode();
              const canvas = document.createElement("canvas");
              canvas.width = img.width; canvas.height = img.height;
              const context = canvas.getContext("2d");
              context.drawImage(img, 0, 0);
              const pixels = context.getImageData(0, 0, img.width, img.height).data;
              const seen = new Set();
              for (let i = 0; i < pixels.length; i += 4 * 7)
                seen.add((pixels[i] << 16) | (pixels[i + 1] << 8) | pixels[i + 2]);
              return seen.size;
            }""",
            source,
        )
    )


async def test_tailwind_the_kit_and_page_pictures_in_chromium(served):
    root, plan, url = served
    from playwright.async_api import async_playwright

    # The runtime check's page pass: every route loads, is pictured, and only Blank is flagged.
    screenshots: list[PageScreenshot] = []
    found = await smoke._pages(url, Project(plan, {}), root, screenshots)
    assert [(p.path, p.code, p.severity) for p in found] == [
        ("frontend/src/pages/Blank.tsx", "page-blank", Severity.WARNING)
    ]  # the undefined class of Odd is no error
    assert [s.route for s in screenshots] == [route.path for route in plan.routes]
    assert {s.route for s in screenshots if s.blank} == {"/blank"}
    pictures = {s.route: root / s.path for s in screenshots}
    assert pictures["/tasks"] == root / ".stepforge/screenshots/tasks.png"
    assert sorted(p.name for p in (root / ".stepforge/screenshots").iterdir()) == sorted(
        p.name for p in pictures.values()
    )

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium_or_skip(), args=smoke.CHROMIUM_ARGS
        )
        try:
            page = await browser.new_page()
            for route, picture in pictures.items():
                assert picture.read_bytes().startswith(b"\x89PNG"), route
                if route != "/blank":  # the layout, and the page's own content
                    assert await colours_in(page, picture.read_bytes()) > 8, route

            await page.goto(url + "/kit", wait_until="load")
            utility = page.get_by_test_id("utility")
            await utility.wait_for()
            style = await utility.evaluate(
                "e => { const s = getComputedStyle(e); return [s.backgroundColor, s.paddingTop, s.color]; }"
            )
            # Tailwind v4's blue-600 is oklch(54.6% 0.245 262.881); p-4 is 1rem.
            assert style == ["oklch(0.546 0.245 262.881)", "16px", "rgb(255, 255, 255)"]
            primary = page.get_by_test_id("primary")
            token = await page.evaluate(
                """() => {
                  const probe = document.createElement("div");
                  probe.style.backgroundColor = "var(--primary)";
                  document.body.append(probe);
                  const value = getComputedStyle(probe).backgroundColor;
                  probe.remove();
                  return value;
                }"""
            )
            background = await primary.evaluate("e => getComputedStyle(e).backgroundColor")
            assert token.startswith("oklch(") and background == token  # bg-primary is the token
            for text in ("Card title", "done", "First tab", "Row one", "Nothing here", "Alpha"):
                assert await page.get_by_text(text, exact=True).first.is_visible(), text

            await primary.click()  # a toast
            await page.get_by_role("status").filter(has_text="Saved").wait_for(timeout=5000)
            await page.get_by_label("Done").click()  # the checkbox, through its label
            assert await page.locator("#done").get_attribute("data-state") == "checked"
            await page.get_by_role("tab", name="Two").click()
            await page.get_by_text("Second tab").wait_for(timeout=5000)
            await page.get_by_role("button", name="Open dialog").click()
            await page.get_by_role("dialog").get_by_text("Dialog title").wait_for(timeout=5000)
            await page.keyboard.press("Escape")

            # The dark theme: the sidebar's toggle switches every token.
            light = await page.evaluate("() => getComputedStyle(document.body).backgroundColor")
            await page.get_by_role("button", name="Switch to the dark theme").click()
            assert await page.evaluate("() => document.documentElement.classList.contains('dark')")
            dark = await page.evaluate("() => getComputedStyle(document.body).backgroundColor")
            assert dark != light
        finally:
            await browser.close()


def test_new_with_preview_answers_while_the_files_are_written(tmp_path):
    """The preview starts after the plan, while the files are written: the pages' answers wait
    until the running app answers (so a preview started only after generation would never come).
    Meanwhile every planned route is registered, unwritten pages as the pending placeholder; at
    the end the dev server serves every page's module. (HTTP against the dev server: Chromium on a
    busy Docker host aborts module loads with ERR_NETWORK_CHANGED.)"""
    require_docker()
    app = ScriptedApp.fixture()
    plan = Plan.model_validate(app.plan)
    pages = [f"frontend/src/pages/{route.component}.tsx" for route in plan.routes]
    responder = AppResponder(app)
    gate = threading.Event()
    for path in pages:
        responder.overrides[path] = lambda request, text=app.files[path]: (
            gate.wait(240),
            text,
        )[1]
    latency = Latency(first_token_seconds=0.3, tokens_per_second=400)
    with FakeGroq(responder, latency=latency) as fake:
        env = daemon_env(fake)
        command = [sys.executable, "-m", "server", "new", "a task manager", "--preview", "--json"]
        process = subprocess.Popen(
            [*command, "--parent", str(tmp_path)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        folder = tmp_path / "task-manager"
        try:
            frontend = wait_for_frontend(folder, process)
            assert not any((folder / p).exists() for p in pages)  # still being written
            routes = (folder / "frontend/src/routes.tsx").read_text()
            assert routes.count("PendingPage") > len(plan.routes)  # every route, each pending
            assert all(f'label: "{route.label}"' in routes for route in plan.routes)
            gate.set()

            out, err = process.communicate(timeout=600)
            assert process.returncode == 0, err
            result = json.loads(out[out.index("{") :])
            assert result["previewReadySeconds"] > 0  # the plan to a running app (BENCHMARKS.md)
            assert all((folder / p).exists() for p in pages)
            routes = (folder / "frontend/src/routes.tsx").read_text()
            assert "PendingPage" not in routes.split("export const routes", 1)[1]
            served = httpx.get(f"{frontend}/src/routes.tsx", timeout=60)  # as Vite transforms it
            assert served.status_code == 200 and served.text.count("import(") == len(pages)
            for path in (p.removeprefix("frontend/") for p in pages):
                served = httpx.get(f"{frontend}/{path}", timeout=60)
                assert served.status_code == 200 and "export default" in served.text, path
        finally:
            gate.set()
            if process.poll() is None:
                process.kill()
                process.communicate()
            if folder.exists():
                run_cli("preview", "stop", "--workspace", str(folder), env=env)


def wait_for_frontend(folder: Path, process: subprocess.Popen[str]) -> str:
    """The preview's frontend URL once it answers (the `new` command still running)."""
    record = folder / ".stepforge" / "preview.json"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[1]
        if record.exists():
            preview = json.loads(record.read_text())
            if preview.get("running") and preview.get("frontend_port"):
                url = f"http://127.0.0.1:{preview['frontend_port']}"
                try:
                    if httpx.get(url + "/", timeout=5).status_code == 200:
                        return url
                except httpx.HTTPError:
                    pass
        time.sleep(0.3)
    raise AssertionError("the preview did not answer while the app was being written")
