"""The template and route registration: rendering is deterministic, and the app builds."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from protocol.plan import Plan
from server.template import TEMPLATE_DIR, template_paths
from server.template.registrar import (
    defines_api_router,
    lucide_icons,
    render_router_registry,
    render_routes,
)
from tests.fake_groq import ScriptedApp

APP = ScriptedApp.fixture()
PLAN = Plan.model_validate(APP.plan)


def test_the_template_registries_are_what_registration_renders_for_an_empty_plan():
    empty = Plan.model_validate({**APP.plan, "routes": []})
    assert (TEMPLATE_DIR / "frontend/src/routes.tsx").read_text() == render_routes(
        empty, set()
    ).text
    assert (TEMPLATE_DIR / "backend/router_registry.py").read_text() == render_router_registry([])


def test_routes_import_written_pages_lazily_and_show_pending_ones():
    rendered = render_routes(PLAN, {"frontend/src/pages/Dashboard.tsx"})
    assert 'component: lazy(() => import("./pages/Dashboard")),' in rendered.text
    assert rendered.text.count("component: PendingPage") == 3
    assert 'group: "Work"' in rendered.text and 'group: "Overview"' in rendered.text
    assert (
        'import { FolderKanban, LayoutDashboard, ListChecks, Settings } from "lucide-react";'
        in rendered.text
    )
    assert (
        render_routes(PLAN, {"frontend/src/pages/Dashboard.tsx"}).text == rendered.text
    )  # deterministic


def test_an_unknown_icon_falls_back_with_a_note():
    plan = Plan.model_validate(
        {**APP.plan, "routes": [{**APP.plan["routes"][0], "icon": "NoSuchIcon"}]}
    )
    rendered = render_routes(plan, set())
    assert "icon: Circle," in rendered.text and "NoSuchIcon" not in rendered.text
    assert rendered.notes == [
        "route /dashboard: 'NoSuchIcon' is not a lucide-react icon; using Circle."
    ]


def test_labels_are_escaped_as_strings():
    plan = Plan.model_validate(
        {**APP.plan, "routes": [{**APP.plan["routes"][0], "label": 'Say "hi" </script>'}]}
    )
    assert 'label: "Say \\"hi\\" </script>",' in render_routes(plan, set()).text


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from fastapi import APIRouter\nrouter = APIRouter(prefix='/api/x')\n", True),
        ("import fastapi\nrouter: fastapi.APIRouter = fastapi.APIRouter()\n", True),
        ("router = make_router()\n", False),
        ("def f():\n    router = APIRouter()\n", False),
        ("router = APIRouter(\n", False),
    ],
)
def test_router_modules_are_recognised(source, expected):
    assert defines_api_router(source) is expected


def test_router_registry_includes_each_router_module():
    text = render_router_registry(["backend/routers/tasks.py", "backend/api/v1/stats.py"])
    assert "from api.v1.stats import router as api_v1_stats_router" in text
    assert "from routers.tasks import router as routers_tasks_router" in text
    compile(text, "router_registry.py", "exec")


# --- building for real ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def template_node_modules(tmp_path_factory) -> Path:
    """The template's dependencies, installed once per test run from its lock file."""
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed")
    folder = tmp_path_factory.mktemp("template-deps")
    for name in ("package.json", "package-lock.json"):
        shutil.copy(TEMPLATE_DIR / "frontend" / name, folder / name)
    subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund"],
        cwd=folder,
        check=True,
        capture_output=True,
        timeout=600,
    )
    return folder / "node_modules"


def lay_out(root: Path, node_modules: Path) -> Path:
    for relative in template_paths():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(TEMPLATE_DIR / relative, target)
    (root / "frontend" / "node_modules").symlink_to(node_modules)
    return root


def npm_build(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["npm", "run", "build"], cwd=root / "frontend", capture_output=True, text=True, timeout=300
    )


def test_the_icon_list_matches_the_pinned_lucide_react(template_node_modules):
    exported = subprocess.run(
        ["node", "-e", "console.log(JSON.stringify(Object.keys(require('lucide-react'))))"],
        cwd=template_node_modules.parent,
        capture_output=True,
        text=True,
        check=True,
    )
    names = set(json.loads(exported.stdout))
    assert lucide_icons() <= names and {"LayoutDashboard", "Circle", "BarChart3"} <= lucide_icons()


def test_the_template_builds_empty_after_registration_and_when_generated(
    tmp_path, template_node_modules
):
    root = lay_out(tmp_path, template_node_modules)
    built = npm_build(root)
    assert built.returncode == 0, built.stdout + built.stderr

    (root / "frontend/src/routes.tsx").write_text(render_routes(PLAN, set()).text)  # pages pending
    built = npm_build(root)
    assert built.returncode == 0, built.stdout + built.stderr

    for path, content in APP.files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(content)
    (root / "frontend/src/routes.tsx").write_text(render_routes(PLAN, set(PLAN.file_paths())).text)
    built = npm_build(root)
    assert built.returncode == 0, built.stdout + built.stderr
    assert any(
        p.name.startswith("Dashboard-") for p in (root / "frontend/dist/assets").iterdir()
    )  # lazily split
