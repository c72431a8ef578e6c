"""A file that fills in on disk while its answer streams, so an editor shows it being written.

Only a file StepForge owns is shown this way: a new one, or one still exactly as StepForge wrote
it. The moment the bytes on disk are not the last ones written here, the user has taken the file
over: nothing more is written to it until the final, merging write. A stream that fails puts back
what was there before (or removes the file it created).
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import anyio

from server.workspace.atomic import read_bytes_or_none

WRITE_INTERVAL = 0.25  # seconds between two partial writes of one file


class StreamingPreview:
    def __init__(self, target: Path, *, enabled: bool, original: bytes | None) -> None:
        self.target = target
        self.enabled = enabled
        self.original = original
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
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self.target.write_bytes(data)
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
                self.target.write_bytes(self.original)

        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(put_back)
        self.last_written = None
