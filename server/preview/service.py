"""Previews: start, stop, status and logs of a workspace's two servers, whichever runtime runs them.

A preview belongs to its workspace. Started detached (the headless CLI), it keeps running after
the daemon exits, and any later daemon finds it in `.stepforge/preview.json`. Started by an editor
session, it is stopped when that session shuts down; if the daemon dies first, the next daemon to
start reaps it (only such previews count as orphans).

A start that fails leaves nothing behind: it refuses a folder with no app before it creates
anything, records the preview (its reserved ports in the user's index, then `preview.json`) before
it starts a server, and on any later failure stops what it started and frees its ports.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import anyio
import httpx

from protocol.errors import ErrorCode
from protocol.models import (
    PreviewHealth,
    PreviewLogLine,
    PreviewLogsResult,
    PreviewStartParams,
    PreviewStartResult,
    PreviewStatusResult,
    PreviewStopResult,
)
from server.config import Settings
from server.errors import StepForgeError
from server.preview import database, migrations
from server.preview.docker_runtime import DockerRuntime
from server.preview.launch import LaunchSpec
from server.preview.local_runtime import LocalRuntime
from server.preview.owner import current_owner, is_alive
from server.preview.ports import PORT_ATTEMPTS, is_port_conflict
from server.preview.preconditions import cannot_write, require_app
from server.preview.records import (
    ROLES,
    DatabaseName,
    LogRole,
    PreviewIndex,
    PreviewRecord,
    Role,
    RuntimeName,
    read_workspace_record,
    write_workspace_record,
)
from server.progress import Progress

log = logging.getLogger(__name__)

LogListener = Callable[[str, Role, str], None]  # workspace, role, line


class Runtime(Protocol):
    name: RuntimeName

    def unavailable(self) -> str | None: ...
    def start(self, spec: LaunchSpec) -> dict[str, str]: ...
    def alive(self, record: PreviewRecord) -> dict[str, bool]: ...
    def stop(self, record: PreviewRecord) -> None: ...
    def tail(self, record: PreviewRecord, lines: int) -> Sequence[tuple[LogRole, str]]: ...
    def follow(
        self, record: PreviewRecord, role: str, emit: Callable[[str], None], stop: threading.Event
    ) -> None: ...


def backend_log_crashed(lines: list[str]) -> bool:
    """A traceback after the last successful start, ended by its exception line."""
    started = max(
        (i for i, line in enumerate(lines) if "Application startup complete" in line), default=-1
    )
    traceback = max(
        (i for i, line in enumerate(lines) if "Traceback (most recent call last)" in line),
        default=-1,
    )
    if traceback <= started:
        return False
    return any(
        line and not line.startswith((" ", "\t", "Traceback")) for line in lines[traceback + 1 :]
    )


def last_lines(tail: Sequence[tuple[LogRole, str]], lines: int) -> list[tuple[LogRole, str]]:
    """The last `lines` lines in all of a tail that holds up to `lines` per role: shared evenly
    between the two servers, a quiet server's unused share going to the other; the database's
    (Postgres) take up to a quarter, or what the servers leave."""
    frontend = [item for item in tail if item[0] == "frontend"]
    backend = [item for item in tail if item[0] == "backend"]
    server_lines = [item for item in tail if item[0] == "database"]
    take_database = min(len(server_lines), max(lines // 4, lines - len(frontend) - len(backend)))
    lines -= take_database
    take_frontend = min(len(frontend), max((lines + 1) // 2, lines - len(backend)))
    take_backend = min(len(backend), lines - take_frontend)
    return (
        frontend[len(frontend) - take_frontend :]
        + backend[len(backend) - take_backend :]
        + server_lines[len(server_lines) - take_database :]
    )


# A server that has just come up is seen within HEALTH_POLL_SECONDS (at 0.3 s, the wait cost a
# warm start 0.15 s on average); the runtime's own checks are docker calls: once a second.
HEALTH_POLL_SECONDS = 0.05
LIVENESS_SECONDS = 1.0


class PreviewError(StepForgeError):
    code = ErrorCode.PREVIEW_FAILED


def loopback_client(timeout: float) -> httpx.AsyncClient:
    """A client for the preview's servers: plain HTTP on 127.0.0.1, so no CA bundle to load (20-30
    ms a client, on every start) and no proxy from the environment."""
    return httpx.AsyncClient(timeout=timeout, verify=False, trust_env=False)


async def _answers(client: httpx.AsyncClient, url: str) -> bool:
    try:
        return (await client.get(url)).status_code == 200
    except httpx.HTTPError:
        return False


async def _first_answer(client: httpx.AsyncClient, url: str) -> None:
    """Return once `url` answers 200, asking every HEALTH_POLL_SECONDS."""
    while True:
        if await _answers(client, url):
            return
        await anyio.sleep(HEALTH_POLL_SECONDS)


# The template's entry module (its index.html loads it). Asked for once the servers answer, so Vite
# transforms the app's shell (and, from its imports, the layout and the kit) before the browser
# asks, not as it starts: Vite's own `server.warmup` ran then, and made every start 0.12 s slower.
APP_ENTRY = "/src/main.tsx"


async def _warm_the_app(frontend_url: str) -> None:
    """Ask the dev server for the app's entry module; what it answers does not matter."""
    try:
        async with loopback_client(timeout=30.0) as client:
            await client.get(frontend_url + APP_ENTRY)
    except httpx.HTTPError:
        pass


async def check_health(record: PreviewRecord) -> PreviewHealth:
    async with loopback_client(timeout=2.0) as client:
        frontend, backend = await asyncio.gather(
            _answers(client, record.frontend_url + "/"),
            _answers(client, record.backend_url + "/api/health"),
        )
    return PreviewHealth(frontend=frontend, backend=backend)


class PreviewService:
    def __init__(
        self,
        settings: Settings,
        on_log: LogListener | None = None,
        index: PreviewIndex | None = None,
        on_warning: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings
        self.on_log = on_log
        self.on_warning = on_warning
        self.index = index or PreviewIndex()
        self.runtimes: dict[str, Runtime] = {
            "docker": DockerRuntime(
                settings.frontend_image,
                settings.backend_image,
                settings.container_mounts,
                settings.postgres_image,
            ),
            "local": LocalRuntime(),
        }
        self.owner = current_owner()
        self._attached: set[str] = set()  # workspaces whose preview ends with this session
        self._followers: dict[str, threading.Event] = {}
        self._warming: set[asyncio.Task[None]] = set()  # kept: the loop holds tasks weakly

    # --- runtime choice --------------------------------------------------------------------------

    async def choose_runtime(self, requested: RuntimeName | None) -> tuple[Runtime, str]:
        configured = self.settings.preview_runtime
        name = requested or (None if configured == "auto" else configured)
        if name is not None:
            runtime = self.runtimes[name]
            reason = await anyio.to_thread.run_sync(runtime.unavailable)
            if reason:
                raise StepForgeError(
                    f"The {name} runtime is unavailable: {reason}.",
                    code=ErrorCode.RUNTIME_UNAVAILABLE,
                )
            return runtime, f"{name} runtime"
        docker_reason = await anyio.to_thread.run_sync(self.runtimes["docker"].unavailable)
        if docker_reason is None:
            return self.runtimes["docker"], "docker runtime (a Docker engine answers)"
        local_reason = await anyio.to_thread.run_sync(self.runtimes["local"].unavailable)
        if local_reason:
            raise StepForgeError(
                f"No runtime can run the preview: docker: {docker_reason}; local: {local_reason}.",
                code=ErrorCode.RUNTIME_UNAVAILABLE,
            )
        if self.on_warning is not None:
            self.on_warning(
                f"The preview runs as local processes because Docker cannot ({docker_reason}): "
                "the generated code runs unsandboxed on this machine, as you. Start Docker for "
                "a sandboxed preview, or set previewRuntime to local to accept this."
            )
        return self.runtimes["local"], f"local runtime (docker: {docker_reason})"

    def database_for(
        self, requested: DatabaseName | None, record: PreviewRecord | None
    ) -> DatabaseName:
        """The app's database for a start: asked for, else the setting if the user set it, else
        the one the workspace last ran with (its data is there), else the default (sqlite)."""
        if requested is not None:
            return requested
        if self.settings.explicitly_set("database") or record is None:
            return self.settings.database
        return record.database

    # --- start -----------------------------------------------------------------------------------

    async def start(
        self,
        root: Path,
        params: PreviewStartParams,
        progress: Progress,
        *,
        scratch_data: bool = False,
    ) -> PreviewStartResult:
        """Start the preview (`scratch_data`: with an empty scratch database, for checks)."""
        await anyio.to_thread.run_sync(require_app, root)
        record = await anyio.to_thread.run_sync(read_workspace_record, root)
        database_name = self.database_for(params.database, record)
        if record is not None and record.running:
            current = self.runtimes[record.runtime or "local"]
            alive = await anyio.to_thread.run_sync(current.alive, record)
            if (
                all(alive.values())
                and params.runtime in (None, record.runtime)
                and database_name == record.database
            ):
                health = await check_health(record)
                if health.frontend and health.backend:
                    if not params.detached and record.owner == self.owner:
                        self._attached.add(str(root))
                    return PreviewStartResult(
                        frontend_url=record.frontend_url,
                        backend_url=record.backend_url,
                        runtime=record.runtime or "local",
                        message="The preview was already running.",
                    )
            await self._stop_record(record)

        runtime, why = await self.choose_runtime(params.runtime)
        if not scratch_data:  # a migration the last change could not make: tried again first
            migrated = await migrations.pending_before_start(root, self.settings)
            if migrated is not None and migrated.state in ("failed", "unmigratable"):
                if self.on_warning is not None:
                    self.on_warning(migrated.message())
        remembered = (record.frontend_port, record.backend_port) if record else None
        record = await self._start_on_free_pair(
            root, runtime, remembered, params, why, progress, scratch_data, database_name
        )
        if not params.detached:
            self._attached.add(str(root))
        self._follow_logs(record, runtime)
        progress.report("Waiting for both servers to answer", 40)
        try:
            await self._wait_healthy(record, runtime, progress)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self._abandon(record)
            raise
        warming = asyncio.create_task(_warm_the_app(record.frontend_url))
        self._warming.add(warming)
        warming.add_done_callback(self._warming.discard)
        on_postgres = " and Postgres" if database_name == "postgres" and not scratch_data else ""
        return PreviewStartResult(
            frontend_url=record.frontend_url,
            backend_url=record.backend_url,
            runtime=record.runtime or "local",
            message=f"Preview running with the {why}{on_postgres}.",
        )

    async def _start_on_free_pair(
        self,
        root: Path,
        runtime: Runtime,
        remembered: tuple[int, int] | None,
        params: PreviewStartParams,
        why: str,
        progress: Progress,
        scratch_data: bool = False,
        database_name: DatabaseName = "sqlite",
    ) -> PreviewRecord:
        """Reserve a pair, record the preview, start it; a pair that someone outside StepForge
        took meanwhile is given up for the next one. Whatever fails, nothing stays running or
        reserved."""
        avoid: set[int] = set()
        for attempt in range(1, PORT_ATTEMPTS + 1):
            planned = PreviewRecord(
                workspace=str(root),
                frontend_port=0,
                backend_port=0,
                runtime=runtime.name,
                database=database_name,
                running=True,
                owner=self.owner,
                detached=params.detached,
                started=time.time(),
            )
            try:
                record = await anyio.to_thread.run_sync(
                    self.index.reserve, planned, remembered, avoid
                )
            except OSError as error:
                raise PreviewError(
                    f"cannot write the preview index {self.index.path}: {error.strerror or error}"
                ) from None
            # Recorded before anything starts: a start that cannot write its record starts
            # nothing, and a daemon dying mid-start leaves a record that says what to clean up.
            try:
                await anyio.to_thread.run_sync(write_workspace_record, root, record)
            except OSError as error:
                await anyio.to_thread.run_sync(self.index.release, record)
                raise PreviewError(cannot_write(root, error).message) from None
            except BaseException:
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(self.index.release, record)
                raise
            progress.report(
                f"Starting the preview with the {why} on ports "
                f"{record.frontend_port}/{record.backend_port}",
                10,
            )
            try:
                handles = await anyio.to_thread.run_sync(
                    runtime.start, LaunchSpec(record, self.settings, scratch_data)
                )
            except BaseException as error:
                with anyio.CancelScope(shield=True):
                    await self._abandon(record)
                if not isinstance(error, Exception):
                    raise
                if is_port_conflict(error) and attempt < PORT_ATTEMPTS:
                    log.info(
                        "ports %d/%d were taken meanwhile; trying the next pair",
                        record.frontend_port,
                        record.backend_port,
                    )
                    avoid |= {record.frontend_port, record.backend_port}
                    continue
                if isinstance(error, StepForgeError):
                    raise PreviewError(error.message) from None
                raise PreviewError(f"The {runtime.name} preview could not start: {error}") from None
            if runtime.name == "docker":
                record.containers = handles
            else:
                record.processes = handles
            try:
                await anyio.to_thread.run_sync(write_workspace_record, root, record)
                await anyio.to_thread.run_sync(self.index.put, record)
            except BaseException as error:
                with anyio.CancelScope(shield=True):
                    await self._abandon(record)
                if isinstance(error, OSError):
                    raise PreviewError(cannot_write(root, error).message) from None
                raise
            return record
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _abandon(self, record: PreviewRecord) -> None:
        """A start that failed: stop what it started, mark it stopped (keeping its ports for next
        time, if the folder takes the write) and free its pair in the index."""
        stop = self._followers.pop(record.workspace, None)
        if stop is not None:
            stop.set()
        try:
            if record.runtime is not None and (record.containers or record.processes):
                await anyio.to_thread.run_sync(self.runtimes[record.runtime].stop, record)
        finally:
            try:
                await anyio.to_thread.run_sync(
                    write_workspace_record, Path(record.workspace), record.stopped()
                )
            except (OSError, StepForgeError) as error:
                log.warning(
                    "could not mark the failed preview of %s stopped: %s", record.workspace, error
                )
            await anyio.to_thread.run_sync(self.index.release, record)
            self._attached.discard(record.workspace)

    async def _wait_healthy(
        self, record: PreviewRecord, runtime: Runtime, progress: Progress
    ) -> None:
        """Until both servers answer, with the runtime's own slower checks (a dead container, a
        crashed import, the deadline) once a LIVENESS_SECONDS meanwhile."""
        deadline = time.monotonic() + self.settings.preview_timeout
        urls = {
            "frontend": record.frontend_url + "/",
            "backend": record.backend_url + "/api/health",
        }
        answered = {"frontend": False, "backend": False}
        failure: PreviewError | None = None
        async with loopback_client(timeout=2.0) as client, anyio.create_task_group() as group:

            async def until_answers(role: str) -> None:
                await _first_answer(client, urls[role])
                answered[role] = True
                if all(answered.values()):
                    group.cancel_scope.cancel()
                else:
                    progress.report(
                        f"Waiting for the {'backend' if role == 'frontend' else 'frontend'}", 60
                    )

            for role in answered:
                group.start_soon(until_answers, role)
            while failure is None:
                await anyio.sleep(LIVENESS_SECONDS)
                try:
                    await self._fail_if_down(record, runtime, answered, deadline)
                except PreviewError as error:
                    failure = error
                    group.cancel_scope.cancel()
        if failure is not None:
            raise failure

    async def _fail_if_down(
        self, record: PreviewRecord, runtime: Runtime, answered: dict[str, bool], deadline: float
    ) -> None:
        """Raise, saying why and with the last log lines, if a server exited, the backend's
        import crashed, or the deadline passed."""
        frontend, backend = answered["frontend"], answered["backend"]
        alive = await anyio.to_thread.run_sync(runtime.alive, record)
        dead = [role for role, up in alive.items() if not up]
        crashed = not backend and await self._backend_crashed(record, runtime)
        if not (dead or crashed or time.monotonic() > deadline):
            return
        lines = await anyio.to_thread.run_sync(runtime.tail, record, 30)
        shown = "\n".join(f"[{role}] {line}" for role, line in lines) or "(no output)"
        unusable = database.database_error([line for role, line in lines if role == "backend"])
        server_down = await self._database_down(record, runtime)
        what = (
            f"the backend cannot use its database: {unusable}"
            if unusable
            else server_down
            if server_down
            else f"the {' and '.join(dead)} server exited"
            if dead
            else "the backend crashed while importing the app"
            if crashed
            else f"no answer within {self.settings.preview_timeout:.0f} s"
            f" (frontend {'ok' if frontend else 'down'}, backend {'ok' if backend else 'down'})"
        )
        raise PreviewError(f"The preview did not start: {what}. Last log lines:\n{shown}")

    async def _database_down(self, record: PreviewRecord, runtime: Runtime) -> str | None:
        """Why the preview's own database server (Postgres) cannot serve, or None."""
        if not isinstance(runtime, DockerRuntime):
            return None
        return await anyio.to_thread.run_sync(runtime.database_error, record)

    async def _backend_crashed(self, record: PreviewRecord, runtime: Runtime) -> bool:
        """Whether the backend's log ends in a traceback: `uvicorn --reload` keeps its reloader
        alive after the app fails to import, so the process alone does not tell."""

        def crashed() -> bool:  # in a worker thread: the log's lines can be long
            lines = runtime.tail(record, 200)
            return backend_log_crashed([line for role, line in lines if role == "backend"])

        return await anyio.to_thread.run_sync(crashed)

    # --- logs ------------------------------------------------------------------------------------

    def _follow_logs(self, record: PreviewRecord, runtime: Runtime) -> None:
        if self.on_log is None:
            return
        stop = threading.Event()
        self._followers[record.workspace] = stop
        loop = asyncio.get_running_loop()
        on_log = self.on_log
        for role in ROLES:

            def emit(line: str, role: Role = role) -> None:
                loop.call_soon_threadsafe(on_log, record.workspace, role, line)

            threading.Thread(
                target=runtime.follow,
                args=(record, role, emit, stop),
                daemon=True,
                name=f"preview-log-{role}",
            ).start()

    async def logs(self, root: Path, lines: int) -> PreviewLogsResult:
        record = await anyio.to_thread.run_sync(read_workspace_record, root)
        if record is None or record.runtime is None:
            return PreviewLogsResult(lines=[])
        tail = await anyio.to_thread.run_sync(self.runtimes[record.runtime].tail, record, lines)
        return PreviewLogsResult(
            lines=[PreviewLogLine(role=role, line=line) for role, line in last_lines(tail, lines)]
        )

    # --- status and stop -------------------------------------------------------------------------

    async def status(self, root: Path) -> PreviewStatusResult:
        record = await anyio.to_thread.run_sync(read_workspace_record, root)
        configured_url = self.settings.database_url_value()
        if record is None or not record.running or record.runtime is None:
            last = record.runtime if record is not None else None
            return PreviewStatusResult(
                running=False,
                data=database.describe(root, last, record.database, configured_url)
                if last and record is not None
                else None,
            )
        runtime = self.runtimes[record.runtime]
        alive = await anyio.to_thread.run_sync(runtime.alive, record)
        health = await check_health(record)
        data = database.describe(root, record.runtime, record.database, configured_url)
        # A database it cannot use: said, with the database's name (a stopped Postgres even
        # while the backend's health route, which reads no table, still answers).
        data.error = await self._database_down(record, runtime)
        if data.error is None and not health.backend:

            def backend_lines() -> list[str]:
                return [line for role, line in runtime.tail(record, 200) if role == "backend"]

            data.error = database.database_error(await anyio.to_thread.run_sync(backend_lines))
        return PreviewStatusResult(
            running=all(alive.values()),
            runtime=record.runtime,
            frontend_url=record.frontend_url,
            backend_url=record.backend_url,
            health=health,
            detached=record.detached,
            data=data,
        )

    async def stop(self, root: Path) -> PreviewStopResult:
        record = await anyio.to_thread.run_sync(read_workspace_record, root)
        if record is None or not record.running:
            return PreviewStopResult(
                stopped=False, message="No preview is running for this workspace."
            )
        await self._stop_record(record)
        return PreviewStopResult(
            stopped=True,
            message=f"Stopped the preview ({record.frontend_url}, {record.backend_url}).",
        )

    async def _stop_record(self, record: PreviewRecord) -> None:
        stop = self._followers.pop(record.workspace, None)
        if stop is not None:
            stop.set()
        try:
            if record.runtime is not None:
                await anyio.to_thread.run_sync(self.runtimes[record.runtime].stop, record)
            await anyio.to_thread.run_sync(
                write_workspace_record, Path(record.workspace), record.stopped()
            )
        finally:  # stopped or not, its ports are no longer this preview's to hold
            await anyio.to_thread.run_sync(self.index.remove, record.workspace)
            self._attached.discard(record.workspace)

    # --- lifetime --------------------------------------------------------------------------------

    async def shutdown(self) -> None:
        """The editor session ends: stop the previews it started (not detached ones)."""
        for workspace in list(self._attached):
            record = await anyio.to_thread.run_sync(read_workspace_record, Path(workspace))
            if record is not None and record.running and not record.detached:
                await self._stop_record(record)

    async def reap_orphans(self) -> list[str]:
        """Stop previews whose owner died without stopping them (never detached ones); returns
        their workspaces."""
        local = self.runtimes["local"]
        docker_runtime = self.runtimes["docker"]
        assert isinstance(local, LocalRuntime) and isinstance(docker_runtime, DockerRuntime)
        reaped = set(await anyio.to_thread.run_sync(local.reap_orphans, self.index))
        if await anyio.to_thread.run_sync(docker_runtime.unavailable) is None:
            reaped |= set(await anyio.to_thread.run_sync(docker_runtime.reap_orphans))
        for record in await anyio.to_thread.run_sync(self.index.all):
            if not record.detached and record.owner and not is_alive(record.owner):
                await anyio.to_thread.run_sync(self.index.remove, record.workspace)
                reaped.add(record.workspace)
        for workspace in reaped:
            folder = Path(workspace)
            remembered = await anyio.to_thread.run_sync(read_workspace_record, folder)
            if remembered is not None and remembered.running:
                await anyio.to_thread.run_sync(write_workspace_record, folder, remembered.stopped())
        if reaped:
            log.info("reaped %d orphaned preview(s): %s", len(reaped), ", ".join(sorted(reaped)))
        return sorted(reaped)
