"""Where a preview's database lives: a resource of the preview, like its ports.

The app's SQLite file is kept outside the source folders, so `uvicorn --reload` never sees it and
no write of StepForge's (generate, repair, change) can reach it:
- docker runtime: a named volume per workspace (`stepforge-data-<tag>`), mounted at /data in the
  backend container only; it outlives the containers, and is never removed with the dependency
  volumes (a moved or renamed project keeps it).
- local runtime: `.stepforge/data/` in the workspace (uvicorn runs from backend/ and watches only
  it).
Checks that run the app use a scratch database instead: a file in the container's tmpfs, or a
folder under `.stepforge/checks/` emptied at every start.

Resetting keeps a copy first: a backup volume (`stepforge-data-backup-<tag>-<time>`), or a folder
under `.stepforge/data-backups/`. Blocking calls (docker SDK, file copies).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

import docker
from docker.errors import NotFound

from protocol.models import PreviewData
from server.preview.records import DatabaseName, RuntimeName
from server.preview.sandbox import LABEL, workspace_tag
from server.preview.volumes import copy_volume, own_volume, run_over_volumes
from server.workspace.meta import MetaFiles

log = logging.getLogger(__name__)

DATABASE_FILE = "app.db"
DATA_INSIDE = "/data"
DOCKER_URL = f"sqlite:///{DATA_INSIDE}/{DATABASE_FILE}"
SCRATCH_DOCKER_URL = f"sqlite:////tmp/{DATABASE_FILE}"  # the container's tmpfs: gone with it
DATA_FOLDER = "data"
BACKUP_FOLDER = "data-backups"
SCRATCH_FOLDER = "checks/scratch-data"
# A volume's marker (server.preview.volumes.own_volume): it says nothing about the app's data.
VOLUME_MARKER = ".stepforge-volume"


def data_volume(root: Path) -> str:
    return f"stepforge-data-{workspace_tag(str(root))}"


def data_labels(root: Path, purpose: str) -> dict[str, str]:
    # The role is "data", never a server's: the dependency volumes' clean-up passes them by.
    return {
        f"{LABEL}.managed": "1",
        f"{LABEL}.workspace": str(root),
        f"{LABEL}.role": "data",
        f"{LABEL}.purpose": purpose,
        f"{LABEL}.uid": str(os.getuid()),
    }


def is_data_volume(labels: dict[str, str]) -> bool:
    return labels.get(f"{LABEL}.purpose") in ("data", "data-backup")


def data_folder(root: Path) -> Path:
    return MetaFiles(root).path(DATA_FOLDER)


def local_url(root: Path, scratch: bool = False) -> str:
    """DATABASE_URL for the local runtime; the folder is created (mode 0700), a scratch one
    emptied first."""
    meta = MetaFiles(root)
    if scratch:
        folder = meta.path(SCRATCH_FOLDER)
        shutil.rmtree(folder, ignore_errors=True)
    folder = meta.ensure_dir(SCRATCH_FOLDER if scratch else DATA_FOLDER)
    folder.chmod(0o700)
    return f"sqlite:///{folder / DATABASE_FILE}"


def describe(
    root: Path,
    runtime: RuntimeName,
    database: DatabaseName = "sqlite",
    configured_url: str | None = None,
) -> PreviewData:
    """Where the app's data is for `runtime` and `database`, as status shows it
    (`configured_url`: the user's DATABASE_URL, for Postgres with the local runtime)."""
    if database == "postgres":
        from server.preview import postgres  # it builds on this module's labels

        return (
            postgres.describe(root)
            if runtime == "docker"
            else postgres.describe_local(configured_url)
        )
    if runtime == "docker":
        volume = data_volume(root)
        return PreviewData(
            runtime="docker",
            location=f"docker volume {volume}",
            volume=volume,
            database_url=DOCKER_URL,
            backups=f"docker volumes {volume.replace('-data-', '-data-backup-')}-*",
        )
    path = data_folder(root) / DATABASE_FILE
    return PreviewData(
        runtime="local",
        location=str(path),
        path=str(path),
        database_url=f"sqlite:///{path}",
        backups=str(MetaFiles(root).path(BACKUP_FOLDER)),
    )


# --- docker ------------------------------------------------------------------------------------


def with_data_volume(options: dict[str, Any], volume: str | None) -> dict[str, Any]:
    """A container's run options with the data volume at /data (read-write), if one is given."""
    if volume is not None:
        options["volumes"] = {**options["volumes"], volume: {"bind": DATA_INSIDE, "mode": "rw"}}
    return options


def ensure_data_volume(client: docker.DockerClient, root: Path, image: str) -> str:
    """The workspace's data volume, created (the user's, mode 0700) if it does not exist yet."""
    name = data_volume(root)
    try:
        client.volumes.get(name)
        return name
    except NotFound:
        pass
    client.volumes.create(name, labels=data_labels(root, "data"))
    try:
        own_volume(client, name, image)
    except Exception:
        client.volumes.get(name).remove(force=True)
        raise
    return name


def _on_volume(
    client: docker.DockerClient, image: str, name: str, argv: list[str], mode: str = "ro"
) -> bytes:
    """Run one command over the data volume (at /deps)."""
    return run_over_volumes(client, image, argv, {name: {"bind": "/deps", "mode": mode}})


def _volume_has_data(client: docker.DockerClient, name: str, image: str) -> bool:
    found = ["find", "/deps", "-mindepth", "1", "-not", "-name", VOLUME_MARKER]
    return bool(_on_volume(client, image, name, found).strip())


def reset_volume(client: docker.DockerClient, root: Path, image: str) -> str | None:
    """Copy the data volume into a new backup volume, then empty it; the backup's name (None:
    there was no data to reset)."""
    name = data_volume(root)
    try:
        client.volumes.get(name)
    except NotFound:
        return None
    if not _volume_has_data(client, name, image):
        return None
    backup = f"stepforge-data-backup-{workspace_tag(str(root))}-{time.strftime('%Y%m%d-%H%M%S')}"
    client.volumes.create(backup, labels=data_labels(root, "data-backup"))
    own_volume(client, backup, image)
    copy_volume(client, name, backup, image)
    # Emptied only once the copy is complete (copy_volume raises otherwise).
    emptied = ["find", "/deps", "-mindepth", "1", "-not", "-name", VOLUME_MARKER, "-delete"]
    _on_volume(client, image, name, emptied, mode="rw")
    return backup


# --- local -------------------------------------------------------------------------------------


def reset_folder(root: Path) -> Path | None:
    """Copy the local data folder to `.stepforge/data-backups/<time>/`, then empty it; the copy's
    path (None: there was no data)."""
    folder = data_folder(root)
    if not folder.is_dir() or not any(folder.iterdir()):
        return None
    backups = MetaFiles(root).ensure_dir(BACKUP_FOLDER)
    backups.chmod(0o700)
    target = backups / time.strftime("%Y%m%d-%H%M%S")
    suffix = 1
    while target.exists():
        target = backups / f"{time.strftime('%Y%m%d-%H%M%S')}-{suffix}"
        suffix += 1
    shutil.copytree(folder, target, symlinks=True)
    for entry in folder.iterdir():  # emptied only once the copy is complete
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    return target


# --- a database the app cannot use ------------------------------------------------------------

# The one line the template's db.py raises when the database does not answer, is not a database,
# or cannot be migrated (it names the database).
_DATABASE_ERROR = re.compile(r"RuntimeError: (The database .* cannot be (?:used|migrated).*)$")


def database_error(lines: list[str]) -> str | None:
    """Why the backend cannot use its database, from its log (the last such line), or None."""
    for line in reversed(lines):
        found = _DATABASE_ERROR.search(line)
        if found:
            return found.group(1).strip()
    return None
