"""One writer per workspace: an advisory `flock` on `.stepforge/lock`.

The kernel drops the lock when its holder dies, SIGKILL included, so a crash never leaves the
workspace locked. Readers (`stepforge status`) do not take it: state.json is replaced atomically.
The lock file is only ever opened for locking (never written or truncated, never through a link);
who holds it is written beside it, in `lock.holder`, for the busy message.
"""

from __future__ import annotations

import fcntl
import os
from types import TracebackType

from server.errors import WorkspaceBusyError
from server.workspace.meta import MetaFiles

LOCK = "lock"
HOLDER = "lock.holder"


class WorkspaceLock:
    def __init__(self, meta: MetaFiles, purpose: str) -> None:
        self.meta = meta
        self.purpose = purpose
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = self.meta.open_lock(LOCK)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            holder = (self.meta.read(HOLDER) or b"").decode(errors="replace").strip()
            raise WorkspaceBusyError(
                f"The workspace {self.meta.root} is busy ({holder or 'another process'}): wait "
                "for that job to finish or cancel it, then try again."
            ) from None
        self._fd = fd
        try:
            self.meta.write(HOLDER, f"{self.purpose} in pid {os.getpid()}")
        except OSError:  # the message is a courtesy; the lock is what matters
            pass

    def held(self) -> bool:
        """Whether some process holds the lock now (without taking it for long). Blocking."""
        if self.meta.stat(LOCK) is None:
            return False
        fd = self.meta.open_lock(LOCK)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)  # closing releases a shared lock taken just now
        return False

    def release(self) -> None:
        if self._fd is not None:
            try:  # while still holding the lock, so a next holder's line is never removed
                self.meta.remove(HOLDER)
            except OSError:
                pass
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
