"""A file that fills in on disk while its answer streams, so an editor shows it being written.

Only a file StepForge owns and that holds no complete version is shown this way: a new one, or
StepForge's own partial answer left by an interrupted run. A complete file (generated before,
or the user's) is never overwritten with a partial answer: it stays whole until the final,
atomic, merging write, so a daemon killed mid-answer cannot leave it cut off.

Each partial write is itself a rename (never a torn file), and its hash is recorded in the job
state *before* the bytes reach the disk (`on_partial`): after a SIGKILL, whatever partial is on
disk is one the state knows as StepForge's own, not a user edit. The moment the bytes on disk
are not the last ones written here, the user has taken the file over: nothing more is written to
it. A stream that fails puts back what was there before (or removes the file it created).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio

from server.workspace.atomic import read_bytes_or_none, sha256

WRITE_INTERVAL = 0.25  # seconds between two partial writes of one file
PartialListener = Callable[[str], Awaitable[None]]


def replace_quickly(target: Path, data: bytes) -> None:
    """Replace `target` by rename, without fsync: a killed process leaves the old or the new
    bytes, never a torn file (a power cut may lose a partial answer, which is only a preview).
    Blocking. The temp name ends in `.stepforge-tmp`, which the watcher and checks ignore."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=".stepforge-tmp", dir=target.parent
    )
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temp_name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise


class StreamingPreview:
    def __init__(
        self,
        target: Path,
        *,
        enabled: bool,
        original: bytes | None,
        on_partial: PartialListener | None = None,
    ) -> None:
        self.target = target
        self.enabled = enabled
        self.original = original
        self.on_partial = on_partial
        self.last_written: bytes | None = None
        self.taken_over = False
        self._last_time = 0.0

    @property
    def wrote(self) -> bool:
        return self.last_written is not None

    def _write(self, data: bytes) -> None:
        """Blocking: write `data` unless the user changed the file since the last write."""
        current = read_bytes_or_none(self.target)
        expected = self.last_written if self.last_written is not None else self.original
        if current != expected:
            self.taken_over = True
            return
        replace_quickly(self.target, data)
        self.last_written = data

    async def show(self, partial: str | None) -> None:
        """Show the code received so far; called for every chunk, writes a few times a second."""
        if not self.enabled or self.taken_over or partial is None:
            return
        data = partial.encode("utf-8")
        if data == self.last_written:
            return
        now = time.monotonic()
        if now - self._last_time < WRITE_INTERVAL:
            return  # a later chunk, or the final write, shows it
        self._last_time = now
        try:
            if self.on_partial is not None:  # the state knows these bytes before the disk has them
                await self.on_partial(sha256(data))
            await anyio.to_thread.run_sync(self._write, data)
        except OSError:
            # The showing is a courtesy: a path that cannot take it (a folder there, a full disk)
            # must not break the answer; the final write reports the problem for this file.
            self.enabled = False

    async def restore(self) -> None:
        """Undo the partial writes (a failed or cancelled stream), unless the user took over."""
        if not self.wrote or self.taken_over:
            return

        def put_back() -> None:
            if read_bytes_or_none(self.target) != self.last_written:
                return
            if self.original is None:
                with contextlib.suppress(FileNotFoundError):
                    self.target.unlink()
            else:
                replace_quickly(self.target, self.original)

        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(put_back)
        self.last_written = None
