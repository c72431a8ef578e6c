"""StepForge's own files under `.stepforge/`, never reached through a symlink.

Everything below `.stepforge` is opened relative to directory descriptors with `O_NOFOLLOW`, one
path segment at a time (`openat`), so a symlinked `.stepforge`, `baselines`, `lock`, `plan.json`
or prompt override is refused with an error that says so, and no read, write, truncation or
deletion ever lands outside the workspace. Writes are atomic (temp file, fsync, rename within the
folder's descriptor): a rename replaces a planted link instead of writing through it.

Blocking calls: async code runs them in worker threads.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from server.errors import UnsafePathError

META = ".stepforge"
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_LINK_ERRORS = (errno.ELOOP, errno.ENOTDIR, errno.EMLINK)


class MetaLinkError(UnsafePathError):
    """Something under .stepforge is a symlink (or not what it should be)."""


def _refuse(where: str) -> MetaLinkError:
    return MetaLinkError(
        f"{where} is a symlink or not a plain file/folder; StepForge never follows links inside "
        f"{META}/. Remove it (StepForge recreates what it needs)."
    )


def _segments(relative: str) -> list[str]:
    parts = [p for p in relative.split("/") if p]
    if not parts or any(p in (".", "..") for p in parts):
        raise ValueError(f"not a path inside {META}: {relative!r}")
    return parts


class MetaFiles:
    """The `.stepforge` folder of one workspace. Paths are relative to it: `plan.json`,
    `baselines/ab/abcd...`."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, relative: str = "") -> Path:
        """For messages and for tools that take a path (after `ensure_dir` checked it)."""
        return self.root / META / relative if relative else self.root / META

    # --- walking without following links --------------------------------------------------------

    @contextmanager
    def _dir(self, parts: list[str], create: bool) -> Iterator[int]:
        """A descriptor of `.stepforge/<parts...>`; every segment checked to be a real folder."""
        fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            for index, name in enumerate([META, *parts]):
                where = "/".join([META, *parts][: index + 1])
                try:
                    child = os.open(name, _DIR_FLAGS, dir_fd=fd)
                except FileNotFoundError:
                    if not create:
                        raise
                    with contextlib.suppress(FileExistsError):
                        os.mkdir(name, 0o755, dir_fd=fd)
                    try:
                        child = os.open(name, _DIR_FLAGS, dir_fd=fd)
                    except OSError as error:
                        if error.errno in _LINK_ERRORS:
                            raise _refuse(where) from None
                        raise
                except OSError as error:
                    if error.errno in _LINK_ERRORS:
                        raise _refuse(where) from None
                    raise
                os.close(fd)
                fd = child
            yield fd
        finally:
            os.close(fd)

    def _split(self, relative: str) -> tuple[list[str], str]:
        parts = _segments(relative)
        return parts[:-1], parts[-1]

    def check(self) -> None:
        """Raise MetaLinkError if `.stepforge` itself is a symlink (fine if it is absent)."""
        try:
            info = os.lstat(self.path())
        except FileNotFoundError:
            return
        if not stat.S_ISDIR(info.st_mode):
            raise _refuse(META)

    def ensure_dir(self, relative: str = "") -> Path:
        """Create `.stepforge/<relative>` as real folders; the path, for tools that need one."""
        with self._dir(_segments(relative) if relative else [], create=True):
            pass
        return self.path(relative)

    # --- files ----------------------------------------------------------------------------------

    def open_read(self, relative: str) -> int | None:
        """A read-only descriptor of a plain file (the caller closes it), or None if absent."""
        folders, name = self._split(relative)
        try:
            with self._dir(folders, create=False) as fd:
                try:
                    handle = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
                except OSError as error:
                    if error.errno in _LINK_ERRORS:
                        raise _refuse(f"{META}/{relative}") from None
                    raise
        except (FileNotFoundError, IsADirectoryError):
            return None
        if not stat.S_ISREG(os.fstat(handle).st_mode):
            os.close(handle)
            raise _refuse(f"{META}/{relative}")
        return handle

    def read(self, relative: str) -> bytes | None:
        """The file's bytes, or None if it (or its folder) does not exist."""
        handle = self.open_read(relative)
        if handle is None:
            return None
        with os.fdopen(handle, "rb") as stream:
            return stream.read()

    def stat(self, relative: str) -> os.stat_result | None:
        folders, name = self._split(relative)
        try:
            with self._dir(folders, create=False) as fd:
                info = os.stat(name, dir_fd=fd, follow_symlinks=False)
        except FileNotFoundError:
            return None
        if stat.S_ISLNK(info.st_mode):
            raise _refuse(f"{META}/{relative}")
        return info

    def write(self, relative: str, data: bytes | str, mode: int = 0o644) -> None:
        """Replace the file atomically (a planted symlink is replaced, never written through)."""
        payload = data.encode("utf-8") if isinstance(data, str) else data
        folders, name = self._split(relative)
        with self._dir(folders, create=True) as fd:
            temp = f".{name}.{secrets.token_hex(6)}.stepforge-tmp"
            handle = os.open(
                temp,
                os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                mode,
                dir_fd=fd,
            )
            try:
                with os.fdopen(handle, "wb") as stream:
                    stream.write(payload)
                    stream.flush()
                    os.fsync(stream.fileno())
                os.replace(temp, name, src_dir_fd=fd, dst_dir_fd=fd)
            except BaseException:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(temp, dir_fd=fd)
                raise
            os.fsync(fd)

    def remove(self, relative: str) -> bool:
        """Unlink the entry itself (a symlink is removed, not its target). True if it existed."""
        folders, name = self._split(relative)
        try:
            with self._dir(folders, create=False) as fd:
                os.unlink(name, dir_fd=fd)
        except FileNotFoundError:
            return False
        return True

    def listdir(self, relative: str = "") -> list[str]:
        """Names in a folder (no links followed to get there); [] if it does not exist."""
        try:
            with self._dir(_segments(relative) if relative else [], create=False) as fd:
                return sorted(os.listdir(fd))
        except FileNotFoundError:
            return []

    def open_append(self, relative: str) -> int:
        """A descriptor to append to (logs); the caller closes it."""
        folders, name = self._split(relative)
        with self._dir(folders, create=True) as fd:
            try:
                handle = os.open(
                    name,
                    os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC,
                    0o644,
                    dir_fd=fd,
                )
            except OSError as error:
                if error.errno in _LINK_ERRORS:
                    raise _refuse(f"{META}/{relative}") from None
                raise
        if not stat.S_ISREG(os.fstat(handle).st_mode):
            os.close(handle)
            raise _refuse(f"{META}/{relative}")
        return handle

    def open_lock(self, relative: str) -> int:
        """The lock file's descriptor, opened for locking only: created if absent, never
        truncated or written, refused if it is a link or a hard link to something else."""
        folders, name = self._split(relative)
        with self._dir(folders, create=True) as fd:
            try:
                handle = os.open(
                    name, os.O_RDONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644, dir_fd=fd
                )
            except OSError as error:
                if error.errno in _LINK_ERRORS:
                    raise _refuse(f"{META}/{relative}") from None
                raise
        info = os.fstat(handle)
        if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
            os.close(handle)
            raise _refuse(f"{META}/{relative}")
        return handle
