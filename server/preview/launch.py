"""What a preview runs, whatever runs it: the two servers, their environment, and the keys of
their dependency caches (both runtimes use these, so they serve the same app the same way)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from server.config import Settings

FRONTEND_LOCKS = ("frontend/package-lock.json", "frontend/package.json")
BACKEND_LOCKS = ("backend/requirements.txt", "backend/pyproject.toml")


def dependency_key(root: Path, candidates: tuple[str, ...]) -> str:
    """A short hash of the first lock file that exists: installs are reused while it is unchanged."""
    for relative in candidates:
        path = root / relative
        if path.is_file():
            return hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    return "none"


@dataclass(frozen=True)
class LaunchSpec:
    root: Path
    frontend_port: int
    backend_port: int
    owner: str
    detached: bool
    settings: Settings
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def frontend_url(self) -> str:
        return f"http://127.0.0.1:{self.frontend_port}"

    @property
    def backend_url(self) -> str:
        return f"http://127.0.0.1:{self.backend_port}"

    def frontend_env(self) -> dict[str, str]:
        return {
            **self.settings.container_env,
            **self.extra_env,
            # The browser calls the backend at its published address.
            "VITE_API_URL": self.backend_url,
        }

    def backend_env(self) -> dict[str, str]:
        origins = f"{self.frontend_url},http://localhost:{self.frontend_port}"
        return {**self.settings.container_env, **self.extra_env, "FRONTEND_ORIGINS": origins}
