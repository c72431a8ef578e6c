"""The migration step on the preview's Postgres (docker runtime, `database: postgres`).

The step is the same as on SQLite (`inside.py` in a throwaway backend container); what differs is
how it reaches the data and how a copy is kept:
- the container joins the preview's own network and gets the Postgres URL; a Postgres that is not
  running (no preview now) is started for the step and stopped after it, the same container and
  volume the preview uses;
- before the step changes anything, `pg_dump` (inside the Postgres container, as its own user)
  writes a plain SQL copy into the volume, under `stepforge-backups/`; a step that changed
  nothing removes its copy again. Restore with `psql -h /tmp -U postgres app < FILE` inside it.
Blocking calls (docker SDK): callers run them in worker threads.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import docker
from docker.errors import NotFound
from docker.models.containers import Container

from server.config import Settings
from server.preview import networks, postgres
from server.preview.owner import current_owner
from server.preview.sandbox import is_ours

BACKUPS = f"{postgres.DATA_INSIDE}/stepforge-backups"
UNCHANGED = ("fresh", "current")  # the step's answers that changed nothing


def has_database(root: Path) -> bool:
    """Blocking: whether the workspace's Postgres volume exists (else there is nothing to
    migrate: the app makes its tables at the first start)."""
    try:
        docker.from_env(timeout=30).volumes.get(postgres.data_volume(root))
    except NotFound:
        return False
    return True


@contextmanager
def serving(client: docker.DockerClient, root: Path, image: str) -> Iterator[tuple[str, str]]:
    """The workspace's Postgres, running: (its network, the app's DATABASE_URL). Started for the
    step (and stopped after it) when no preview runs it now."""
    name = postgres.container_name(root)
    running: Container | None = None
    try:
        found = client.containers.get(name)
        if found.status == "running" and is_ours(found.labels, str(root)):
            running = found
    except NotFound:
        pass
    network = networks.preview_network(client, root)
    if running is not None:
        postgres.wait_ready(root, running)
        yield network, postgres.app_url(name, postgres.password(root))
        return
    try:  # a stopped container of ours would be in the way of the name
        stale = client.containers.get(name)
        if is_ours(stale.labels, str(root)):
            stale.remove(force=True)
    except NotFound:
        pass
    labels = postgres.labels_for(root, owner=current_owner(), detached="0")
    container, url = postgres.run_container(client, root, image, network, labels)
    try:
        postgres.wait_ready(root, container)
        yield network, url
    finally:
        postgres.stop(container)


def dump(client: docker.DockerClient, root: Path, label: str) -> str:
    """A plain SQL copy of the app's database in the Postgres volume; its path inside."""
    container = client.containers.get(postgres.container_name(root))
    target = f"{BACKUPS}/app-{time.strftime('%Y%m%d-%H%M%S')}-before-{label}.sql"
    script = f'mkdir -p "{BACKUPS}" && pg_dump -h /tmp -U postgres -d {postgres.APP} -f "{target}"'
    done = container.exec_run(["sh", "-c", script], user=postgres.USER)
    if done.exit_code != 0:
        output = done.output.decode("utf-8", "replace").strip()[-300:]
        raise RuntimeError(f"pg_dump could not keep a copy first: {output}")
    return target


def forget(client: docker.DockerClient, root: Path, path: str) -> None:
    container = client.containers.get(postgres.container_name(root))
    container.exec_run(["rm", "-f", path], user=postgres.USER)


def run_step(root: Path, settings: Settings, argv: list[str]) -> dict[str, Any]:
    """The step (`migrate MESSAGE` or `downgrade REVISION`) on the workspace's Postgres, a copy
    kept first."""
    from server.preview.migrations import runner

    client = docker.from_env(timeout=60)
    with serving(client, root, settings.postgres_image) as (network, url):
        copy = dump(client, root, argv[0])
        answer = runner.run_in_docker(root, settings, argv, url, network)
        if answer.get("state") in UNCHANGED:
            forget(client, root, copy)
        else:
            answer["backup"] = f"{copy} in docker volume {postgres.data_volume(root)}"
    return answer
