"""The docker runtime: one container per role, through the docker SDK (blocking calls: the
preview service runs them in worker threads).

Each container sees only its own folder (`frontend/` or `backend/`, bind-mounted so Vite and
`uvicorn --reload` see edits at once) and its workspace's dependency volume at /deps (a warm start
installs nothing; /node_modules links to /deps/node_modules, so the workspace holds none). The
sandbox (uid, no capabilities, read-only root, limits, 127.0.0.1 only) is `server.preview.sandbox`;
a role folder that is a link is refused before anything starts. Both containers join the
workspace's own network (`server.preview.networks`), never Docker's default bridge. With the
`database` setting at postgres, a third container (`server.preview.postgres`) joins that network
first, and the backend starts once it accepts connections.
A container named in preview.json is touched only if its labels say StepForge started it for this
workspace.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

import docker
from docker.errors import APIError, DockerException, ImageNotFound, NotFound
from docker.models.containers import Container

from server.preview import database, networks, postgres, sandbox, volumes
from server.preview.launch import LaunchSpec
from server.preview.owner import is_alive
from server.preview.records import ROLES, LogRole, PreviewRecord, Role, RuntimeName

log = logging.getLogger(__name__)

LABEL = sandbox.LABEL
FRONTEND_INSIDE, BACKEND_INSIDE = 5173, 8000
DATABASE_ROLE = "database"  # the Postgres container's role label and key in preview.json

FRONTEND_SCRIPT = (
    "set -e\n"
    + sandbox.INSTALL["frontend"]
    + f"if [ -d {sandbox.VITE_PREBUNDLED_DIR} ]; then "
    + f"cp -a {sandbox.VITE_PREBUNDLED_DIR}/. {sandbox.VITE_CACHE_DIR}/; fi\n"
    + "exec /deps/node_modules/.bin/vite --host 0.0.0.0 --port 5173 --strictPort\n"
)
# The dev server's writable folders on the (possibly shared, read-only) dependencies: its cache,
# where what it bundles beyond the install's is lost with the container, and its bundled config.
_OWNED_TMPFS = f"rw,nosuid,nodev,mode=0700,uid={os.getuid()},gid={os.getgid()}"
VITE_TMPFS = {
    sandbox.VITE_CACHE_DIR: f"{_OWNED_TMPFS},size=512m",
    sandbox.VITE_CONFIG_TEMP_DIR: f"{_OWNED_TMPFS},size=16m",
}
BACKEND_SCRIPT = (
    "set -e\n"
    + sandbox.INSTALL["backend"]
    + "exec /deps/venv/bin/python -m uvicorn main:app --host 0.0.0.0 --port 8000 --reload\n"
)


class DockerRuntime:
    name: RuntimeName = "docker"

    def __init__(
        self,
        frontend_image: str,
        backend_image: str,
        mounts: list[str],
        postgres_image: str = "stepforge-postgres:1",
    ) -> None:
        self.images = {"frontend": frontend_image, "backend": backend_image}
        self.postgres_image = postgres_image  # needed only with database=postgres: checked then
        self.mounts = mounts
        self._client: docker.DockerClient | None = None

    def client(self) -> docker.DockerClient:
        if self._client is None:
            self._client = docker.from_env(timeout=30)
        return self._client

    def unavailable(self) -> str | None:
        """Why this runtime cannot run now (no engine, no images), or None."""
        try:
            self.client().ping()
        except DockerException as error:
            self._client = None
            return f"no Docker engine answers ({error.__class__.__name__}): start dockerd"
        missing = []
        for image in self.images.values():
            try:
                self.client().images.get(image)
            except ImageNotFound:
                missing.append(image)
        if missing:
            return (
                f"the preview image(s) {', '.join(missing)} are missing: build them with "
                "`stepforge images build` (it needs root for debootstrap)"
            )
        return None

    # --- start and stop --------------------------------------------------------------------------

    def _container_name(self, root: str, role: str) -> str:
        return f"stepforge-{role}-{sandbox.workspace_tag(root)}"

    def _remove_named(self, name: str, root: str) -> None:
        try:
            container = self.client().containers.get(name)
        except NotFound:
            return
        if sandbox.is_ours(container.labels, root):
            container.remove(force=True)

    def start(self, spec: LaunchSpec) -> dict[str, str]:
        root = str(spec.root)
        for role in ROLES:  # refused before anything is created: a link is never mounted
            sandbox.role_folder(spec.root, role)
        # Checks get their scratch SQLite database: never a container over the user's data.
        with_postgres = spec.record.database == "postgres" and not spec.scratch_data
        if with_postgres:  # refused before anything starts: the app could not reach it
            postgres.require_driver(spec.root, postgres.app_url("database", "x"))
        started: dict[str, str] = {}
        try:
            network = networks.preview_network(self.client(), spec.root)
            # The frontend is created and started while the backend (and its Postgres, which
            # must accept connections first) are: neither waits for the other's container.
            with ThreadPoolExecutor(max_workers=1) as pool:
                frontend = pool.submit(self._run, spec, "frontend", network)
                try:
                    database_url = None
                    if with_postgres:
                        server, database_url = self._run_postgres(spec, network)
                        started[DATABASE_ROLE] = server.id
                        postgres.wait_ready(spec.root, server)
                    started["backend"] = self._run(spec, "backend", network, database_url).id
                except BaseException:
                    wait([frontend])  # then the clean-up below removes it too
                    raise
                started["frontend"] = frontend.result().id
        except Exception:
            # A failed port binding leaves the container created: remove it. Postgres is
            # stopped, never killed, so its cluster stays clean.
            for role in ROLES:
                self._remove_named(self._container_name(root, role), root)
            if with_postgres:
                self._stop_named(postgres.container_name(spec.root), root)
            networks.remove_preview_network(self.client(), spec.root)
            raise
        return started

    def _run_postgres(self, spec: LaunchSpec, network: str) -> tuple[Container, str]:
        root = str(spec.root)
        self._stop_named(postgres.container_name(spec.root), root)
        labels = postgres.labels_for(
            spec.root, owner=spec.owner, detached="1" if spec.detached else "0"
        )
        return postgres.run_container(
            self.client(), spec.root, self.postgres_image, network, labels
        )

    def _stop_named(self, name: str, root: str) -> None:
        """Stop (SIGINT: Postgres' fast shutdown), then remove, a container of ours."""
        try:
            container = self.client().containers.get(name)
        except NotFound:
            return
        if sandbox.is_ours(container.labels, root):
            postgres.stop(container)

    def _run(
        self, spec: LaunchSpec, role: Role, network: str, database_url: str | None = None
    ) -> Container:
        root = str(spec.root)
        name = self._container_name(root, role)
        self._remove_named(name, root)
        client = self.client()
        volume = volumes.ensure_volume(
            client, spec.root, role, self.images[role], self.mounts, spec.settings.container_env
        )
        if role == "frontend":
            script, inside, outside = FRONTEND_SCRIPT, FRONTEND_INSIDE, spec.frontend_port
            # Vite's cache: the install's pre-bundled dependencies, copied into a tmpfs of the
            # container's own (sandbox.VITE_CACHE_DIR says why there).
            env = {**spec.frontend_env(), "STEPFORGE_VITE_CACHE_DIR": sandbox.VITE_CACHE_DIR}
        else:
            script, inside, outside = BACKEND_SCRIPT, BACKEND_INSIDE, spec.backend_port
            env = spec.backend_env()
        # The backend's database: the workspace's data volume, or a scratch file for checks.
        data = None
        if role == "backend" and database_url is not None:
            env["DATABASE_URL"] = database_url  # the preview's Postgres (server.preview.postgres)
        elif role == "backend":
            if not spec.scratch_data:
                data = database.ensure_data_volume(client, spec.root, self.images[role])
            env["DATABASE_URL"] = (
                database.SCRATCH_DOCKER_URL if data is None else database.DOCKER_URL
            )
        return client.containers.run(
            self.images[role],
            ["sh", "-c", script],
            name=name,
            detach=True,
            labels=sandbox.labels(
                root,
                role,
                "preview",
                owner=spec.owner,
                detached="1" if spec.detached else "0",
            ),
            ports={f"{inside}/tcp": ("127.0.0.1", outside)},
            **self._with_vite_cache(
                role,
                database.with_data_volume(
                    sandbox.run_options(spec.root, role, volume, self.mounts, env, network=network),
                    data,
                ),
            ),
        )

    @staticmethod
    def _with_vite_cache(role: Role, options: dict[str, Any]) -> dict[str, Any]:
        if role != "frontend":
            return options
        return {**options, "tmpfs": {**options["tmpfs"], **VITE_TMPFS}}

    def _container(self, record: PreviewRecord, role: str) -> Container | None:
        """The record's container for `role`, only if StepForge started it for that workspace."""
        container_id = record.containers.get(role)
        if not container_id:
            return None
        try:
            container = self.client().containers.get(container_id)
        except NotFound:
            return None
        if not sandbox.is_ours(container.labels, record.workspace, role):
            log.warning(
                "preview.json of %s names container %s, which StepForge did not start there; "
                "ignored",
                record.workspace,
                container_id[:12],
            )
            return None
        return container

    def _roles(self, record: PreviewRecord) -> list[LogRole]:
        """The preview's containers' roles: the two servers, and its Postgres if it has one."""
        roles: list[LogRole] = [*ROLES]
        if DATABASE_ROLE in record.containers:
            roles.append("database")
        return roles

    def alive(self, record: PreviewRecord) -> dict[str, bool]:
        result: dict[str, bool] = {}
        for role in self._roles(record):
            container = self._container(record, role)
            result[role] = container is not None and container.status == "running"
        return result

    def database_error(self, record: PreviewRecord) -> str | None:
        """Why the preview's Postgres cannot serve (it stopped), or None (or no Postgres)."""
        if DATABASE_ROLE not in record.containers:
            return None
        return postgres.not_running(self._container(record, DATABASE_ROLE), Path(record.workspace))

    def stop(self, record: PreviewRecord) -> None:
        for role in ROLES:  # the backend first: it holds the database's connections
            container = self._container(record, role)
            if container is not None:
                try:
                    container.remove(force=True)
                except NotFound:
                    pass
        server = self._container(record, DATABASE_ROLE)
        if server is not None:
            postgres.stop(server)
        networks.remove_preview_network(self.client(), Path(record.workspace))

    # --- logs ------------------------------------------------------------------------------------

    def tail(self, record: PreviewRecord, lines: int) -> list[tuple[LogRole, str]]:
        result: list[tuple[LogRole, str]] = []
        for role in self._roles(record):
            container = self._container(record, role)
            if container is None:
                continue
            text = container.logs(tail=lines).decode("utf-8", "replace")
            result += [(role, line) for line in text.splitlines()]
        return result

    def follow(
        self, record: PreviewRecord, role: str, emit: Callable[[str], None], stop: threading.Event
    ) -> None:
        """Blocking: forward new log lines until the container ends or `stop` is set."""
        container = self._container(record, role)
        if container is None:
            return
        try:
            stream = container.logs(stream=True, follow=True, tail=0)
            pending = b""
            for chunk in stream:
                if stop.is_set():
                    break
                pending += chunk
                *complete, pending = pending.split(b"\n")
                for line in complete:
                    emit(line.decode("utf-8", "replace"))
        except (APIError, DockerException) as error:
            log.debug("log stream of %s ended: %s", role, error)

    # --- orphans ---------------------------------------------------------------------------------

    def reap_orphans(self) -> list[str]:
        """Remove managed containers whose owner died without stopping them (not detached ones);
        returns their workspaces."""
        try:
            containers = [
                container
                for container in self.client().containers.list(
                    all=True, filters={"label": f"{LABEL}.managed=1"}
                )
                if container.labels.get(f"{LABEL}.purpose", "preview")
                in ("preview", "checks", "install", "migration")
            ]
        except DockerException:
            return []
        reaped = []
        for container in containers:
            labels = container.labels
            if labels.get(f"{LABEL}.detached") == "1" or is_alive(labels.get(f"{LABEL}.owner", "")):
                continue
            try:
                if labels.get(f"{LABEL}.role") == DATABASE_ROLE:
                    postgres.stop(container)  # a clean shutdown of its cluster
                else:
                    container.remove(force=True)
            except NotFound:
                continue
            if labels.get(f"{LABEL}.purpose", "preview") == "preview":
                reaped.append(labels.get(f"{LABEL}.workspace", container.name))
        unused = networks.remove_unused_networks(self.client())
        if unused:
            log.info("removed %d network(s) left by stopped daemons", len(unused))
        removed = volumes.remove_abandoned_volumes(self.client())
        if removed:
            log.info("removed %d dependency volume(s) of deleted workspaces", len(removed))
        return reaped
