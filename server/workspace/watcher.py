"""Watching a workspace's source folders for the user's edits.

Events are hints, not facts: editors save in place, by writing a temporary file and renaming it
over the original, or by moving the original to a backup first, and each style produces different
events. So every event only marks a path as "look again"; after a quiet moment the paths are
handed over in one batch, and whoever receives them compares file hashes (see
`WorkspaceSession`), which tells StepForge's own writes from the user's without any timing.

Only the source folders are watched (a recursive inotify watch of node_modules would cost a watch
per folder). When inotify runs out of watches the watcher falls back to polling.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path

import anyio
from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

log = logging.getLogger(__name__)

IGNORED_PARTS = frozenset({"node_modules", ".git", "__pycache__", "dist", ".venv", ".vite"})
QUIET_SECONDS = 0.2

ChangeHandler = Callable[[set[str]], Awaitable[None]]


def _interesting(relative: str) -> bool:
    parts = relative.split("/")
    if IGNORED_PARTS.intersection(parts) or relative.endswith(".stepforge-tmp"):
        return False
    if parts[0] == ".stepforge":
        return relative == ".stepforge/plan.json"
    return True


class _Forwarder(FileSystemEventHandler):
    """Runs in watchdog's thread: hands each touched path to the event loop."""

    def __init__(
        self, root: Path, loop: asyncio.AbstractEventLoop, push: Callable[[str], None]
    ) -> None:
        self.root = root
        self.loop = loop
        self.push = push

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return
        for raw in (event.src_path, getattr(event, "dest_path", "")):
            if not raw:
                continue
            path = Path(raw if isinstance(raw, str) else raw.decode())
            try:
                relative = path.relative_to(self.root).as_posix()
            except ValueError:
                continue
            if relative != "." and _interesting(relative):
                self.loop.call_soon_threadsafe(self.push, relative)


class WorkspaceWatcher:
    def __init__(self, root: Path, on_changes: ChangeHandler, quiet: float = QUIET_SECONDS) -> None:
        self.root = root
        self.on_changes = on_changes
        self.quiet = quiet
        self.polling = False
        self._observer: BaseObserver | None = None
        self._watched: set[tuple[str, bool]] = set()
        self._touched: set[str] = set()
        self._wake = anyio.Event()

    def _push(self, relative: str) -> None:
        self._touched.add(relative)
        self._wake.set()

    def _schedule_all(
        self, observer: BaseObserver, folders: Iterable[tuple[str, bool]], handler: _Forwarder
    ) -> None:
        for relative, recursive in folders:
            path = self.root / relative if relative else self.root
            if path.is_dir():
                observer.schedule(handler, str(path), recursive=recursive)

    def watch(self, folders: Iterable[tuple[str, bool]]) -> None:
        """(Re)start watching `folders` (relative path, recursive?). Folders that do not exist yet
        are picked up by the next call (after a generation run creates them)."""
        wanted = {(f, r) for f, r in folders if (self.root / f).is_dir()}
        if wanted == self._watched and self._observer is not None:
            return
        self.stop()
        handler = _Forwarder(self.root, asyncio.get_running_loop(), self._push)
        observer: BaseObserver = PollingObserver(timeout=0.5) if self.polling else Observer()
        try:
            self._schedule_all(observer, wanted, handler)
            observer.start()
        except OSError as error:  # ENOSPC / EMFILE: inotify's watches or instances ran out
            log.warning("inotify is exhausted (%s): watching %s by polling", error, self.root)
            observer.stop()
            self.polling = True
            observer = PollingObserver(timeout=0.5)
            self._schedule_all(observer, wanted, handler)
            observer.start()
        self._observer = observer
        self._watched = wanted

    def stop(self) -> None:
        if self._observer is not None:
            self._observer.stop()
            self._observer = None
            self._watched = set()

    async def run(self) -> None:
        """Deliver batches of touched paths until cancelled."""
        try:
            while True:
                await self._wake.wait()
                # Debounce: wait until the editor has been quiet for a moment.
                while True:
                    self._wake = anyio.Event()
                    with anyio.move_on_after(self.quiet):
                        await self._wake.wait()
                        continue
                    break
                batch, self._touched = self._touched, set()
                if batch:
                    try:
                        await self.on_changes(batch)
                    except Exception:
                        log.exception("handling changes in %s failed", self.root)
        finally:
            observer = self._observer
            self._observer = None
            if observer is not None:
                observer.stop()
