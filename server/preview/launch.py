"""What a preview runs, whatever runs it: the two servers, their environment, and the keys of
their dependency caches (both runtimes use these, so they serve the same app the same way)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from server.config import Settings
from server.preview.records import PreviewRecord
from server.workspace.roles import read_role_file

FRONTEND_LOCKS = ("frontend/package-lock.json", "frontend/package.json")
BACKEND_LOCKS = ("backend/requirements.txt", "backend/pyproject.toml")


def dependency_key(root: Path, candidates: tuple[str, ...]) -> str:
    """A short hash of the first lock file that exists: installs are reused while it is unchanged.
    Read without following links (a linked role folder is refused)."""
    for relative in candidates:
        data = read_role_file(root, relative)
        if data is not None:
            return hashlib.sha256(data).hexdigest()[:16]
    return "none"


@dataclass(frozen=True)
class LaunchSpec:
    """A preview to start: its record (ports, owner, lifetime) and the user's settings."""

    record: PreviewRecord
    settings: Settings
    # Checks that run the app give it a scratch database, never the user's data.
    scratch_data: bool = False

    @property
    def root(self) -> Path:
        return Path(self.record.workspace)

    @property
    def frontend_port(self) -> int:
        return self.record.frontend_port

    @property
    def backend_port(self) -> int:
        return self.record.backend_port

    @property
    def owner(self) -> str:
        return self.record.owner or ""

    @property
    def detached(self) -> bool:
        return self.record.detached

    def frontend_env(self) -> dict[str, str]:
        # The browser calls the backend at its published address.
        return {**self.settings.container_env, "VITE_API_URL": self.record.backend_url}

    def backend_env(self) -> dict[str, str]:
        origins = f"{self.record.frontend_url},http://localhost:{self.frontend_port}"
        return {**self.settings.container_env, "FRONTEND_ORIGINS": origins}
