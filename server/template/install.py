"""Laying the template into a workspace and keeping its registries in step with the plan."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import anyio

from protocol.plan import Plan
from server.template import template_bytes, template_paths
from server.template.page_title import INDEX_HTML, titled_index_html
from server.template.registrar import (
    ROUTER_REGISTRY,
    ROUTES_MODULE,
    backend_candidates,
    defines_api_router,
    render_router_registry,
    render_routes,
)
from server.workspace.session import WorkspaceSession
from server.workspace.state import COMPLETE_STATES
from server.workspace.writer import WriteOutcome

log = logging.getLogger(__name__)

# A workspace holding either of these already has an app: the template is not laid over it.
APP_MARKERS = ("frontend/package.json", "backend/main.py")


@dataclass
class Registration:
    notes: list[str] = field(default_factory=list)
    conflicts: dict[str, str] = field(default_factory=dict)  # path -> conflict id


async def lay_out_template(session: WorkspaceSession) -> list[str]:
    """Write the template's files into a workspace that holds no app yet; never over a file.
    The page's title is the project's name (the plan names it before the template is laid out)."""
    if any(session.exists(marker) for marker in APP_MARKERS):
        return ["The workspace already holds an app; the template was not laid out over it."]
    written = 0
    for relative in template_paths():
        if session.exists(relative):
            continue
        data = await anyio.to_thread.run_sync(template_bytes, relative)
        if relative == INDEX_HTML:
            name = session.store.state.project_name
            data = titled_index_html(data.decode("utf-8"), name).encode("utf-8")
        result = await session.write(relative, data, recreate=True)
        written += result.outcome is WriteOutcome.WRITTEN
    log.info("laid out %d template files in %s", written, session.root)
    return []


async def register(session: WorkspaceSession, plan: Plan) -> Registration:
    """Write the route registry and the router registry for the plan and the files written so far.
    Idempotent; a user's edits to either registry are merged, never overwritten."""
    state = session.store.state
    complete = {
        path
        for path in plan.file_paths()
        if path in state.files
        and state.files[path].state in COMPLETE_STATES
        and session.exists(path)
    }
    registration = Registration()
    routes = render_routes(plan, complete)
    registration.notes += routes.notes

    router_files = []
    for path in backend_candidates(plan):
        if path in complete:
            source = await anyio.to_thread.run_sync(session.read, path)
            if source is not None and defines_api_router(source.decode("utf-8", "replace")):
                router_files.append(path)

    for relative, text in (
        (ROUTES_MODULE, routes.text),
        (ROUTER_REGISTRY, render_router_registry(router_files)),
    ):
        result = await session.write(relative, text.encode())
        if result.outcome is WriteOutcome.CONFLICT and result.conflict_id:
            registration.conflicts[relative] = result.conflict_id
            registration.notes.append(
                f"{relative}: your edits conflict with the new registrations; kept yours "
                f"(conflict {result.conflict_id})."
            )
        elif result.outcome is WriteOutcome.SKIPPED:
            registration.notes.append(f"{relative} was deleted; not recreated.")
    await session.store.save()
    return registration
