"""How services report progress without knowing who listens (LSP work-done progress, a test, nothing)."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def report(self, message: str, percentage: int | None = None) -> None: ...


class NoProgress:
    def report(self, message: str, percentage: int | None = None) -> None:
        pass
