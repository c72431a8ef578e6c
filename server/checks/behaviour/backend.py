"""The backend the behaviour checks talk to: the app's own backend, started for the checks alone
with a scratch database, never the user's preview or data. Blocking calls (docker SDK, processes):
the tier runs them in worker threads.

- docker: a container of the preview's sandbox (`server.preview.sandbox`: the backend folder
  read-only, no capabilities, limits; the workspace's dependency volume at /deps), its port
  published on 127.0.0.1 at a port Docker picks. The server is a process `exec`ed into it, so it
  can be restarted without the container: the scratch database (in the container's tmpfs) stays,
  and a restart shows whether the records were stored or only held in the process's memory.
- local (only when the user chose the local runtime): uvicorn from the local preview's venv, as a
  process of this machine, on a socket this process bound (`--fd`), the database in
  `.stepforge/checks/behaviour-data/` (emptied at every start).
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import httpx
from docker.errors import APIError, DockerException, NotFound
from docker.models.containers import Container

from server.checks.toolchain import INSTALL_TIMEOUT, ToolUnavailable
from server.preview import networks, sandbox, volumes
from server.preview.database import DATABASE_FILE, SCRATCH_DOCKER_URL
from server.preview.docker_runtime import BACKEND_INSIDE, DockerRuntime
from server.preview.local_runtime import host_environment, install_backend
from server.workspace.meta import MetaFiles

log = logging.getLogger(__name__)

READY_TIMEOUT = 120.0  # a loaded machine takes tens of seconds to import a FastAPI app
STOP_TIMEOUT = 10.0
LOG_INSIDE = "/tmp/behaviour-backend.log"
PID_INSIDE = "/tmp/behaviour-backend.pid"
# No --reload: the folder is read-only and nothing edits it during a check.
SERVE = (
    f"echo $$ > {PID_INSIDE}\n"
    f"exec /deps/venv/bin/python -m uvicorn main:app --host 0.0.0.0 --port {BACKEND_INSIDE} "
    f">> {LOG_INSIDE} 2>&1\n"
)
LOCAL_DATA = "checks/behaviour-data"


class BackendDidNotStart(Exception):
    """The app's backend did not answer; `log` is what it printed."""

    def __init__(self, message: str, log_lines: list[str]) -> None:
        super().__init__(message)
        self.log_lines = log_lines


class CheckedBackend(Protocol):
    url: str

    def start(self) -> None: ...
    def restart(self) -> None: ...
    def log_lines(self) -> list[str]: ...
    def close(self) -> None: ...


def wait_ready(url: str, alive: Callable[[], bool], timeout: float = READY_TIMEOUT) -> bool:
    """Whether the backend at `url` answers its OpenAPI schema within `timeout` (False at once
    when `alive()` says its process ended)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            answer = httpx.get(url + "/openapi.json", timeout=2.0, trust_env=False)
            if answer.status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        if not alive():
            return False
        time.sleep(0.2)
    return False


class DockerBackend:
    def __init__(
        self, runtime: DockerRuntime, root: Path, owner: str, environment: dict[str, str]
    ) -> None:
        self.runtime = runtime
        self.root = root
        self.owner = owner
        self.environment = environment
        self.url = ""
        self._container: Container | None = None
        self._network: str | None = None

    def _exec(self, script: str, detach: bool = False) -> tuple[int, str]:
        assert self._container is not None
        result = self._container.exec_run(["sh", "-c", script], detach=detach)
        output = result.output.decode("utf-8", "replace") if result.output else ""
        return (result.exit_code if result.exit_code is not None else 0), output

    def start(self) -> None:
        try:
            self._create()
            self._serve()
        except (APIError, DockerException) as error:
            self.close()
            raise ToolUnavailable(
                f"the Docker engine refused the behaviour check: {error}"
            ) from None

    def _create(self) -> None:
        client = self.runtime.client()
        image = self.runtime.images["backend"]
        volume = volumes.ensure_volume(
            client, self.root, "backend", image, self.runtime.mounts, self.environment
        )
        # A network that can publish a port: the workspace's preview network (the preview's
        # own backend is no closer to anything than this one).
        self._network = networks.preview_network(client, self.root)
        tag = sandbox.workspace_tag(str(self.root))
        options = sandbox.run_options(
            self.root,
            "backend",
            volume,
            self.runtime.mounts,
            {
                **self.environment,
                "DATABASE_URL": SCRATCH_DOCKER_URL,
                "PYTHONDONTWRITEBYTECODE": "1",
            },
            writable=False,
            network=self._network,
        )
        self._container = client.containers.run(
            image,
            ["sleep", "infinity"],
            name=f"stepforge-behaviour-{tag}-{secrets.token_hex(4)}",
            detach=True,
            labels=sandbox.labels(
                str(self.root), "backend", "checks", owner=self.owner, volume=volume, detached="0"
            ),
            ports={f"{BACKEND_INSIDE}/tcp": ("127.0.0.1", None)},
            **options,
        )
        failed = volumes.install_missing_dependencies(
            client,
            self._container,
            self.root,
            "backend",
            image,
            volume,
            self.runtime.mounts,
            self.environment,
            INSTALL_TIMEOUT,
        )
        if failed is not None:
            raise ToolUnavailable(f"installing the backend's dependencies failed: {failed}")
        self._container.reload()
        published = self._container.ports.get(f"{BACKEND_INSIDE}/tcp") or []
        if not published:
            raise ToolUnavailable("Docker published no port for the behaviour check's backend")
        self.url = f"http://127.0.0.1:{published[0]['HostPort']}"

    def _alive(self) -> bool:
        # A process that ended stays a zombie until the engine reaps it: not alive.
        status = f"/proc/$(cat {PID_INSIDE} 2>/dev/null || echo none)/status"
        return self._exec(f"test -e {status} && ! grep -q '^State:.*Z' {status}")[0] == 0

    def _serve(self) -> None:
        self._exec(SERVE, detach=True)
        if not wait_ready(self.url, self._alive):
            raise BackendDidNotStart("the backend did not start", self.log_lines())

    def restart(self) -> None:
        """The server process ends and starts again; the container (and its database) stays."""
        self._exec(f"kill $(cat {PID_INSIDE})")
        deadline = time.monotonic() + STOP_TIMEOUT
        while self._alive() and time.monotonic() < deadline:
            time.sleep(0.1)
        if self._alive():
            self._exec(f"kill -9 $(cat {PID_INSIDE})")
        self._serve()

    def log_lines(self) -> list[str]:
        if self._container is None:
            return []
        try:
            return self._exec(f"tail -n 300 {LOG_INSIDE} 2>/dev/null")[1].splitlines()
        except (APIError, DockerException):
            return []

    def close(self) -> None:
        if self._container is not None:
            try:
                self._container.remove(force=True)
            except (NotFound, APIError, DockerException):
                pass
            self._container = None
        if self._network is not None:
            with contextlib.suppress(APIError, DockerException):
                networks.remove_preview_network(self.runtime.client(), self.root)
            self._network = None


class LocalBackend:
    """Only when the user chose the local runtime: the app runs unsandboxed on this machine."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.url = ""
        self._socket: socket.socket | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._log = MetaFiles(root).path("checks/behaviour-backend.log")
        self._env: dict[str, str] = {}
        self._python: Path | None = None

    def start(self) -> None:
        env = host_environment(self.root)
        try:
            self._python = install_backend(self.root, env)
        except Exception as error:
            raise ToolUnavailable(
                f"installing the backend's requirements failed: {error}"
            ) from error
        meta = MetaFiles(self.root)
        shutil.rmtree(meta.path(LOCAL_DATA), ignore_errors=True)
        folder = meta.ensure_dir(LOCAL_DATA)
        folder.chmod(0o700)
        self._env = {
            **env,
            "DATABASE_URL": f"sqlite:///{folder / DATABASE_FILE}",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(64)
        self._socket.set_inheritable(True)
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        self._log.unlink(missing_ok=True)
        self._serve()

    def _serve(self) -> None:
        assert self._socket is not None and self._python is not None
        fd = self._socket.fileno()
        with self._log.open("ab") as out:
            self._process = subprocess.Popen(
                [str(self._python), "-m", "uvicorn", "main:app", "--fd", str(fd)],
                cwd=self.root / "backend",
                env=self._env,
                pass_fds=(fd,),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        process = self._process
        if not wait_ready(self.url, lambda: process.poll() is None):
            raise BackendDidNotStart("the backend did not start", self.log_lines())

    def _stop_process(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def restart(self) -> None:
        self._stop_process()
        self._serve()

    def log_lines(self) -> list[str]:
        try:
            return self._log.read_text("utf-8", "replace").splitlines()[-300:]
        except OSError:
            return []

    def close(self) -> None:
        self._stop_process()
        if self._socket is not None:
            self._socket.close()
            self._socket = None
