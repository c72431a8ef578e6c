"""The local runtime: the same two servers as processes on this machine, each the leader of its
own process group (stopped by signalling the group: SIGTERM, then SIGKILL), logging to files in
`.stepforge/logs/` so they outlive the daemon that started them when detached.

The backend gets a socket the daemon bound itself (`uvicorn --fd`), so its port cannot be taken
between the check and the start. Vite cannot take a socket: it gets `--strictPort` instead.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from server.errors import StepForgeError
from server.preview import database, local_envs, postgres
from server.preview.launch import BACKEND_LOCKS, FRONTEND_LOCKS, LaunchSpec, dependency_key
from server.preview.owner import is_alive, process_identity
from server.preview.records import ROLES, PreviewIndex, PreviewRecord, Role, RuntimeName
from server.tool_env import tool_environment
from server.workspace.layout import LOGS
from server.workspace.meta import MetaFiles
from server.workspace.roles import role_folder

log = logging.getLogger(__name__)

STOP_GRACE_SECONDS = 5.0


def local_venv(root: Path) -> Path:
    """The backend's venv of the local runtime (checks use it too), in real folders only."""
    folder = MetaFiles(root).ensure_dir("preview")
    return folder / f"venv-{dependency_key(root, BACKEND_LOCKS)}"


def _uv() -> str:
    import uv

    return uv.find_uv_bin()


# Set on every server StepForge starts: a process is stopped only if it carries its workspace here.
MARKER = "STEPFORGE_PREVIEW_WORKSPACE"


def _log_name(role: str) -> str:
    return f"{LOGS}/{role}.log"


def _log_path(root: Path, role: str) -> Path:
    return MetaFiles(root).path(_log_name(role))


def _run_logged(
    command: list[str], cwd: Path, root: Path, role: str, env: dict[str, str], what: str
) -> None:
    output = MetaFiles(root).open_append(_log_name(role))
    try:
        os.write(output, f"$ {' '.join(command)}\n".encode())
        completed = subprocess.run(
            command, cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT, check=False
        )
    finally:
        os.close(output)
    if completed.returncode != 0:
        text = (MetaFiles(root).read(_log_name(role)) or b"").decode(errors="replace")
        tail = text.splitlines()[-20:]
        raise StepForgeError(f"{what} failed (exit {completed.returncode}):\n" + "\n".join(tail))


def _marked_for(identity: str, workspace: str) -> bool:
    """Whether the live process `identity` is a server StepForge started for `workspace`: same
    pid and start time, and the workspace marker in its environment."""
    if not is_alive(identity):
        return False
    pid = identity.partition(":")[0]
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return False
    return f"{MARKER}={workspace}".encode() in environ


FRONTEND_ENTRY_POINTS = [".bin/tsc", ".bin/vite"]
BACKEND_ENTRY_POINTS = ["bin/python"]


def install_frontend(root: Path, env: dict[str, str]) -> None:
    """`npm ci` in frontend/ once per lock file (the preview and the checks share it). A
    node_modules StepForge did not install itself (a repository can ship one, marker and all) is
    removed and installed again from the lock file."""
    frontend = root / "frontend"
    node_modules = frontend / "node_modules"
    key = dependency_key(root, FRONTEND_LOCKS)
    with local_envs.installing(root):
        if local_envs.is_trusted(root, "frontend", node_modules, key, FRONTEND_ENTRY_POINTS):
            return
        local_envs.forget(root, "frontend")
        local_envs.remove_untrusted(node_modules)
        command = [
            "npm",
            "ci" if (frontend / "package-lock.json").exists() else "install",
            "--no-audit",
            "--no-fund",
        ]
        _run_logged(command, frontend, root, "frontend", env, "npm install of the frontend")
        node_modules.mkdir(exist_ok=True)  # npm makes none for a manifest without dependencies
        local_envs.trust(root, "frontend", node_modules, key, FRONTEND_ENTRY_POINTS)


def install_backend(root: Path, env: dict[str, str]) -> Path:
    """The backend's venv with its requirements, once per lock file; its python. A venv StepForge
    did not create itself (a repository can ship `.stepforge/preview/venv-*`) is created again."""
    venv = local_venv(root)
    python = venv / "bin" / "python"
    key = dependency_key(root, BACKEND_LOCKS)
    with local_envs.installing(root):
        if local_envs.is_trusted(root, "backend", venv, key, BACKEND_ENTRY_POINTS):
            return python
        local_envs.forget(root, "backend")
        local_envs.remove_untrusted(venv)
        _run_logged(
            [_uv(), "venv", "--clear", "-q", "--python", sys.executable, str(venv)],
            root,
            root,
            "backend",
            env,
            "creating the backend's venv",
        )
        _run_logged(
            [_uv(), "pip", "install", "-q", "--python", str(python), "-r", "requirements.txt"],
            root / "backend",
            root,
            "backend",
            env,
            "installing the backend's requirements",
        )
        local_envs.trust(root, "backend", venv, key, BACKEND_ENTRY_POINTS)
    return python


def host_environment(root: Path) -> dict[str, str]:
    """The environment of what runs for a workspace on this machine: no secret (no StepForge or
    Groq variable, no token or key: `tool_environment`), the workspace marker."""
    return tool_environment({MARKER: str(root)})


class LocalRuntime:
    name: RuntimeName = "local"

    def __init__(self) -> None:
        self._children: dict[str, subprocess.Popen[bytes]] = {}  # identity -> our child, to reap it

    def unavailable(self) -> str | None:
        if shutil.which("npm") is None or shutil.which("node") is None:
            return "Node.js and npm are not installed (the local runtime needs Node 20.19 or newer)"
        return None

    # --- start and stop --------------------------------------------------------------------------

    def start(self, spec: LaunchSpec) -> dict[str, str]:
        for role in ROLES:  # a linked role folder is never a working folder
            role_folder(spec.root, role)
        MetaFiles(spec.root).ensure_dir(LOGS)
        base_env = host_environment(spec.root)
        base_env.pop("DATABASE_URL", None)  # the user's may hold a password: the backend's only
        frontend_env = {**base_env, **spec.frontend_env()}
        backend_env = {**base_env, **spec.backend_env()}
        # The database outside backend/ (which uvicorn watches): .stepforge/data, or a scratch one;
        # with database=postgres, the user's Postgres (DATABASE_URL), checked to answer first.
        if spec.record.database == "postgres" and not spec.scratch_data:
            backend_env["DATABASE_URL"] = postgres.local_url(
                spec.root, spec.settings.database_url_value()
            )
        else:
            backend_env["DATABASE_URL"] = database.local_url(spec.root, scratch=spec.scratch_data)
        install_frontend(spec.root, frontend_env)
        python = install_backend(spec.root, backend_env)

        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", spec.backend_port))
        listener.listen(128)
        processes: dict[str, str] = {}
        try:
            processes["backend"] = self._spawn(
                [
                    str(python),
                    "-m",
                    "uvicorn",
                    "main:app",
                    "--fd",
                    str(listener.fileno()),
                    "--reload",
                ],
                spec.root / "backend",
                backend_env,
                spec.root,
                "backend",
                pass_fds=(listener.fileno(),),
            )
            vite = spec.root / "frontend" / "node_modules" / ".bin" / "vite"
            processes["frontend"] = self._spawn(
                [
                    str(vite),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(spec.frontend_port),
                    "--strictPort",
                ],
                spec.root / "frontend",
                frontend_env,
                spec.root,
                "frontend",
            )
        except Exception:
            self._stop_processes(processes, str(spec.root))
            raise
        finally:
            listener.close()  # the backend holds its own copy
        return processes

    def _spawn(
        self,
        command: list[str],
        cwd: Path,
        env: dict[str, str],
        root: Path,
        role: str,
        pass_fds: tuple[int, ...] = (),
    ) -> str:
        output = MetaFiles(root).open_append(_log_name(role))
        try:
            process = subprocess.Popen(
                command,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                pass_fds=pass_fds,
            )
        finally:
            os.close(output)
        identity = process_identity(process.pid)
        if identity is None:
            raise StepForgeError(f"The {role} server exited at once: see {_log_path(root, role)}")
        self._children[identity] = process
        return identity

    def alive(self, record: PreviewRecord) -> dict[str, bool]:
        return {
            role: role in record.processes and _marked_for(record.processes[role], record.workspace)
            for role in ("frontend", "backend")
        }

    def stop(self, record: PreviewRecord) -> None:
        self._stop_processes(record.processes, record.workspace)

    def _stop_processes(self, processes: dict[str, str], workspace: str) -> None:
        """SIGTERM each group whose leader is still a server we started for `workspace` (a pid
        read from a file is never trusted on its own), then SIGKILL."""
        groups = [
            int(identity.split(":")[0])
            for identity in processes.values()
            if _marked_for(identity, workspace)
        ]
        for group in groups:
            try:
                os.killpg(group, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        while time.monotonic() < deadline and any(self._group_exists(g) for g in groups):
            time.sleep(0.1)
        for group in groups:
            try:
                os.killpg(group, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for identity in processes.values():  # reap the leaders this daemon started
            child = self._children.pop(identity, None)
            if child is not None:
                child.wait(timeout=STOP_GRACE_SECONDS)

    def _group_exists(self, group: int) -> bool:
        """Whether any live process is left in the group (our own zombie leaders are reaped)."""
        for identity, child in list(self._children.items()):
            if child.pid == group and child.poll() is not None:
                self._children.pop(identity)
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return any(
            _process_group(pid) == group and process_identity(pid) is not None
            for pid in (int(p) for p in os.listdir("/proc") if p.isdigit())
        )

    # --- logs ------------------------------------------------------------------------------------

    def tail(self, record: PreviewRecord, lines: int) -> list[tuple[Role, str]]:
        result: list[tuple[Role, str]] = []
        meta = MetaFiles(Path(record.workspace))
        for role in ROLES:
            data = meta.read(_log_name(role))
            if data is not None:
                text = data.decode(errors="replace")
                result += [(role, line) for line in text.splitlines()[-lines:]]
        return result

    def follow(
        self, record: PreviewRecord, role: str, emit: Callable[[str], None], stop: threading.Event
    ) -> None:
        """Blocking: forward lines appended to the role's log file until `stop` is set."""
        fd = MetaFiles(Path(record.workspace)).open_read(_log_name(role))
        if fd is None:
            return
        with os.fdopen(fd, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            pending = b""
            while not stop.is_set():
                chunk = handle.read()
                if not chunk:
                    if not self.alive(record).get(role):
                        return
                    stop.wait(0.2)
                    continue
                pending += chunk
                *complete, pending = pending.split(b"\n")
                for line in complete:
                    emit(line.decode("utf-8", "replace"))

    # --- orphans ---------------------------------------------------------------------------------

    def reap_orphans(self, index: PreviewIndex) -> list[str]:
        reaped = []
        for record in index.all():
            if (
                record.runtime != "local"
                or record.detached
                or (record.owner and is_alive(record.owner))
            ):
                continue
            self.stop(record)
            index.remove(record.workspace)
            reaped.append(record.workspace)
        return reaped


def _process_group(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None
