"""The exact bytes StepForge generated for each file, content-addressed under `.stepforge/baselines/`.

An LLM cannot reproduce its earlier output, so these bytes are the only possible merge base when a
user has edited a generated file and it is generated again.
"""

from __future__ import annotations

from pathlib import Path

from server.workspace.atomic import atomic_write, read_bytes_or_none, sha256


class BaselineStore:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _path(self, digest: str) -> Path:
        return self.folder / digest[:2] / digest

    def put(self, data: bytes) -> str:
        digest = sha256(data)
        path = self._path(digest)
        if not path.exists():
            atomic_write(path, data)
        return digest

    def get(self, digest: str | None) -> bytes | None:
        return read_bytes_or_none(self._path(digest)) if digest else None

    def prune(self, keep: set[str]) -> int:
        """Remove baselines nothing refers to; returns how many."""
        removed = 0
        for path in self.folder.glob("*/*"):
            if path.name not in keep:
                path.unlink(missing_ok=True)
                removed += 1
        return removed
