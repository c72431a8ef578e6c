"""Route registration: the plan's routes into the frontend's route registry and the backend's
routers into the router registry. Deterministic, no LLM; rendering is pure, writing goes through
the workspace's merge rules because the registries are the user's files too.
"""

from __future__ import annotations

import json
import keyword
from dataclasses import dataclass, field
from functools import cache
from pathlib import PurePosixPath

from protocol.plan import Plan
from server.plan.validation import component_file
from server.source.python import analyze_python
from server.template import TEMPLATE_DIR

ROUTES_MODULE = "frontend/src/routes.tsx"
ROUTER_REGISTRY = "backend/router_registry.py"
FALLBACK_ICON = "Circle"
PENDING_PAGE = "PendingPage"


@cache
def lucide_icons() -> frozenset[str]:
    lines = (TEMPLATE_DIR.parent / "lucide-icons.txt").read_text().splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


@dataclass
class RenderedRoutes:
    text: str
    notes: list[str] = field(default_factory=list)


def _js(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def render_routes(plan: Plan, exists: set[str]) -> RenderedRoutes:
    """frontend/src/routes.tsx for the plan. `exists`: planned files already on disk; a route whose
    component is not written yet shows the template's PendingPage, so the build never breaks."""
    icons = lucide_icons()
    notes: list[str] = []
    used_icons: set[str] = set()
    entries: list[str] = []
    needs_pending = False
    for route in plan.routes:
        icon = route.icon
        if icon not in icons:
            notes.append(
                f"route {route.path}: {icon!r} is not a lucide-react icon; using {FALLBACK_ICON}."
            )
            icon = FALLBACK_ICON
        used_icons.add(icon)
        source = component_file(plan, route.component)
        if source is not None and source in exists:
            module = "./" + str(PurePosixPath(source).relative_to("frontend/src").with_suffix(""))
            component = f"lazy(() => import({_js(module)}))"
        else:
            component = PENDING_PAGE
            needs_pending = True
        entries.append(
            "  {\n"
            f"    path: {_js(route.path)},\n"
            f"    label: {_js(route.label)},\n"
            f"    group: {_js(route.group)},\n"
            f"    icon: {icon},\n"
            f"    component: {component},\n"
            "  },\n"
        )
    lines = [
        "// The route registry: StepForge writes the plan's routes here. Edit freely; your edits are kept.\n"
    ]
    if any("lazy(" in entry for entry in entries):
        lines.append('import { lazy } from "react";\n')
    if used_icons:
        lines.append(f'import {{ {", ".join(sorted(used_icons))} }} from "lucide-react";\n')
    if needs_pending:
        lines.append(f'import {PENDING_PAGE} from "./layout/{PENDING_PAGE}";\n')
    lines.append('import type { AppRoute } from "./layout/types";\n\n')
    body = "".join(entries)
    lines.append(
        f"export const routes: AppRoute[] = [\n{body}];\n"
        if body
        else "export const routes: AppRoute[] = [];\n"
    )
    return RenderedRoutes("".join(lines), notes)


def defines_api_router(source: str) -> bool:
    """Whether a module assigns `router = APIRouter(...)` at its top level."""
    return "router" in analyze_python(source).router_prefixes


def backend_module(path: str) -> str:
    """backend/routers/tasks.py -> routers.tasks (modules import from the backend root)."""
    return ".".join(PurePosixPath(path).relative_to("backend").with_suffix("").parts)


def render_router_registry(router_files: list[str]) -> str:
    modules = sorted(backend_module(path) for path in router_files)
    imports = "".join(
        f"from {module} import router as {module.replace('.', '_')}_router\n" for module in modules
    )
    items = "".join(f"    {module.replace('.', '_')}_router,\n" for module in modules)
    return (
        '"""The router registry: StepForge includes here every backend module that defines `router`.\n'
        "\n"
        "Edit freely; your edits are kept.\n"
        '"""\n'
        "\n"
        "from fastapi import APIRouter\n"
        "\n"
        + (imports + "\n" if imports else "")
        + (
            f"ROUTERS: list[APIRouter] = [\n{items}]\n"
            if items
            else "ROUTERS: list[APIRouter] = []\n"
        )
    )


def importable(path: str) -> bool:
    """Whether a backend file is a module Python can import by name (plans are checked for this;
    an edited plan.json might not be, and the registry must never become a syntax error)."""
    parts = PurePosixPath(path).relative_to("backend").with_suffix("").parts
    return all(p.isidentifier() and not keyword.iskeyword(p) for p in parts)


def backend_candidates(plan: Plan) -> list[str]:
    """Planned backend Python modules that may define a router."""
    return [
        path
        for path in plan.file_paths()
        if path.startswith("backend/")
        and path.endswith(".py")
        and PurePosixPath(path).name != "__init__.py"
        and importable(path)
    ]


def affects_registries(plan: Plan, path: str) -> bool:
    """Whether a newly written `path` changes what the registries should hold."""
    return path in backend_candidates(plan) or any(
        component_file(plan, r.component) == path for r in plan.routes
    )
