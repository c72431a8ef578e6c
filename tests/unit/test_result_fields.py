"""Results carry their documented fields: the README's method table names exactly the fields of
each result model in protocol/ (the wire's source), and counts list every key, 0 included."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from protocol import methods
from protocol.models import (
    CheckResult,
    FileCounts,
    FileState,
    Problem,
    ProblemCounts,
    StatusResult,
)
from server.checks.service import CheckReport

README = Path(__file__).resolve().parents[2] / "README.md"
ROW = re.compile(r"^\| `(stepforge/[\w/]+)` \| .* \| (.*) \|$")


def _top_level_names(cell: str) -> set[str]:
    """`a`, `b[]` (`x`, `y`), `c?` -> {a, b, c}: the names outside parentheses."""
    outside, depth = "", 0
    for character in cell:
        depth += character == "("
        if depth == 0:
            outside += character
        depth -= character == ")"
    return {name.rstrip("?").removesuffix("[]") for name in re.findall(r"`([^`]+)`", outside)}


def documented_results() -> dict[str, set[str]]:
    rows = (ROW.match(line) for line in README.read_text().splitlines())
    return {row[1]: _top_level_names(row[2]) for row in rows if row}


def wire_fields(model: type) -> set[str]:
    return {info.alias or name for name, info in model.model_fields.items()}


def test_the_readme_documents_every_method():
    assert set(documented_results()) == set(methods.REQUESTS)


@pytest.mark.parametrize("method", sorted(methods.REQUESTS))
def test_the_readme_lists_exactly_the_result_fields(method):
    assert documented_results()[method] == wire_fields(methods.REQUESTS[method].result)


def test_file_counts_have_a_key_for_every_file_state():
    assert wire_fields(FileCounts) == {str(state) for state in FileState}


def test_a_status_lists_every_state_with_zeros_and_no_check_as_null():
    # Dumped as the daemon answers (server/lsp.py): every field, unset ones as null.
    status = StatusResult(
        workspace="/w",
        plan_present=True,
        counts=FileCounts.model_validate({"done": 3, "userModified": 1}),
    ).model_dump(mode="json", by_alias=True)
    assert status["counts"] == {
        "pending": 0,
        "generating": 0,
        "done": 3,
        "failed": 0,
        "skipped": 0,
        "userModified": 1,
        "deleted": 0,
        "conflict": 0,
    }
    assert status["problems"] is None  # no check yet: unknown, not "0 errors"
    assert status["planError"] is None and "planError" in status
    status = StatusResult(workspace="/w", plan_present=False, problems=ProblemCounts())
    assert status.model_dump(by_alias=True)["problems"] == {"error": 0, "warning": 0}


def test_a_check_without_problems_counts_both_severities_as_zero():
    clean = CheckReport(problems=[], tiers=[]).result().model_dump(mode="json", by_alias=True)
    assert clean["counts"] == {"error": 0, "warning": 0}
    warning = Problem(path="a.ts", line=1, severity="warning", code="X", message="m", source="s")
    counted = CheckReport(problems=[warning], tiers=[]).result()
    assert counted.counts == ProblemCounts(warning=1)


def test_a_count_of_an_unknown_key_is_refused():
    with pytest.raises(ValueError):
        CheckResult.model_validate({"problems": [], "tiers": [], "counts": {"errors": 1}})
