"""`generate`'s exit code (also `new`'s): a check that did not run to the end is no clean result,
the same verdict `check` gives it (README, "Exit codes")."""

from __future__ import annotations

from typing import Any

from server.cli import EXIT_CONFLICT, EXIT_FAILED, EXIT_OK, check_exit_code, generate_exit_code

RAN = [{"name": "syntax", "ran": True}, {"name": "tsc", "ran": True}]
KILLED = [{"name": "syntax", "ran": True}, {"name": "tsc", "ran": False, "reason": "killed"}]
CONFLICT = [{"conflictId": "c1", "path": "a.ts", "created": 1.0}]


def generated(**fields: Any) -> dict[str, Any]:
    result: dict[str, Any] = {"written": ["a.ts"], "failed": [], "skipped": [], "problems": []}
    return {**result, "checks": RAN, **fields}


def test_a_complete_clean_generate_exits_0():
    assert generate_exit_code(generated()) == EXIT_OK


def test_a_check_that_did_not_finish_makes_generate_exit_1_as_check_does():
    assert generate_exit_code(generated(checks=KILLED)) == EXIT_FAILED
    check = {"problems": [], "tiers": KILLED, "complete": False}
    assert check_exit_code(check) == generate_exit_code(generated(checks=KILLED))


def test_an_incomplete_check_comes_before_a_conflict():
    assert generate_exit_code(generated(conflicts=CONFLICT)) == EXIT_CONFLICT
    assert generate_exit_code(generated(conflicts=CONFLICT, checks=KILLED)) == EXIT_FAILED


def test_a_failed_file_still_exits_1_and_no_check_at_all_is_not_incomplete():
    failed = [{"path": "a.ts", "reason": "kept failing"}]
    assert generate_exit_code(generated(failed=failed)) == EXIT_FAILED
    assert generate_exit_code(generated(checks=[])) == EXIT_OK  # e.g. a change's result
