"""What one run wrote (collected while it runs, committed when it ends)."""

from __future__ import annotations

from dataclasses import dataclass, field

# The runs that make a commit; "register" (routes after the user edited the plan by hand) and
# read-only jobs do not: the user's own plan edit is theirs to commit.
COMMITTED_JOBS = frozenset({"plan", "generate", "change", "regenerate", "resolve", "undo"})


@dataclass
class RunRecord:
    job: str
    request: str | None = None
    subject: str | None = None  # the first line, when the run knows better (undo's "Revert ...")
    body: list[str] = field(default_factory=list)  # lines the run adds to the message
    number: int | None = None  # the run's number of its kind, when the run decides it (change N)
    written: set[str] = field(default_factory=set)
    merged: set[str] = field(default_factory=set)
    removed: set[str] = field(default_factory=set)
    conflicts: set[str] = field(default_factory=set)
    failed: dict[str, str] = field(default_factory=dict)
    trailers: dict[str, str | list[str]] = field(default_factory=dict)

    def wrote(self, path: str, *, merged: bool = False) -> None:
        self.written.add(path)
        self.removed.discard(path)
        self.conflicts.discard(path)
        if merged:
            self.merged.add(path)

    def remove(self, path: str) -> None:
        self.removed.add(path)
        self.written.discard(path)
        self.merged.discard(path)

    def conflict(self, path: str) -> None:
        """A conflict leaves the user's file as it was: it is not StepForge's to commit."""
        self.conflicts.add(path)
        self.written.discard(path)
        self.merged.discard(path)

    def fail(self, path: str, reason: str) -> None:
        self.failed[path] = reason

    def paths(self) -> set[str]:
        return self.written | self.removed
