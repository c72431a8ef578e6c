"""File hashes that are cheap to ask for again: re-read a file only when its stat changed."""

from __future__ import annotations

import os
from pathlib import Path

from server.workspace.atomic import sha256


class HashCache:
    def __init__(self) -> None:
        self._known: dict[Path, tuple[tuple[int, int, int, int], str]] = {}

    def hash(self, path: Path) -> str | None:
        """sha256 of the file's bytes, or None if it does not exist. Blocking."""
        try:
            info = os.stat(path)
        except (FileNotFoundError, NotADirectoryError):
            self._known.pop(path, None)
            return None
        key = (info.st_mtime_ns, info.st_ctime_ns, info.st_size, info.st_ino)
        known = self._known.get(path)
        if known is not None and known[0] == key:
            return known[1]
        try:
            digest = sha256(path.read_bytes())
        except (FileNotFoundError, IsADirectoryError):
            return None
        self._known[path] = (key, digest)
        return digest

    def forget(self, path: Path) -> None:
        self._known.pop(path, None)
