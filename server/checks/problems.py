"""Building, ordering and summarising problems (the wire's `Problem`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from protocol.models import Problem, Severity

MAX_LISTED = 12


def problem(
    path: str,
    line: int,
    column: int,
    code: str,
    message: str,
    source: str,
    *,
    severity: Severity = Severity.ERROR,
    length: int | None = None,
) -> Problem:
    """A problem at one place; `length` characters long on its line (for an editor's squiggle)."""
    return Problem(
        path=path,
        line=max(1, line),
        column=max(1, column),
        end_line=max(1, line) if length else None,
        end_column=max(1, column) + length if length else None,
        severity=severity,
        code=code,
        message=message,
        source=source,
    )


def listed(names: Iterable[str]) -> str:
    """`a, b, c` (the first dozen, public names first)."""
    ordered = sorted(set(names), key=lambda n: (n.startswith("_"), n))
    shown = ", ".join(ordered[:MAX_LISTED])
    more = len(ordered) - MAX_LISTED
    return (shown + (f" and {more} more" if more > 0 else "")) or "nothing"


def sort_problems(problems: Iterable[Problem]) -> list[Problem]:
    unique = {(p.path, p.line, p.column, p.code, p.message): p for p in problems}
    return sorted(unique.values(), key=lambda p: (p.path, p.line, p.column, p.code))


def counts(problems: Iterable[Problem]) -> dict[str, int]:
    return dict(Counter(str(p.severity) for p in problems))


def errors(problems: Iterable[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == Severity.ERROR]


def by_file(problems: Iterable[Problem]) -> dict[str, list[Problem]]:
    grouped: dict[str, list[Problem]] = {}
    for item in problems:
        grouped.setdefault(item.path, []).append(item)
    return grouped
