"""The role folders of a workspace (`frontend/`, `backend/`) as host paths, checked.

A repository can store a symbolic link where a role folder belongs (git stores links): followed,
`backend -> .` would bind-mount the whole workspace read-write into the backend's container (its
`.git/hooks`, `.vscode/settings.json`), and `frontend -> /` would make the checks walk, hash and
read the host. So every place that turns a role into a host path (a container's mount, a
dependency key, the checks' walk and manifests, the local runtime's working folders) goes through
`role_folder` or `existing_role_folder`: a link, a non-folder, or a folder whose real location is
not `<workspace>/<role>` is refused with an error naming it, and the real path is what a mount
uses. Files inside a role folder are read with `read_role_file`, which follows no link either.

Blocking (file system calls).
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from server.errors import UnsafePathError

ROLE_NAMES = ("frontend", "backend")
MAX_ROLE_FILE_BYTES = 10_000_000
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


class RoleFolderError(UnsafePathError):
    """A role folder StepForge refuses to mount, read or run in."""


def _check_role(role: str) -> None:
    if role not in ROLE_NAMES:
        raise ValueError(f"not a role folder: {role!r}")


def existing_role_folder(root: Path, role: str) -> Path | None:
    """The real path of `<root>/<role>`, or None when there is none; refused (RoleFolderError)
    when it is a symbolic link, not a folder, or really somewhere else."""
    _check_role(role)
    folder = root / role
    try:
        info = os.lstat(folder)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise RoleFolderError(
            f"The {role} folder {folder} cannot be read ({error.strerror}): fix its permissions."
        ) from None
    if stat.S_ISLNK(info.st_mode):
        try:
            target = os.readlink(folder)
        except OSError:
            target = "somewhere StepForge cannot read"
        raise RoleFolderError(
            f"{role} is a symbolic link (to {target}) in {root}: StepForge refuses to mount or "
            f"read a linked role folder; replace it with a real folder."
        )
    if not stat.S_ISDIR(info.st_mode):
        raise RoleFolderError(
            f"{role} in {root} is not a folder: StepForge needs {role}/ to be a real folder; "
            "move that file away (StepForge creates the folder when it generates the app)."
        )
    real_root = root.resolve()
    real = folder.resolve()
    if real != real_root / role:
        raise RoleFolderError(
            f"The {role} folder of {root} really is {real}, not {real_root / role}: StepForge "
            f"refuses to mount or read a role folder that lives elsewhere; replace it with a "
            "real folder."
        )
    return real


def role_folder(root: Path, role: str) -> Path:
    """The real path of `<root>/<role>`, which must exist (to mount it, or to run in it)."""
    folder = existing_role_folder(root, role)
    if folder is None:
        raise RoleFolderError(
            f"{root} has no {role}/ folder: generate the app first (`stepforge generate`)."
        )
    return folder


def read_role_file(root: Path, relative: str, max_bytes: int = MAX_ROLE_FILE_BYTES) -> bytes | None:
    """The bytes of a regular file inside a role folder (`backend/requirements.txt`), or None
    when it is absent, over `max_bytes`, or not a regular file reached without links: neither the role
    folder nor any folder or file below it is followed through a symbolic link (a linked role
    folder is refused, as by `existing_role_folder`)."""
    role, *parts = [part for part in relative.split("/") if part]
    if not parts or any(part in (".", "..") for part in parts):
        raise ValueError(f"not a file inside a role folder: {relative!r}")
    folder = existing_role_folder(root, role)
    if folder is None:
        return None
    try:
        fd = os.open(folder, _DIR_FLAGS)
    except OSError:
        return None
    try:
        for name in parts[:-1]:
            try:
                child = os.open(name, _DIR_FLAGS, dir_fd=fd)
            except OSError:
                return None  # absent, or a link (ELOOP/ENOTDIR): never followed
            os.close(fd)
            fd = child
        try:
            file_fd = os.open(parts[-1], _FILE_FLAGS, dir_fd=fd)
        except OSError as error:
            if error.errno in (errno.ENOENT, errno.ELOOP, errno.ENOTDIR, errno.EACCES):
                return None
            raise
        with os.fdopen(file_fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode) or info.st_size > max_bytes:
                return None  # a FIFO would block, a device never ends
            data = handle.read(max_bytes + 1)
            return data if len(data) <= max_bytes else None
    finally:
        os.close(fd)
