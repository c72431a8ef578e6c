"""Running the migration step (`inside.py`) where the app's code may run: a throwaway backend
container in the preview's sandbox (the backend folder, its dependency volume, the data volume;
no network), or, when the user chose the local runtime, the local runtime's environment.
Blocking calls (docker SDK, subprocesses): callers run them in worker threads.
"""

from __future__ import annotations

import json
import logging
import subprocess
from pathlib import Path
from typing import Any

import docker
from docker.errors import NotFound

from server.config import Settings
from server.preview import database, sandbox, volumes
from server.preview.migrations.inside import MARKER
from server.preview.owner import current_owner
from server.workspace.roles import role_folder

log = logging.getLogger(__name__)

INSIDE = Path(__file__).with_name("inside.py")

NO_DEPENDENCIES = 3
TIMEOUT = 180
# Inside the data volume: copies the step keeps before it changes (or refuses to change) a table.
DOCKER_BACKUPS = f"{database.DATA_INSIDE}/backups"

_SCRIPT = (
    "if [ ! -f /deps/.installed ]; then exit 3; fi\n"
    'exec /deps/venv/bin/python -c "$STEPFORGE_MIGRATION_SCRIPT" "$@"\n'
)


def result_of(output: str) -> dict[str, Any] | None:
    """The step's JSON answer in its output (its last marked line)."""
    for line in reversed(output.splitlines()):
        if line.startswith(MARKER):
            answer: dict[str, Any] = json.loads(line[len(MARKER) :])
            return answer
    return None


def failure(output: str, code: int | str) -> dict[str, Any]:
    lines = [line for line in output.splitlines() if line.strip()][-12:]
    return {"state": "failed", "error": f"(exit {code}) " + "\n".join(lines)}


def run_in_docker(
    root: Path,
    settings: Settings,
    argv: list[str],
    database_url: str = database.DOCKER_URL,
    network: str = sandbox.NO_NETWORK,
) -> dict[str, Any]:
    """The step in a throwaway backend container: over the workspace's SQLite data volume (no
    network), or on the preview's network with the URL of its Postgres."""
    client = docker.from_env(timeout=60)
    image = settings.backend_image
    mounts = settings.container_mounts
    volume = volumes.ensure_volume(client, root, "backend", image, mounts, settings.container_env)
    environment = {
        **settings.container_env,
        "DATABASE_URL": database_url,
        "PYTHONDONTWRITEBYTECODE": "1",
        "STEPFORGE_MIGRATION_SCRIPT": INSIDE.read_text(),
    }
    sqlite = network == sandbox.NO_NETWORK
    for attempt in (1, 2):
        options = sandbox.run_options(root, "backend", volume, mounts, environment, network=network)
        if sqlite:
            options = database.with_data_volume(options, database.data_volume(root))
        container = client.containers.run(
            image,
            ["sh", "-c", _SCRIPT, "migration", *argv],
            detach=True,
            labels=sandbox.labels(str(root), "backend", "migration", owner=current_owner()),
            **options,
        )
        try:
            code = container.wait(timeout=TIMEOUT).get("StatusCode", 1)
            output = container.logs().decode("utf-8", "replace")
        finally:
            try:
                container.remove(force=True)
            except NotFound:
                pass
        if code == NO_DEPENDENCIES and attempt == 1:
            missing = volumes.install_dependencies(
                client, root, "backend", image, volume, mounts, settings.container_env, TIMEOUT
            )
            if missing:
                return {"state": "failed", "error": f"the backend's packages: {missing}"}
            continue
        return result_of(output) or failure(output, code)
    raise AssertionError("unreachable: the second attempt returns")


def run_locally(root: Path, python: Path, database_url: str, argv: list[str]) -> dict[str, Any]:
    """The step with the local runtime's python (the user chose to run the app unsandboxed)."""
    from server.preview.local_runtime import host_environment

    environment = {
        **host_environment(root),
        "DATABASE_URL": database_url,
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    done = subprocess.run(
        [str(python), "-c", INSIDE.read_text(), *argv],
        cwd=role_folder(root, "backend"),
        env=environment,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    output = done.stdout + done.stderr
    return result_of(done.stdout) or failure(output, done.returncode)
