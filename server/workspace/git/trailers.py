"""StepForge's trailers in commit messages, and its commits read back from `git log` (pure).

`StepForge-Run: change 3` marks a run's commit (kind and number); an undo's commit also carries
`StepForge-Reverts: <commit>` for each commit it reverted, and a run that completes an earlier
change (a conflict of it settled later) carries `StepForge-Part-Of: change 3`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

RUN_TRAILER = "StepForge-Run"
REVERTS_TRAILER = "StepForge-Reverts"
PART_OF_TRAILER = "StepForge-Part-Of"
_FIELD = "\x1f"
_RECORD = "\x1e"
_VALUES = "\x1d"
_RUN = re.compile(r"^([a-z]+) (\d+)$")

# `git log --format=` of one commit: id, time, subject, the three trailers; name-status follows.
LOG_FORMAT = _RECORD + _FIELD.join(
    [
        "%H",
        "%at",
        "%s",
        f"%(trailers:key={RUN_TRAILER},valueonly,separator=%x1d)",
        f"%(trailers:key={REVERTS_TRAILER},valueonly,separator=%x1d)",
        f"%(trailers:key={PART_OF_TRAILER},valueonly,separator=%x1d)",
        "",
    ]
)


def format_trailers(trailers: dict[str, str | list[str]]) -> str:
    lines = []
    for key, value in trailers.items():
        for one in [value] if isinstance(value, str) else value:
            lines.append(f"{key}: {' '.join(one.split())}")
    return "\n".join(lines)


def parse_run(value: str) -> tuple[str, int] | None:
    """`change 3` -> ("change", 3)."""
    found = _RUN.match(value.strip())
    return (found.group(1), int(found.group(2))) if found else None


@dataclass
class RunCommit:
    sha: str
    time: float
    subject: str
    kind: str
    number: int
    reverts: list[str] = field(default_factory=list)
    part_of: tuple[str, int] | None = None
    files: dict[str, str] = field(default_factory=dict)  # path -> added, modified, removed

    @property
    def run(self) -> str:
        return f"{self.kind} {self.number}"


_STATUS = {"A": "added", "M": "modified", "D": "removed", "T": "modified"}


def _values(text: str) -> list[str]:
    return [v.strip() for v in text.split(_VALUES) if v.strip()]


def parse_log(output: str) -> list[RunCommit]:
    """StepForge's commits in `git log --format=LOG_FORMAT --name-status` output, newest first.
    Commits without a well-formed run trailer are the user's: left out."""
    found = []
    for chunk in output.split(_RECORD):
        fields = chunk.split(_FIELD)
        if len(fields) < 7:
            continue
        sha, when, subject, runs, reverts, part_of, rest = fields[:7]
        run = next((parsed for v in _values(runs) if (parsed := parse_run(v))), None)
        if run is None:
            continue
        files = {}
        for line in rest.splitlines():
            status, _, path = line.partition("\t")
            if path and status:
                # A rename shows as R100<TAB>old<TAB>new: the new path counts as added.
                files[path.split("\t")[-1]] = _STATUS.get(status[0], "modified")
        part = next((parsed for v in _values(part_of) if (parsed := parse_run(v))), None)
        found.append(
            RunCommit(
                sha=sha,
                time=float(when or 0),
                subject=subject,
                kind=run[0],
                number=run[1],
                reverts=_values(reverts),
                part_of=part,
                files=files,
            )
        )
    return found


def next_number(commits: list[RunCommit], kind: str) -> int:
    return max((c.number for c in commits if c.kind == kind), default=0) + 1


def reverted(commits: list[RunCommit]) -> set[str]:
    return {sha for c in commits for sha in c.reverts}


def last_undoable_change(commits: list[RunCommit]) -> list[RunCommit] | None:
    """The newest change not reverted yet, with the runs that are part of it (oldest first): the
    commits an undo reverts together. None when there is none."""
    done = reverted(commits)
    for commit in commits:  # newest first
        if commit.kind == "change" and commit.sha not in done:
            parts = [
                c for c in commits if c.part_of == ("change", commit.number) and c.sha not in done
            ]
            return [commit, *reversed(parts)]
    return None
