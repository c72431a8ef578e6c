"""Where the check tools run: with the same dependencies, in the same runtime, as the preview.

- docker: a long-lived checker container per workspace and role (the preview's sandbox, the role's
  folder mounted read-only, the workspace's dependency volume at /deps), into which each tool is
  `exec`ed; the compiler's incremental state stays in its /tmp between checks, so a re-check is warm.
- local: the tools of `frontend/node_modules` and the local venv, as the local preview installs
  them, run as processes of this machine (generated code runs unsandboxed: the user chose it).

Blocking calls: the checker runs them in worker threads.
"""

from __future__ import annotations

import logging
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from docker.errors import APIError, DockerException, NotFound
from docker.models.containers import Container

from server.checks.tools import HARNESS
from server.preview import sandbox, volumes
from server.preview.docker_runtime import DockerRuntime
from server.preview.local_runtime import host_environment, install_backend, install_frontend
from server.workspace.meta import MetaFiles

log = logging.getLogger(__name__)

INSTALL_TIMEOUT = 600
TOOL_TIMEOUT = 120


class ToolUnavailable(Exception):
    """A tool cannot run here; the message says why."""


@dataclass(frozen=True)
class ToolRun:
    code: int
    output: str


class Toolchain(Protocol):
    name: str
    backend_dir: str  # where the backend folder is, as tracebacks name it

    def tsc(self) -> ToolRun: ...
    def import_app(self) -> ToolRun: ...
    def close(self) -> None: ...


TSC_ARGS = ["--noEmit", "-p", "tsconfig.json", "--pretty", "false", "--incremental"]


class DockerToolchain:
    name = "docker"
    backend_dir = f"{sandbox.INSIDE}/backend"

    def __init__(
        self, runtime: DockerRuntime, root: Path, owner: str, environment: dict[str, str]
    ) -> None:
        self.runtime = runtime
        self.root = root
        self.owner = owner
        self.environment = environment  # the user's containerEnv (a proxy's CA bundle, say)

    def _name(self, role: sandbox.Role) -> str:
        return f"stepforge-check-{role}-{sandbox.workspace_tag(str(self.root))}"

    def _checker(self, role: sandbox.Role) -> Container:
        """The role's checker container, with dependencies installed (a changed lock file gets a
        fresh volume and a fresh container)."""
        client = self.runtime.client()
        volume = volumes.dependency_volume(self.root, role)
        try:
            container = client.containers.get(self._name(role))
            labels = container.labels
            if (
                sandbox.is_ours(labels, str(self.root), role)
                and labels.get(f"{sandbox.LABEL}.volume") == volume
                and container.status == "running"
            ):
                return container
            if sandbox.is_ours(labels, str(self.root), role):
                container.remove(force=True)
        except NotFound:
            pass
        image = self.runtime.images[role]
        volume = volumes.ensure_volume(
            client, self.root, role, image, self.runtime.mounts, self.environment
        )
        container = client.containers.run(
            image,
            ["sleep", "infinity"],
            name=self._name(role),
            detach=True,
            labels=sandbox.labels(
                str(self.root), role, "checks", owner=self.owner, volume=volume, detached="0"
            ),
            **sandbox.run_options(
                self.root, role, volume, self.runtime.mounts, self.environment, writable=False
            ),
        )
        installed = container.exec_run(
            ["timeout", str(INSTALL_TIMEOUT), "sh", "-c", "set -e\n" + sandbox.INSTALL[role]],
            workdir=f"{sandbox.INSIDE}/{role}",
        )
        if installed.exit_code != 0:
            tail = installed.output.decode("utf-8", "replace").strip().splitlines()[-10:]
            container.remove(force=True)
            raise ToolUnavailable(
                f"installing the {role}'s dependencies failed: " + "\n".join(tail)
            )
        return container

    def _exec(self, role: sandbox.Role, argv: list[str]) -> ToolRun:
        try:
            container = self._checker(role)
            result = container.exec_run(
                ["timeout", str(TOOL_TIMEOUT), *argv],
                workdir=f"{sandbox.INSIDE}/{role}",
                environment={"PYTHONDONTWRITEBYTECODE": "1"},
            )
        except (APIError, DockerException) as error:
            raise ToolUnavailable(f"the Docker engine refused the check: {error}") from error
        return ToolRun(result.exit_code or 0, result.output.decode("utf-8", "replace"))

    def tsc(self) -> ToolRun:
        return self._exec(
            "frontend",
            ["/deps/node_modules/.bin/tsc", *TSC_ARGS, "--tsBuildInfoFile", "/tmp/tsbuildinfo"],
        )

    def import_app(self) -> ToolRun:
        return self._exec("backend", ["/deps/venv/bin/python", "-c", HARNESS])

    def close(self) -> None:
        for role in sandbox.ROLES:
            try:
                container = self.runtime.client().containers.get(self._name(role))
                if sandbox.is_ours(container.labels, str(self.root), role):
                    container.remove(force=True)
            except (NotFound, DockerException):
                pass


class LocalToolchain:
    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = root
        self.backend_dir = str(root / "backend")
        self.env = host_environment(root)

    def _run(self, argv: list[str], role: str) -> ToolRun:
        try:
            completed = subprocess.run(
                argv,
                cwd=self.root / role,
                env={**self.env, "PYTHONDONTWRITEBYTECODE": "1"},
                capture_output=True,
                timeout=TOOL_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return ToolRun(124, f"timed out after {TOOL_TIMEOUT} s")
        except OSError as error:
            raise ToolUnavailable(f"{argv[0]} could not run: {error}") from error
        output = completed.stdout + completed.stderr
        return ToolRun(completed.returncode, output.decode("utf-8", "replace"))

    def tsc(self) -> ToolRun:
        try:
            install_frontend(self.root, self.env)
        except Exception as error:
            raise ToolUnavailable(
                f"installing the frontend's dependencies failed: {error}"
            ) from error
        info = MetaFiles(self.root).ensure_dir("checks") / "tsbuildinfo"
        tsc = self.root / "frontend" / "node_modules" / ".bin" / "tsc"
        return self._run([str(tsc), *TSC_ARGS, "--tsBuildInfoFile", str(info)], "frontend")

    def import_app(self) -> ToolRun:
        try:
            python = install_backend(self.root, self.env)
        except Exception as error:
            raise ToolUnavailable(
                f"installing the backend's requirements failed: {error}"
            ) from error
        return self._run([str(python), "-c", HARNESS], "backend")

    def close(self) -> None:
        pass
