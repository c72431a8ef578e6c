"""The exact bytes StepForge generated for each file, content-addressed under `.stepforge/baselines/`.

An LLM cannot reproduce its earlier output, so these bytes are the only possible merge base when a
user has edited a generated file and it is generated again. A name is only ever a sha256 hex
digest: a "hash" in state.json that is anything else (a path, say) is never opened.
"""

from __future__ import annotations

import re

from server.workspace.atomic import sha256
from server.workspace.meta import MetaFiles

FOLDER = "baselines"
_DIGEST = re.compile(r"^[0-9a-f]{64}$")


def is_digest(value: str | None) -> bool:
    return bool(value) and _DIGEST.match(value or "") is not None


class BaselineStore:
    def __init__(self, meta: MetaFiles) -> None:
        self.meta = meta

    @staticmethod
    def _relative(digest: str) -> str:
        return f"{FOLDER}/{digest[:2]}/{digest}"

    def put(self, data: bytes) -> str:
        digest = sha256(data)
        if self.meta.stat(self._relative(digest)) is None:
            self.meta.write(self._relative(digest), data)
        return digest

    def get(self, digest: str | None) -> bytes | None:
        if not is_digest(digest):
            return None
        assert digest is not None
        data = self.meta.read(self._relative(digest))
        # Content addressing is also an integrity check: a swapped file is no merge base.
        return data if data is not None and sha256(data) == digest else None

    def prune(self, keep: set[str]) -> int:
        """Remove baselines nothing refers to; returns how many. Only entries of the store's own
        shape are touched, through no link."""
        removed = 0
        for prefix in self.meta.listdir(FOLDER):
            if not re.fullmatch(r"[0-9a-f]{2}", prefix):
                continue
            for name in self.meta.listdir(f"{FOLDER}/{prefix}"):
                if is_digest(name) and name.startswith(prefix) and name not in keep:
                    self.meta.remove(f"{FOLDER}/{prefix}/{name}")
                    removed += 1
        return removed
