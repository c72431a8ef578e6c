"""Where the check tools run: with the same dependencies, in the same runtime, as the preview.

- docker: a long-lived checker container per workspace, role and daemon (the preview's sandbox,
  the role's folder mounted read-only, the workspace's dependency volume at /deps), into which each
  tool is `exec`ed; the compiler's incremental state stays in its /tmp between checks, so a
  re-check is warm. Each daemon has its own containers (a CLI `check` beside an editor's on-save
  check, or two at once, never remove or kill each other's), and one daemon runs one tool of a
  role at a time; installs into a workspace's dependency volume are serialised across processes.
- local: the tools of `frontend/node_modules` and the local venv, as the local preview installs
  them (only environments StepForge created itself: `server.preview.local_envs`), run as
  processes of this machine (generated code runs unsandboxed: used only when the user chose it).

Blocking calls: the checker runs them in worker threads.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from docker.errors import APIError, DockerException, NotFound
from docker.models.containers import Container
from docker.utils.socket import consume_socket_output, demux_adaptor, frames_iter

from server.checks.tools import HARNESS
from server.preview import sandbox, volumes
from server.preview.docker_runtime import DockerRuntime
from server.preview.local_runtime import host_environment, install_backend, install_frontend
from server.preview.records import machine_lock, state_folder
from server.workspace.meta import MetaFiles

log = logging.getLogger(__name__)

INSTALL_TIMEOUT = 600


def _seconds_from_env(name: str, default: int) -> int:
    """A time limit a slow machine may raise (a loaded CI runner); a value that is not a positive
    whole number of seconds keeps the default."""
    raw = os.environ.get(name, "")
    if raw.isdigit() and int(raw) > 0:
        return int(raw)
    if raw:
        log.warning("%s=%r is not a positive number of seconds; using %d", name, raw, default)
    return default


# How long tsc, the interpreter or ruff may run in one check (STEPFORGE_TOOL_TIMEOUT).
TOOL_TIMEOUT = _seconds_from_env("STEPFORGE_TOOL_TIMEOUT", 120)


class ToolUnavailable(Exception):
    """A tool cannot run here; the message says why."""


@dataclass(frozen=True)
class ToolRun:
    code: int  # -1: unknown (the engine did not say)
    output: str  # what the tool printed (for the harness: the app's output, on stderr)
    verdict: str = ""  # the harness's verdict stream (its stdout), apart from the app's output


class Toolchain(Protocol):
    name: str
    backend_dir: str  # where the backend folder is, as tracebacks name it

    def tsc(self) -> ToolRun: ...
    def import_app(self, nonce: str) -> ToolRun: ...
    def backend_python(self, code: str, stdin: bytes) -> ToolRun: ...
    def frontend_node(self, script: str, module: str, stdin: bytes) -> ToolRun: ...
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
        # This toolchain's own containers: another daemon checking the same workspace has others.
        self._instance = secrets.token_hex(4)
        self._locks = {role: threading.Lock() for role in sandbox.ROLES}

    def _name(self, role: sandbox.Role) -> str:
        return f"stepforge-check-{role}-{sandbox.workspace_tag(str(self.root))}-{self._instance}"

    def _checker(self, role: sandbox.Role) -> Container:
        """The role's checker container, with dependencies installed (a changed lock file gets a
        fresh volume and a fresh container)."""
        client = self.runtime.client()
        try:
            container = client.containers.get(self._name(role))
            labels = container.labels
            if (
                sandbox.is_ours(labels, str(self.root), role)
                and volumes.still_serves(self.root, role, labels.get(f"{sandbox.LABEL}.volume", ""))
                and container.status == "running"
            ):
                return container
            if sandbox.is_ours(labels, str(self.root), role):
                container.remove(force=True)
        except NotFound:
            pass
        with _volume_lock(volumes.dependency_volume(self.root, role)):
            return self._new_checker(role)

    def _new_checker(self, role: sandbox.Role) -> Container:
        client = self.runtime.client()
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
        # The checker has no network (it runs the project's code): a volume that still lacks the
        # dependencies gets them from a one-shot installer on a network of its own.
        failed = volumes.install_missing_dependencies(
            client,
            container,
            self.root,
            role,
            image,
            volume,
            self.runtime.mounts,
            self.environment,
            INSTALL_TIMEOUT,
        )
        if failed is not None:
            container.remove(force=True)
            raise ToolUnavailable(f"installing the {role}'s dependencies failed: {failed}")
        return container

    def _exec(self, role: sandbox.Role, argv: list[str], stdin: bytes = b"") -> ToolRun:
        """Run `argv` in the role's checker (one tool of a role at a time in this daemon: the
        compiler's incremental state in /tmp is one)."""
        try:
            with self._locks[role]:
                container = self._checker(role)
                return self._exec_in(container, role, argv, stdin)
        except (APIError, DockerException, OSError) as error:
            raise ToolUnavailable(f"the Docker engine refused the check: {error}") from error

    def _exec_in(
        self, container: Container, role: sandbox.Role, argv: list[str], stdin: bytes
    ) -> ToolRun:
        api = self.runtime.client().api
        created = api.exec_create(
            container.id,
            ["timeout", str(TOOL_TIMEOUT), *argv],
            stdin=bool(stdin),
            workdir=f"{sandbox.INSIDE}/{role}",
            environment={"PYTHONDONTWRITEBYTECODE": "1"},
        )
        exec_id = created["Id"]
        if stdin:
            stream = api.exec_start(exec_id, socket=True)
            try:
                raw = getattr(stream, "_sock", stream)
                raw.sendall(stdin)
                frames = (demux_adaptor(*frame) for frame in frames_iter(stream, tty=False))
                out, err = consume_socket_output(frames, demux=True)
            finally:
                stream.close()
        else:
            out, err = api.exec_start(exec_id, demux=True)
        return ToolRun(_exit_code(api, exec_id), _text(err), _text(out))

    def tsc(self) -> ToolRun:
        run = self._exec(
            "frontend",
            ["/deps/node_modules/.bin/tsc", *TSC_ARGS, "--tsBuildInfoFile", "/tmp/tsbuildinfo"],
        )
        # tsc reports on stdout; the harness's split of the streams is not needed here.
        return ToolRun(run.code, run.verdict + run.output)

    def import_app(self, nonce: str) -> ToolRun:
        return self.backend_python(HARNESS, f"{nonce}\n".encode())

    def backend_python(self, code: str, stdin: bytes) -> ToolRun:
        """`code` run by the backend's interpreter in its checker (server.checks.api_types)."""
        return self._exec("backend", ["/deps/venv/bin/python", "-c", code], stdin=stdin)

    def frontend_node(self, script: str, module: str, stdin: bytes) -> ToolRun:
        """An ES module `script` run by Node in the frontend's checker, given the path of
        `module` (under the installed node_modules) as its argument."""
        argv = ["node", "--input-type=module", "-e", script, f"/deps/node_modules/{module}"]
        return self._exec("frontend", argv, stdin=stdin)

    def close(self) -> None:
        for role in sandbox.ROLES:
            try:
                container = self.runtime.client().containers.get(self._name(role))
                if sandbox.is_ours(container.labels, str(self.root), role):
                    container.remove(force=True)
            except (NotFound, DockerException):
                pass


def _text(data: bytes | None) -> str:
    return (data or b"").decode("utf-8", "replace")


def _exit_code(api: object, exec_id: str) -> int:
    """The exec's exit code once the engine has it (its output may end a moment before)."""
    deadline = time.monotonic() + 5.0
    while True:
        info = api.exec_inspect(exec_id)  # type: ignore[attr-defined]
        if not info.get("Running") and info.get("ExitCode") is not None:
            return int(info["ExitCode"])
        if time.monotonic() > deadline:
            return -1
        time.sleep(0.05)


@contextlib.contextmanager
def _volume_lock(volume: str) -> Iterator[None]:
    """An exclusive lock across processes on one dependency volume while a checker installs into
    it (two daemons' `npm ci` into one /deps would corrupt it)."""
    with machine_lock(state_folder() / "locks" / f"{volume}.lock"):
        yield


class LocalToolchain:
    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = root
        self.backend_dir = str(root / "backend")
        self.env = host_environment(root)

    def _run(self, argv: list[str], role: str, stdin: bytes = b"") -> ToolRun:
        try:
            completed = subprocess.run(
                argv,
                cwd=self.root / role,
                env={**self.env, "PYTHONDONTWRITEBYTECODE": "1"},
                input=stdin,
                capture_output=True,
                timeout=TOOL_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return ToolRun(124, f"timed out after {TOOL_TIMEOUT} s")
        except OSError as error:
            raise ToolUnavailable(f"{argv[0]} could not run: {error}") from error
        return ToolRun(completed.returncode, _text(completed.stderr), _text(completed.stdout))

    def _install_frontend(self) -> None:
        try:
            install_frontend(self.root, self.env)
        except Exception as error:
            raise ToolUnavailable(
                f"installing the frontend's dependencies failed: {error}"
            ) from error

    def _install_backend(self) -> Path:
        """The local backend environment's python, installed first when needed."""
        try:
            return install_backend(self.root, self.env)
        except Exception as error:
            raise ToolUnavailable(
                f"installing the backend's requirements failed: {error}"
            ) from error

    def tsc(self) -> ToolRun:
        self._install_frontend()
        info = MetaFiles(self.root).ensure_dir("checks") / "tsbuildinfo"
        tsc = self.root / "frontend" / "node_modules" / ".bin" / "tsc"
        run = self._run([str(tsc), *TSC_ARGS, "--tsBuildInfoFile", str(info)], "frontend")
        return ToolRun(run.code, run.verdict + run.output)

    def import_app(self, nonce: str) -> ToolRun:
        return self.backend_python(HARNESS, f"{nonce}\n".encode())

    def backend_python(self, code: str, stdin: bytes) -> ToolRun:
        python = self._install_backend()
        return self._run([str(python), "-c", code], "backend", stdin=stdin)

    def frontend_node(self, script: str, module: str, stdin: bytes) -> ToolRun:
        self._install_frontend()
        installed = self.root / "frontend" / "node_modules" / module
        argv = ["node", "--input-type=module", "-e", script, str(installed)]
        return self._run(argv, "frontend", stdin=stdin)

    def close(self) -> None:
        pass
