"""The plan's extra packages in the app's manifests, and in their lock files through the package
managers themselves (npm, uv), never by editing a lock by hand.

The manifests are the user's files too: every write goes through the workspace's merge rules. The
lock files are regenerated in a scratch folder (`npm install --package-lock-only --ignore-scripts`,
`uv pip compile`), so no package code runs on this machine, then written the same way.
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import tempfile
from pathlib import Path

import anyio

from protocol.plan import Plan
from server.plan.packages import normalize_pypi, requirement_name
from server.workspace.session import WorkspaceSession
from server.workspace.writer import WriteOutcome

log = logging.getLogger(__name__)

PACKAGE_JSON = "frontend/package.json"
PACKAGE_LOCK = "frontend/package-lock.json"
REQUIREMENTS_IN = "backend/requirements.in"
REQUIREMENTS_TXT = "backend/requirements.txt"
LOCK_TIMEOUT = 300


def with_npm_packages(manifest: str, wanted: dict[str, str]) -> str | None:
    """package.json with the plan's packages added as dependencies (None: nothing to add)."""
    data = json.loads(manifest)
    present = {**data.get("devDependencies", {}), **data.get("dependencies", {})}
    missing = {name: spec or "*" for name, spec in wanted.items() if name not in present}
    if not missing:
        return None
    data["dependencies"] = dict(sorted({**data.get("dependencies", {}), **missing}.items()))
    return json.dumps(data, indent=2) + "\n"


def with_pypi_packages(requirements: str, wanted: dict[str, str]) -> str | None:
    """requirements.in with the plan's packages added (None: nothing to add)."""
    present = {name for line in requirements.splitlines() if (name := requirement_name(line))}
    missing = [
        f"{name}{spec}"
        for name, spec in sorted(wanted.items())
        if normalize_pypi(name) not in present
    ]
    if not missing:
        return None
    return requirements.rstrip("\n") + "\n" + "\n".join(missing) + "\n"


def _in_scratch(files: dict[str, str], command: list[str], result: str) -> str:
    """Blocking: run a package manager in a scratch folder holding `files`; the file it writes."""
    with tempfile.TemporaryDirectory(prefix="stepforge-lock-") as folder:
        for name, text in files.items():
            (Path(folder) / name).write_text(text)
        completed = subprocess.run(
            command, cwd=folder, capture_output=True, text=True, timeout=LOCK_TIMEOUT, check=False
        )
        if completed.returncode != 0:
            lines = completed.stderr.strip().splitlines()
            raise RuntimeError(lines[-1] if lines else f"{Path(command[0]).name} failed")
        return (Path(folder) / result).read_text()


def _npm_lock(manifest: str, lock: str | None) -> str:
    """Blocking: the lock file npm writes for `manifest` (network, no scripts)."""
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not installed")
    files = {"package.json": manifest, **({"package-lock.json": lock} if lock else {})}
    command = [npm, "install", "--package-lock-only", "--ignore-scripts", "--no-audit", "--no-fund"]
    return _in_scratch(files, command, "package-lock.json")


def _uv_compile(requirements: str) -> str:
    """Blocking: requirements.txt as `uv pip compile` resolves requirements.in (network)."""
    import uv

    command = [
        uv.find_uv_bin(),
        "pip",
        "compile",
        "--quiet",
        "--no-header",
        "requirements.in",
        "-o",
        "requirements.txt",
    ]
    return _in_scratch({"requirements.in": requirements}, command, "requirements.txt")


async def _write(session: WorkspaceSession, path: str, text: str, notes: list[str]) -> bool:
    result = await session.write(path, text.encode())
    if result.outcome is WriteOutcome.CONFLICT:
        notes.append(
            f"{path}: your edits conflict with the plan's packages; kept yours (conflict {result.conflict_id})."
        )
        return False
    return result.outcome is not WriteOutcome.SKIPPED


async def add_plan_packages(session: WorkspaceSession, plan: Plan) -> list[str]:
    """Add the plan's `dependencies` to the manifests and re-lock; returns notes for the user.
    Only while holding the workspace lock."""
    notes: list[str] = []
    wanted = plan.dependencies
    if wanted.npm:
        manifest = await anyio.to_thread.run_sync(session.read, PACKAGE_JSON)
        lock = await anyio.to_thread.run_sync(session.read, PACKAGE_LOCK)
        updated = with_npm_packages(manifest.decode(), wanted.npm) if manifest else None
        if updated is not None and await _write(session, PACKAGE_JSON, updated, notes):
            try:
                new_lock = await anyio.to_thread.run_sync(
                    _npm_lock, updated, lock.decode() if lock else None
                )
                await _write(session, PACKAGE_LOCK, new_lock, notes)
                notes.append(f"added {', '.join(sorted(wanted.npm))} to the frontend")
            except (RuntimeError, OSError, subprocess.TimeoutExpired) as error:
                notes.append(
                    f"could not update {PACKAGE_LOCK} ({error}); the frontend's install fails until it is"
                )
    if wanted.pypi:
        requirements = await anyio.to_thread.run_sync(session.read, REQUIREMENTS_IN)
        updated = with_pypi_packages(requirements.decode() if requirements else "", wanted.pypi)
        if updated is not None and await _write(session, REQUIREMENTS_IN, updated, notes):
            try:
                compiled = await anyio.to_thread.run_sync(_uv_compile, updated)
                await _write(session, REQUIREMENTS_TXT, compiled, notes)
                notes.append(f"added {', '.join(sorted(wanted.pypi))} to the backend")
            except (RuntimeError, OSError, subprocess.TimeoutExpired) as error:
                notes.append(
                    f"could not update {REQUIREMENTS_TXT} ({error}); the backend's install fails until it is"
                )
    for note in notes:
        log.info("%s", note)
    return notes
