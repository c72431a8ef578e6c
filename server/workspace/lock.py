"""One writer per workspace: an advisory `flock` on `.stepforge/lock`.

The kernel drops the lock when its holder dies, SIGKILL included, so a crash never leaves the
workspace locked. Readers (`stepforge status`) do not take it: state.json is replaced atomically.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from server.errors import WorkspaceBusyError


class WorkspaceLock:
    def __init__(self, path: Path, purpose: str) -> None:
        self.path = path
        self.purpose = purpose
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise WorkspaceBusyError(
                f"The workspace {self.path.parent.parent} is busy ({holder}): wait for that job "
                "to finish or cancel it, then try again."
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{self.purpose} in pid {os.getpid()}".encode(), 0)
        self._fd = fd

    def held(self) -> bool:
        """Whether some process holds the lock now (without taking it for long). Blocking."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)  # closing releases a shared lock taken just now
        return False

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> WorkspaceLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
