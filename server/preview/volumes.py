"""The dependency volumes of the sandboxed containers, owned by the user, mode 0700.

While a workspace's lock file is the template's, its containers mount the template's own copy of
the dependencies, the pristine volume, read-only: a new project's first preview or check neither
installs over the network nor copies 240 MB (3 s of a new project's first page). That copy is
installed once per lock file, by StepForge, from the template's own manifests (the installed
StepForge's files, never a workspace's), and is never writable in a container that runs a
project's code: the kernel refuses the write, and the container has no capability to remount.
So one project cannot change what another one runs.

A project whose lock file differs (its plan added packages) gets a volume of its own, keyed by
that lock file and never shared; it is removed with its workspace, and a changed lock file gets a
fresh one.

Installing needs the registries; nothing else here does. An install runs in a one-shot installer
container on a network of its own (`install_dependencies`, and the pristine copy's install), so
that the long-lived checker that then runs the project's code has no network at all; copying and
setting up a volume run with none. Blocking calls (docker SDK).
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable
from pathlib import Path

import docker
from docker.errors import APIError, NotFound
from docker.models.containers import Container

from server.preview import networks
from server.preview.launch import BACKEND_LOCKS, FRONTEND_LOCKS, dependency_key
from server.preview.owner import current_owner
from server.preview.records import machine_lock, state_folder
from server.preview.sandbox import (
    INSTALL,
    LABEL,
    VOLUME_PREFIX,
    Role,
    is_ours,
    labels,
    role_folder,
    run_options,
    workspace_tag,
)
from server.template import TEMPLATE_DIR

log = logging.getLogger(__name__)


def _locks(role: Role) -> tuple[str, ...]:
    return FRONTEND_LOCKS if role == "frontend" else BACKEND_LOCKS


def dependency_volume(root: Path, role: Role) -> str:
    """The volume that holds this workspace's installed dependencies for `role`, keyed by its
    lock file: a changed lock file gets a fresh volume, an unchanged one installs nothing. A role
    folder that is a link (or missing) is refused: its lock file is never read through it."""
    role_folder(root, role)
    key = dependency_key(root, _locks(role))
    return f"{VOLUME_PREFIX[role]}-{workspace_tag(str(root))}-{key}"


def _template_key(root: Path, role: Role) -> str | None:
    """The workspace's lock-file key for `role` when it is the template's (the pristine copy
    serves it), else None."""
    key = dependency_key(root, _locks(role))
    return key if key == dependency_key(TEMPLATE_DIR, _locks(role)) else None


def still_serves(root: Path, role: Role, name: str) -> bool:
    """Whether a container with `name` at /deps still has the workspace's dependencies for its
    lock files now (the volume `ensure_volume` gave for them); reads no volume."""
    key = _template_key(root, role)
    return name == dependency_volume(root, role) or (
        key is not None and name == pristine_name(role, key)
    )


def ensure_volume(
    client: docker.DockerClient,
    root: Path,
    role: Role,
    image: str,
    mounts: list[str],
    environment: dict[str, str],
) -> str:
    """The volume to mount at /deps: the workspace's own if it has one for its lock file, else
    the template's shared copy when the lock file is the template's (installed once if needed),
    else a new volume of the workspace's own, owned by the user with mode 0700 and empty (the
    caller installs into it), and then its older ones for the role are removed."""
    own = dependency_volume(root, role)
    if _exists(client, own):
        return own
    name = pristine_for(client, root, role, image, mounts, environment)
    if name is None:
        name = own
        client.volumes.create(
            name, labels=labels(str(root), role, "dependencies", uid=str(os.getuid()))
        )
        try:
            own_volume(client, name, image)
        except Exception:
            client.volumes.get(name).remove(force=True)
            raise
        _remove_stale_volumes(client, root, role, keep=name)
    return name


def _exists(client: docker.DockerClient, name: str) -> bool:
    try:
        client.volumes.get(name)
    except NotFound:
        return False
    return True


def own_volume(client: docker.DockerClient, name: str, image: str) -> None:
    """Make a new volume the user's, mode 0700 (a one-shot root container with only CHOWN and
    FOWNER). The marker keeps it non-empty: Docker copies the image's /deps (owner and mode
    included) onto an empty volume at every mount, which would undo the chmod."""
    client.containers.run(
        image,
        [
            "sh",
            "-c",
            f"touch /deps/.stepforge-volume && chown -R {os.getuid()}:{os.getgid()} /deps "
            "&& chmod 0700 /deps",
        ],
        user="0:0",
        cap_drop=["ALL"],
        cap_add=["CHOWN", "FOWNER"],
        security_opt=["no-new-privileges"],
        network_disabled=True,
        volumes={name: {"bind": "/deps", "mode": "rw"}},
        labels={f"{LABEL}.managed": "1", f"{LABEL}.purpose": "volume-init"},
        remove=True,
    )


def run_over_volumes(
    client: docker.DockerClient,
    image: str,
    argv: list[str],
    mounts: dict[str, dict[str, str]],
    user: str | None = None,
) -> bytes:
    """Run one command over volumes in a throwaway container: as the user (or `user`, "UID:GID":
    the owner of the files, as Postgres' uid for its volume), no network, a read-only root; its
    output."""
    # Detached, waited for, then read: `containers.run(remove=True)` was seen to return an empty
    # output for a command that printed, which would make a volume with data look empty.
    container = client.containers.run(
        image,
        argv,
        user=user or f"{os.getuid()}:{os.getgid()}",
        cap_drop=["ALL"],
        security_opt=["no-new-privileges"],
        network_disabled=True,
        read_only=True,
        volumes=mounts,
        labels={f"{LABEL}.managed": "1", f"{LABEL}.purpose": "volume-init"},
        detach=True,
    )
    try:
        status = container.wait()
        output: bytes = container.logs(stdout=True, stderr=False)
        if status.get("StatusCode", 1) != 0:
            errors = container.logs(stdout=False, stderr=True)
            raise docker.errors.ContainerError(
                container, status.get("StatusCode", 1), argv, image, errors
            )
        return output
    finally:
        container.remove(force=True)


def copy_volume(client: docker.DockerClient, source: str, target: str, image: str) -> None:
    """Copy one volume's files into another, as the user (the source mounted read-only)."""
    run_over_volumes(
        client,
        image,
        ["cp", "-a", "/from/.", "/deps/"],
        {source: {"bind": "/from", "mode": "ro"}, target: {"bind": "/deps", "mode": "rw"}},
    )


def _remove_managed_volumes(
    client: docker.DockerClient, unwanted: Callable[[str, dict[str, str]], bool]
) -> list[str]:
    """Remove StepForge's volumes for which `unwanted(name, labels)` holds; a volume still mounted
    by a container is kept for next time. Returns the names removed."""
    removed = []
    for volume in client.volumes.list(filters={"label": f"{LABEL}.managed=1"}):
        if unwanted(volume.name, volume.attrs.get("Labels") or {}):
            try:
                volume.remove()
                removed.append(volume.name)
            except APIError as error:
                log.debug("kept volume %s: %s", volume.name, error)
    return removed


def _remove_stale_volumes(client: docker.DockerClient, root: Path, role: Role, keep: str) -> None:
    _remove_managed_volumes(
        client, lambda name, found: name != keep and is_ours(found, str(root), role)
    )


def remove_abandoned_volumes(client: docker.DockerClient) -> list[str]:
    """Remove the dependency volumes of workspaces that no longer exist (a deleted project's
    packages would otherwise stay on disk for good); returns their names."""

    def abandoned(_name: str, found: dict[str, str]) -> bool:
        if found.get(f"{LABEL}.purpose") in ("data", "data-backup"):
            return False  # the app's records (server.preview.database): never removed unasked
        workspace = found.get(f"{LABEL}.workspace")
        return bool(workspace and not Path(workspace).is_dir())

    return _remove_managed_volumes(client, abandoned)


# --- the pristine copy of the template's dependencies ------------------------------

INSTALL_TIMEOUT = 900


def pristine_name(role: Role, key: str) -> str:
    # The install's recipe is part of the name: a changed recipe (Vite's pre-bundling added to it)
    # installs a new pristine copy instead of copying an old one that lacks what it now makes.
    recipe = hashlib.sha256(INSTALL[role].encode()).hexdigest()[:8]
    return f"{VOLUME_PREFIX[role]}-pristine-{key}-{recipe}"


def _done(name: str) -> str:
    # Volumes cannot be relabelled: a second, empty volume says the install finished.
    return f"{name}-done"


def _installed(client: docker.DockerClient, name: str) -> bool:
    return _exists(client, _done(name)) and _exists(client, name)


def pristine_for(
    client: docker.DockerClient,
    root: Path,
    role: Role,
    image: str,
    mounts: list[str],
    environment: dict[str, str],
) -> str | None:
    """The pristine volume for this workspace's lock file, installed if needed; None when the
    workspace's dependencies are not the template's (or the install failed: then the project
    installs its own)."""
    key = _template_key(root, role)
    if key is None:
        return None
    name = pristine_name(role, key)
    if _installed(client, name):
        return name
    with machine_lock(state_folder() / "pristine.lock"):  # one install at a time
        if _installed(client, name):
            return name
        return _install(client, role, image, key, mounts, environment)


def _install(
    client: docker.DockerClient,
    role: Role,
    image: str,
    key: str,
    mounts: list[str],
    environment: dict[str, str],
) -> str | None:
    name = pristine_name(role, key)
    labels = {f"{LABEL}.managed": "1", f"{LABEL}.purpose": "pristine"}
    try:
        client.volumes.get(name).remove(force=True)  # an install that did not finish
    except NotFound:
        pass
    try:
        client.volumes.create(name, labels=labels)
        own_volume(client, name, image)
        failed = install_dependencies(
            client,
            TEMPLATE_DIR,
            role,
            image,
            name,
            mounts,
            environment,
            INSTALL_TIMEOUT,
            template_install=True,
        )
        if failed is not None:
            raise APIError(failed)
        client.volumes.create(_done(name), labels=labels)
    except APIError as error:
        log.warning("could not prepare the template's %s dependencies: %s", role, error)
        try:
            client.volumes.get(name).remove(force=True)
        except (NotFound, APIError):
            pass
        return None
    log.info("installed the template's %s dependencies once, for every new project", role)
    return name


# --- installing into a volume -------------------------------------------------------------

INSTALL_OUTPUT_LINES = 10


def install_missing_dependencies(
    client: docker.DockerClient,
    running: Container,
    root: Path,
    role: Role,
    image: str,
    volume: str,
    mounts: list[str],
    environment: dict[str, str],
    timeout: int,
) -> str | None:
    """`install_dependencies` for a container that runs with `volume` at /deps and no network (a
    checker): nothing, not even the installer, when the volume holds them already."""
    if running.exec_run(["test", "-f", "/deps/.installed"]).exit_code == 0:
        return None
    return install_dependencies(client, root, role, image, volume, mounts, environment, timeout)


def install_dependencies(
    client: docker.DockerClient,
    root: Path,
    role: Role,
    image: str,
    volume: str,
    mounts: list[str],
    environment: dict[str, str],
    timeout: int,
    template_install: bool = False,
) -> str | None:
    """Install the role's dependencies into `volume` (nothing when it holds them already), in a
    one-shot container that sees the role's folder read-only and reaches the registries on a
    network of its own (`template_install`: the shared pristine volume's own install). None when
    done; else the last lines of its output."""
    with networks.installer_network(client, root) as network:
        container = client.containers.run(
            image,
            ["timeout", str(timeout), "sh", "-c", "set -e\n" + INSTALL[role]],
            detach=True,
            labels=labels(str(root), role, "install", volume=volume, owner=current_owner()),
            **run_options(
                root,
                role,
                volume,
                mounts,
                environment,
                writable=False,
                network=network,
                template_install=template_install,
            ),
        )
        try:
            code = container.wait(timeout=timeout + 30).get("StatusCode", 1)
            if code == 0:
                return None
            output = container.logs().decode("utf-8", "replace").strip().splitlines()
            return f"(exit {code}) " + "\n".join(output[-INSTALL_OUTPUT_LINES:])
        finally:
            try:
                container.remove(force=True)
            except NotFound:
                pass
