"""Where StepForge keeps its own files inside a workspace (all under `.stepforge/`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Layout:
    root: Path

    @property
    def meta(self) -> Path:
        return self.root / ".stepforge"

    @property
    def plan(self) -> Path:
        return self.meta / "plan.json"

    @property
    def state(self) -> Path:
        return self.meta / "state.json"

    @property
    def lock(self) -> Path:
        return self.meta / "lock"

    @property
    def prompts(self) -> Path:
        return self.meta / "prompts"

    @property
    def baselines(self) -> Path:
        return self.meta / "baselines"

    @property
    def conflicts(self) -> Path:
        return self.meta / "conflicts"

    @property
    def preview(self) -> Path:
        return self.meta / "preview.json"

    @property
    def logs(self) -> Path:
        return self.meta / "logs"

    def relative(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()
