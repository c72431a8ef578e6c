"""Which local environments (the backend's venv, the frontend's node_modules) StepForge created
itself, so the local runtime and the local checks run only tools it installed.

A workspace is often someone else's repository: it can ship `.stepforge/preview/venv-*/bin/python`
or `frontend/node_modules/.bin/tsc` together with any marker file kept beside them. So the proof
that an environment is ours is kept outside the workspace, in the user's state folder
(`$XDG_STATE_HOME/stepforge/local-envs/`, keyed by the workspace's path): a random id also written
into the environment when StepForge finished installing it, the environment folder's inode, and the
identity (inode, size, mtime) of its entry points and what they link to. An environment whose
record is missing or does not match is not used: the caller recreates it from the lock file.

What this does not cover: a later `git pull` that writes into the files of an environment
StepForge created, other than its entry points, is not detected (a repository that tracks such
files ships them in its first clone, where no record exists, and they are recreated then).
Blocking calls; installs of one workspace are serialised across processes (`installing`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

from server.preview.records import machine_lock, state_folder

ID_FILE = ".stepforge-env-id"


def _records() -> Path:
    return state_folder() / "local-envs"


def _record_path(root: Path) -> Path:
    return _records() / f"{hashlib.sha256(str(root).encode()).hexdigest()[:24]}.json"


@contextlib.contextmanager
def installing(root: Path) -> Iterator[None]:
    """Hold the workspace's install lock (a preview and a check installing at once would
    otherwise write one venv or node_modules together)."""
    with machine_lock(_records() / f"{_record_path(root).stem}.lock"):
        yield


def _identity(path: Path) -> list[int] | None:
    try:
        info = path.lstat()
    except OSError:
        return None
    return [info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns]


def _fingerprint(env: Path, entry_points: list[str]) -> dict[str, object]:
    """The folder's inode and each entry point's identity, and that of what it resolves to."""
    entries: dict[str, object] = {}
    for relative in entry_points:
        entry = env / relative
        target = entry.resolve() if entry.is_symlink() else entry
        entries[relative] = [_identity(entry), _identity(target), str(target)]
    # The folder's device and inode only: its size and mtime change whenever anything is made in
    # it (Vite's cache and bundled config in node_modules at every start), which is normal use.
    folder = _identity(env)
    return {"folder": folder[:2] if folder else None, "entries": entries}


def _load(root: Path) -> dict[str, dict[str, object]]:
    try:
        data = json.loads(_record_path(root).read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("workspace") != str(root):
        return {}
    envs = data.get("envs")
    return envs if isinstance(envs, dict) else {}


def _save(root: Path, envs: dict[str, dict[str, object]]) -> None:
    path = _record_path(root)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_text(json.dumps({"workspace": str(root), "envs": envs}))
    os.replace(temporary, path)


def is_trusted(root: Path, kind: str, env: Path, key: str, entry_points: list[str]) -> bool:
    """Whether `env` is the environment StepForge installed for `kind` (backend, frontend) of this
    workspace from the lock file whose key is `key`, unchanged where it matters since."""
    if env.is_symlink() or not env.is_dir():
        return False
    record = _load(root).get(kind)
    if not isinstance(record, dict) or record.get("path") != str(env) or record.get("key") != key:
        return False
    try:
        written = (env / ID_FILE).read_text().strip()
    except OSError:
        return False
    expected = record.get("id")
    if not isinstance(expected, str) or not secrets.compare_digest(written, expected):
        return False
    return _fingerprint(env, entry_points) == record.get("fingerprint")


def trust(root: Path, kind: str, env: Path, key: str, entry_points: list[str]) -> None:
    """Record `env` as installed by StepForge just now (call it right after the install)."""
    env_id = secrets.token_hex(16)
    (env / ID_FILE).write_text(env_id)
    envs = _load(root)
    envs[kind] = {
        "path": str(env),
        "key": key,
        "id": env_id,
        "fingerprint": _fingerprint(env, entry_points),
    }
    _save(root, envs)


def forget(root: Path, kind: str) -> None:
    envs = _load(root)
    if envs.pop(kind, None) is not None:
        _save(root, envs)


def remove_untrusted(env: Path) -> None:
    """Remove an environment StepForge cannot vouch for (a link is unlinked, never followed)."""
    if env.is_symlink() or env.is_file():
        env.unlink()
    elif env.exists():
        shutil.rmtree(env)
