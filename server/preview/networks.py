"""The Docker networks of StepForge's containers: which container may reach what.

Docker's default bridge joins every container on the machine, so one workspace's preview could
reach another's backend (or its database) directly, and a checker running a project's code could
reach them all. Hence, per container:

- **Preview servers** (frontend, backend; the database joins later through `preview_network`):
  a user-defined bridge network per workspace, labelled like the containers. Ports are published
  on 127.0.0.1 as before, and NAT still takes a cold start's install to npm and PyPI. Removed when
  the preview stops; one left behind by a dead daemon is reaped with the orphans.
- **Installers** (a one-shot container that fills a dependency volume from the registries, for a
  checker or the template's pristine copy): a network of their own for their lifetime
  (`installer_network`), never shared with any other container.
- **Checkers** (tsc, the app's import) and volume set-up: no network at all (`NO_NETWORK`). The
  checker's dependencies are installed first, by an installer, so nothing it runs needs one.

Blocking calls (docker SDK).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import docker
from docker.errors import APIError, NotFound
from docker.models.networks import Network

from protocol.errors import ErrorCode
from server.errors import StepForgeError
from server.preview.owner import current_owner, is_alive
from server.preview.sandbox import LABEL, NO_NETWORK, workspace_tag

log = logging.getLogger(__name__)

PREVIEW_PURPOSE = "preview-network"
INSTALLER_PURPOSE = "installer-network"
__all__ = ["NO_NETWORK", "installer_network", "preview_network", "remove_preview_network"]


def preview_network_name(root: Path) -> str:
    return f"stepforge-preview-{workspace_tag(str(root))}"


def _ours(network: Network, root: str | None, purpose: str) -> bool:
    found = network.attrs.get("Labels") or {}
    return (
        found.get(f"{LABEL}.managed") == "1"
        and found.get(f"{LABEL}.purpose") == purpose
        and (root is None or found.get(f"{LABEL}.workspace") == root)
    )


def preview_network(client: docker.DockerClient, root: Path) -> str:
    """The name of this workspace's preview network, created if needed: every container of the
    workspace's preview (frontend, backend, database) joins it, and only those."""
    name = preview_network_name(root)
    try:
        network = client.networks.get(name)
    except NotFound:
        network = None
    if network is not None and _ours(network, str(root), PREVIEW_PURPOSE):
        # Left by a dead daemon and unused: a reaper could remove it under our containers, so it
        # is replaced by one this process owns.
        if not _abandoned(network) or not _remove(network):
            return name
        network = None
    if network is not None:
        # A network of that name that StepForge did not create for this workspace: never joined.
        raise StepForgeError(
            f"The Docker network {name} exists, but StepForge did not create it for {root}: "
            f"remove it (`docker network rm {name}`) and start the preview again.",
            code=ErrorCode.PREVIEW_FAILED,
        )
    try:
        client.networks.create(
            name,
            driver="bridge",
            check_duplicate=True,
            labels={
                f"{LABEL}.managed": "1",
                f"{LABEL}.workspace": str(root),
                f"{LABEL}.purpose": PREVIEW_PURPOSE,
                f"{LABEL}.owner": current_owner(),
            },
        )
    except APIError as error:
        if error.status_code != 409:  # another daemon created it a moment ago: use it
            raise
    return name


def _remove(network: Network) -> bool:
    """Whether the network is gone (removed now, or already)."""
    try:
        network.remove()
    except NotFound:
        return True
    except APIError as error:  # still in use (a container of a parallel start): kept
        log.debug("kept network %s: %s", network.name, error)
        return False
    return True


def remove_preview_network(client: docker.DockerClient, root: Path) -> None:
    """Remove the workspace's preview network once its containers are gone (a network still in
    use is kept)."""
    try:
        network = client.networks.get(preview_network_name(root))
    except NotFound:
        return
    if _ours(network, str(root), PREVIEW_PURPOSE):
        _remove(network)


@contextmanager
def installer_network(client: docker.DockerClient, root: Path) -> Iterator[str]:
    """A network of its own for one installer container (it reaches the registries, and no other
    container), removed afterwards."""
    name = f"stepforge-install-{workspace_tag(str(root))}-{secrets.token_hex(4)}"
    network = client.networks.create(
        name,
        driver="bridge",
        labels={
            f"{LABEL}.managed": "1",
            f"{LABEL}.workspace": str(root),
            f"{LABEL}.purpose": INSTALLER_PURPOSE,
            f"{LABEL}.owner": current_owner(),
        },
    )
    try:
        yield name
    finally:
        _remove(network)


def _abandoned(network: Network) -> bool:
    """No container uses it and the process that created it is gone."""
    network.reload()  # a listing leaves out the attached containers
    owner = (network.attrs.get("Labels") or {}).get(f"{LABEL}.owner", "")
    return not network.attrs.get("Containers") and not is_alive(owner)


def remove_unused_networks(client: docker.DockerClient) -> list[str]:
    """Remove StepForge's networks that no container uses and whose creator is gone (a daemon
    killed mid-start or mid-install); returns their names. A live daemon's network is left to it:
    it may be about to start its containers."""
    removed = []
    for network in client.networks.list(filters={"label": f"{LABEL}.managed=1"}):
        found = network.attrs.get("Labels") or {}
        if found.get(f"{LABEL}.purpose") not in (PREVIEW_PURPOSE, INSTALLER_PURPOSE):
            continue
        if _abandoned(network) and _remove(network):
            removed.append(network.name)
    return removed
