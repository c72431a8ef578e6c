"""StepForge's services behind one object, free of LSP: the language server calls these methods,
and so can tests. Each method takes validated params and a workspace root, and returns a result
model of the protocol."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import anyio

from protocol import methods
from protocol.models import (
    FileState,
    FileStatusNotification,
    GenerateParams,
    GenerateResult,
    PlanParams,
    PlanResult,
    StatusResult,
    WireModel,
)
from server.config import Settings
from server.generation.service import GenerationRun, RunOptions
from server.llm import LLMClient
from server.planning.naming import project_name
from server.planning.planner import Planner, plan_document
from server.progress import Progress
from server.status import build_status
from server.template import template_paths
from server.template.install import lay_out_template, register
from server.template.registrar import affects_registries
from server.workspace.atomic import atomic_write
from server.workspace.session import WorkspaceSession

log = logging.getLogger(__name__)

Notify = Callable[[str, WireModel], None]


class StepForge:
    def __init__(self, settings: Settings, notify: Notify | None = None) -> None:
        self.settings = settings
        self._notify = notify
        self.llm = LLMClient(settings)
        self.planner = Planner(self.llm, settings)
        self.sessions: dict[Path, WorkspaceSession] = {}

    def notify(self, method: str, payload: WireModel) -> None:
        if self._notify is not None:
            self._notify(method, payload)

    def session(self, root: Path) -> WorkspaceSession:
        if root not in self.sessions:
            self.sessions[root] = WorkspaceSession(root, self._on_file_status)
        return self.sessions[root]

    def _on_file_status(self, notification: FileStatusNotification) -> None:
        self.notify(methods.FILE_STATUS, notification)

    async def aclose(self) -> None:
        await self.llm.aclose()

    # --- stepforge/plan ------------------------------------------------------------------------

    async def plan(self, root: Path, params: PlanParams, progress: Progress) -> PlanResult:
        session = self.session(root)
        async with session.exclusive("plan") as store:
            answer = await self.planner.make_plan(
                params.request,
                progress,
                prompts_dir=session.layout.prompts,
                template_paths=template_paths(),
                exists=session.exists,
            )
            name = store.state.project_name or project_name(answer.plan.project_name, params.request)
            plan = answer.plan.model_copy(update={"project_name": name})
            progress.report("Writing .stepforge/plan.json", 90)
            layout = session.layout
            if layout.plan.exists():
                previous = await anyio.to_thread.run_sync(layout.plan.read_bytes)
                await anyio.to_thread.run_sync(atomic_write, layout.meta / "plan.previous.json", previous)
            await anyio.to_thread.run_sync(atomic_write, layout.plan, plan_document(plan))
            session.set_plan(plan)
            store.state.project_name = name
            store.state.request = params.request
            for path in plan.file_paths():
                store.record(path)
            store.add_usage(None, answer.usage)
            progress.report("Laying out the template and registering routes", 95)
            notes = await lay_out_template(session)
            notes += (await register(session, plan)).notes
            await store.save()
        return PlanResult(
            project_name=name,
            plan=plan.to_document(),
            plan_path=str(layout.plan),
            usage=answer.usage,
            attempts=answer.attempts,
            notes=notes,
        )

    # --- stepforge/status ----------------------------------------------------------------------

    async def status(self, root: Path) -> StatusResult:
        session = self.session(root)
        if session.job is not None:
            # A job of this process holds the state: copy what status needs on the loop, so the
            # worker thread never reads a dict the job is changing.
            state = session.store.state.model_copy(deep=True)
        else:
            state = await anyio.to_thread.run_sync(session.current_state)
        plan = await anyio.to_thread.run_sync(session.load_plan)
        paths = plan.file_paths() if plan is not None else list(state.files)
        effective = await anyio.to_thread.run_sync(session.effective_states, state, paths)
        generating = session.job is not None or any(
            s == FileState.GENERATING for s in effective.values()
        )
        return build_status(root, plan, session.plan_error, state, effective, generating)

    # --- stepforge/generate --------------------------------------------------------------------

    async def generate(self, root: Path, params: GenerateParams, progress: Progress) -> GenerateResult:
        session = self.session(root)
        async with session.exclusive("generate") as store:
            plan = await anyio.to_thread.run_sync(session.require_plan)
            registering = anyio.Lock()

            async def on_file_done(path: str) -> None:
                # A page or an API module just landed: show it in the running preview at once.
                if affects_registries(plan, path):
                    async with registering:
                        await register(session, plan)

            run = GenerationRun(
                session,
                plan,
                self.llm,
                self.settings,
                progress,
                RunOptions(
                    only=params.only,
                    force=params.force,
                    concurrency=params.concurrency or self.settings.concurrency,
                    single_shot=params.single_shot,
                ),
                on_file_done,
            )
            result = await run.run()
            async with registering:
                await register(session, plan)
            await store.save()
        return result
