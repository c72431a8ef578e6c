"""The plan's extra packages in the app's manifests, and in their lock files through the package
managers themselves (npm, uv), never by editing a lock by hand.

The manifests are the user's files too: every write goes through the workspace's merge rules. The
lock files are regenerated in a scratch folder, then written the same way. Locking runs on this
machine even with the docker runtime, and it is started by a plan, which may come from the LLM or
from a `git pull` of someone else's repository, so no package code may run:

- npm: `--package-lock-only --ignore-scripts` (npm fetches manifests, runs no lifecycle script);
- uv: `--no-build` (a package with only a source distribution would run its PEP 517 hooks to give
  its metadata: such a package is refused by name instead), and `requirements.in` must hold plain
  registry requirements only (no option lines, URLs or paths; see `requirements_problems`);
- every tool gets `tool_environment()`: no API key, token or other secret.
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
from server.plan.packages import (
    normalize_pypi,
    npm_problem,
    pypi_problem,
    requirement_name,
    requirements_problems,
)
from server.tool_env import tool_environment
from server.workspace.session import WorkspaceSession
from server.workspace.writer import WriteOutcome

log = logging.getLogger(__name__)

PACKAGE_JSON = "frontend/package.json"
PACKAGE_LOCK = "frontend/package-lock.json"
REQUIREMENTS_IN = "backend/requirements.in"
REQUIREMENTS_TXT = "backend/requirements.txt"
LOCK_TIMEOUT = 300


class LockRefused(RuntimeError):
    """The lock step will not run for these requirements; the message says what to change."""


def with_npm_packages(manifest: str, wanted: dict[str, str]) -> str | None:
    """package.json with the plan's packages added as dependencies (None: nothing to add)."""
    data = json.loads(manifest)
    present = {**data.get("devDependencies", {}), **data.get("dependencies", {})}
    missing = {
        name: spec or "*"
        for name, spec in wanted.items()
        if name not in present and npm_problem(name, spec) is None  # plan validation reports it
    }
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
        and pypi_problem(name, spec) is None  # plan validation reports it
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
            command,
            cwd=folder,
            env=tool_environment(),
            capture_output=True,
            text=True,
            timeout=LOCK_TIMEOUT,
            check=False,
        )
        if completed.returncode != 0:
            refused = unbuildable_packages(completed.stderr)
            if refused:
                raise LockRefused(no_wheel_message(refused))
            lines = completed.stderr.strip().splitlines()
            raise RuntimeError(lines[-1] if lines else f"{Path(command[0]).name} failed")
        return (Path(folder) / result).read_text()


def unbuildable_packages(stderr: str) -> list[str]:
    """The packages uv could not resolve because only building them would have given their
    metadata (`--no-build`): from its `Wheels are required for `X`` hints and `X==1.0 has no
    usable wheels` causes (plain string search: the output can be long)."""
    found: list[str] = []
    hint = "Wheels are required for `"
    start = stderr.find(hint)
    while start != -1:
        end = stderr.find("`", start + len(hint))
        if end == -1:
            break
        found.append(stderr[start + len(hint) : end])
        start = stderr.find(hint, end)
    for line in stderr.splitlines():
        for mark in (" has no usable wheels", " have no usable wheels"):
            before, found_mark, _ = line.partition(mark)
            words = before.split()
            if found_mark and words:
                found.append(_leading_name(words[-1]))  # `x==1.0`, `x>=1`
    return sorted({normalize_pypi(name) for name in found if name})


def _leading_name(text: str) -> str:
    end = 0
    while end < len(text) and (text[end].isalnum() or text[end] in "._-"):
        end += 1
    return text[:end]


def no_wheel_message(names: list[str]) -> str:
    listed = ", ".join(names)
    return (
        f"PyPI package {listed} {'has' if len(names) == 1 else 'have'} no wheel for this platform; "
        "StepForge does not build packages on your machine (a build runs the package's own code): "
        "pick another package or a version that ships a wheel"
    )


def _npm_lock(manifest: str, lock: str | None) -> str:
    """Blocking: the lock file npm writes for `manifest` (network, no scripts)."""
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not installed")
    files = {"package.json": manifest, **({"package-lock.json": lock} if lock else {})}
    command = [npm, "install", "--package-lock-only", "--ignore-scripts", "--no-audit", "--no-fund"]
    return _in_scratch(files, command, "package-lock.json")


def _uv_compile(requirements: str) -> str:
    """Blocking: requirements.txt as `uv pip compile` resolves requirements.in (network), without
    building anything."""
    import uv

    problems = requirements_problems(requirements, REQUIREMENTS_IN)
    if problems:
        raise LockRefused("; ".join(problems))
    command = [
        uv.find_uv_bin(),
        "pip",
        "compile",
        "--quiet",
        "--no-header",
        "--no-build",
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
    failures: list[str] = []  # also logged as warnings: the editor shows them without a command
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
                failures.append(
                    f"could not update {PACKAGE_LOCK} ({error}); the frontend's install fails until it is"
                )
    if wanted.pypi:
        requirements = await anyio.to_thread.run_sync(session.read, REQUIREMENTS_IN)
        updated = with_pypi_packages(requirements.decode() if requirements else "", wanted.pypi)
        if updated is not None:
            # Resolve first: a requirement that cannot be locked is not written either, so the
            # two files never disagree and the next run tries again.
            try:
                compiled = await anyio.to_thread.run_sync(_uv_compile, updated)
            except LockRefused as error:
                failures.append(
                    f"did not add {', '.join(sorted(wanted.pypi))} to the backend: {error}."
                )
            except (RuntimeError, OSError, subprocess.TimeoutExpired) as error:
                failures.append(
                    f"could not update {REQUIREMENTS_TXT} ({error}); the plan's packages are not in the backend until it is"
                )
            else:
                if await _write(session, REQUIREMENTS_IN, updated, notes):
                    await _write(session, REQUIREMENTS_TXT, compiled, notes)
                    notes.append(f"added {', '.join(sorted(wanted.pypi))} to the backend")
    for note in notes:
        log.info("%s", note)
    for failure in failures:
        log.warning("%s", failure)
    return notes + failures
