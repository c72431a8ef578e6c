"""How StepForge runs generated code in Docker: the container settings every such container shares
(preview servers and check tools alike), and the per-workspace dependency volumes.

Generated code is untrusted: a container sees only the folder it serves (`frontend/` or `backend/`,
never `.git`, `.stepforge` or `.vscode`; a role folder that is a link is refused, and the mount
uses the checked real path: `server.workspace.roles`), runs as the user's uid with every
capability dropped, no-new-privileges, a read-only root filesystem with a tmpfs for scratch, and
memory, CPU and process limits, on no network unless it asks for one (`server.preview.networks`).
Its dependencies live in a volume of its own workspace, or, while its lock file is the template's,
in the template's shared copy mounted read-only (`server.preview.volumes`).
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import Any, Literal

from server.workspace import roles

log = logging.getLogger(__name__)

LABEL = "stepforge"
Role = Literal["frontend", "backend"]
ROLES: tuple[Role, Role] = ("frontend", "backend")
INSIDE = "/workspace"
LIMITS = {"frontend": "1g", "backend": "512m"}
VOLUME_PREFIX = {"frontend": "stepforge-npm", "backend": "stepforge-venv"}
NO_NETWORK = "none"


def workspace_tag(root: str) -> str:
    return hashlib.sha256(root.encode()).hexdigest()[:10]


def role_folder(root: Path, role: Role) -> Path:
    """The role's folder to mount: its checked real path (a link or a non-folder is refused with
    an error naming it, so Docker never follows a planted `backend -> .`)."""
    return roles.role_folder(root, role)


def labels(root: str, role: Role, purpose: str, **extra: str) -> dict[str, str]:
    return {
        f"{LABEL}.managed": "1",
        f"{LABEL}.workspace": root,
        f"{LABEL}.role": role,
        f"{LABEL}.purpose": purpose,
        **{f"{LABEL}.{key}": value for key, value in extra.items()},
    }


def is_ours(container_labels: dict[str, str], root: str, role: str | None = None) -> bool:
    """Whether a container is one StepForge started for this workspace (and role): a container
    id read from a file in the workspace is never trusted on its own."""
    return (
        container_labels.get(f"{LABEL}.managed") == "1"
        and container_labels.get(f"{LABEL}.workspace") == root
        and (role is None or container_labels.get(f"{LABEL}.role") == role)
    )


# Vite's pre-bundled dependencies, beside them in the dependency volume (`vite optimize` fills it
# at install time, so a project's first start bundles nothing; see the template's vite.config.ts).
VITE_PREBUNDLED_DIR = "/deps/node_modules/.vite"
# The dev server's own cache: a tmpfs over this folder (made at install: a read-only volume cannot
# take a new mount point), seeded from VITE_PREBUNDLED_DIR as the container starts, so a server on
# the shared read-only dependencies can still bundle a dependency found later. Under a
# `node_modules/` path at the same depth: the bundles' relative paths hold, and the React plugin
# leaves them alone (under /tmp, Babel re-transformed every bundle).
VITE_CACHE_DIR = "/deps/node_modules/.vite-run"
# Where Vite writes its bundled config as it loads vite.config.ts (the node_modules nearest to the
# config: /node_modules, a link to /deps/node_modules): a tmpfs too, made at install likewise.
# (Vite's other loader, `--configLoader runner`, writes nothing but starts 60-80 ms slower.)
VITE_CONFIG_TEMP_DIR = "/deps/node_modules/.vite-temp"
# Installs the role's dependencies into /deps once (from the folder's lock file); both the preview
# servers and the check tools run it before anything else.
# One command per line under `set -e`: a failure in an `a && b` list (but its last command) would
# not stop the script, and a half-done install would be marked done.
INSTALL = {
    "frontend": f"""if [ ! -f /deps/.installed ]; then
  cp package.json /deps/
  rm -f /deps/package-lock.json
  if [ -f package-lock.json ]; then cp package-lock.json /deps/; fi
  cd /deps
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
  cd - >/dev/null
  STEPFORGE_VITE_CACHE_DIR={VITE_PREBUNDLED_DIR} /deps/node_modules/.bin/vite optimize --logLevel warn || echo "vite optimize failed: the dev server pre-bundles at its first start instead"
  mkdir -p {VITE_CACHE_DIR} {VITE_CONFIG_TEMP_DIR}
  touch /deps/.installed
fi
""",
    "backend": """if [ ! -f /deps/.installed ]; then
  uv venv --clear -q /deps/venv
  uv pip install -q --compile-bytecode --python /deps/venv/bin/python -r requirements.txt
  touch /deps/.installed
fi
""",
}
TOOL_ENV = {
    "frontend": {"npm_config_cache": "/tmp/.npm"},
    "backend": {"UV_CACHE_DIR": "/tmp/uv-cache"},
}


def is_shared_volume(name: str) -> bool:
    """Whether `name` is the template's dependencies shared by every project whose lock file is
    the template's (`server.preview.volumes.pristine_name`): mounted read-only, always."""
    return any(name.startswith(f"{prefix}-pristine-") for prefix in VOLUME_PREFIX.values())


def run_options(
    root: Path,
    role: Role,
    volume: str,
    extra_mounts: list[str],
    environment: dict[str, str],
    *,
    writable: bool = True,
    network: str = NO_NETWORK,
    template_install: bool = False,
) -> dict[str, Any]:
    """The keyword arguments of `containers.run` that every sandboxed container shares. The
    preview's servers may write their folder (Vite's timestamps, Python's caches); the check
    tools only read it. `network`: the user-defined network to join (`server.preview.networks`),
    none by default (never Docker's default bridge, which every container on the machine shares).
    `template_install`: the shared volume's own install from the template's manifests, the one
    container that may write it."""
    volumes: dict[str, dict[str, str]] = {
        str(role_folder(root, role)): {
            "bind": f"{INSIDE}/{role}",
            "mode": "rw" if writable else "ro",
        },
        # The kernel keeps a shared volume read-only: the container has no capability to remount.
        volume: {
            "bind": "/deps",
            "mode": "ro" if is_shared_volume(volume) and not template_install else "rw",
        },
    }
    for mount in extra_mounts:
        host, _, target = mount.partition(":")
        volumes[host] = {"bind": target, "mode": "ro"}
    return {
        "user": f"{os.getuid()}:{os.getgid()}",
        "environment": {**TOOL_ENV[role], **environment, "HOME": "/tmp"},
        "working_dir": f"{INSIDE}/{role}",
        "volumes": volumes,
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges"],
        "read_only": True,
        "tmpfs": {"/tmp": "rw,nosuid,nodev,size=1g"},
        "mem_limit": LIMITS[role],
        "nano_cpus": 1_000_000_000,
        "pids_limit": 512,
        "network_mode": network,
    }
