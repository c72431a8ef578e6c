"""What worked, remembered: each run of the behaviour tier records, per operation of the backend's
API, whether it passed (`.stepforge/behaviour.json`). After a `change`, a behaviour finding on an
operation that passed on the last run before the change, and that the change's delta did not
remove (an endpoint it removes, a file it removes), is a regression: reported as one, on the same
line, with its own code (`regression`) and the change's number in the message.

An operation passed when it was exercised (the API contract sent it requests) and no finding was
on it. Where no run was recorded before the change, or none ran after it, there is nothing to
compare and nothing is said. The record is StepForge's own (under `.stepforge/`, never committed)
and untrusted when read back: anything ill-formed reads as no record.

Pure, except `save` and `load` (blocking: run them in a worker thread).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from protocol.delta import PlanDelta
from protocol.models import Problem
from server.checks.behaviour.findings import REGRESSION, route_place
from server.checks.contract import path_matches
from server.checks.project import Project
from server.errors import StepForgeError
from server.workspace.meta import MetaFiles

log = logging.getLogger(__name__)

RECORD = "behaviour.json"  # under .stepforge/
FORMAT = 1
MAX_OPERATIONS = 2000  # of a record read back (it is untrusted)
_PARAMETER = re.compile(r"\{[^}/]*\}")

ProblemKey = tuple[str, int, str, str]  # path, line, code, message: one problem, exactly


def operation_key(method: str, route: str) -> str:
    """`POST /api/tasks/{}`: an operation across runs (a rewrite may rename its parameter)."""
    return f"{method.upper()} {_PARAMETER.sub('{}', route.rstrip('/') or '/')}"


def problem_key(found: Problem) -> ProblemKey:
    return (found.path, found.line, found.code, found.message)


@dataclass(frozen=True)
class OperationResult:
    method: str
    route: str  # as the OpenAPI schema names it: /api/tasks/{task_id}
    file: str  # the file that serves it (where its problems go)
    passed: bool
    problem: ProblemKey | None = None  # the problem on it, when it did not pass

    @property
    def key(self) -> str:
        return operation_key(self.method, self.route)


@dataclass(frozen=True)
class BehaviourRecord:
    checked: float  # time.time() of the run
    operations: dict[str, OperationResult]  # by operation_key

    def passed(self) -> set[str]:
        return {key for key, result in self.operations.items() if result.passed}


def record_of(
    project: Project,
    exercised: Iterable[tuple[str, str]],
    placed: Iterable[tuple[tuple[str, str], Problem]],
    checked: float,
) -> BehaviourRecord:
    """One run's record: each operation with a finding failed (with its problem), each other
    operation exercised passed."""
    operations: dict[str, OperationResult] = {}
    for (method, route), found in placed:
        result = OperationResult(method, route, found.path, False, problem_key(found))
        operations.setdefault(result.key, result)
    for method, route in exercised:
        key = operation_key(method, route)
        if key not in operations:
            file = route_place(project, method, route)[0]
            operations[key] = OperationResult(method, route, file, True)
    return BehaviourRecord(checked, operations)


def to_json(record: BehaviourRecord) -> str:
    return json.dumps(
        {
            "format": FORMAT,
            "checked": record.checked,
            "operations": [
                {
                    "method": r.method,
                    "route": r.route,
                    "file": r.file,
                    "passed": r.passed,
                    **({"problem": list(r.problem)} if r.problem is not None else {}),
                }
                for r in record.operations.values()
            ],
        },
        indent=1,
    )


def _result(item: Any) -> OperationResult | None:
    if not isinstance(item, dict):
        return None
    method, route, file, passed = (item.get(k) for k in ("method", "route", "file", "passed"))
    if not (
        isinstance(method, str)
        and isinstance(route, str)
        and isinstance(file, str)
        and isinstance(passed, bool)
    ):
        return None
    problem: ProblemKey | None = None
    raw = item.get("problem")
    if raw is not None:
        if not (
            isinstance(raw, list)
            and len(raw) == 4
            and isinstance(raw[0], str)
            and isinstance(raw[1], int)
            and isinstance(raw[2], str)
            and isinstance(raw[3], str)
        ):
            return None
        problem = (raw[0], raw[1], raw[2], raw[3])
    return OperationResult(method, route, file, passed, problem)


def from_json(text: str) -> BehaviourRecord | None:
    """The record, None when it is not one this version wrote (never a guess)."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return None
    checked, items = data.get("checked"), data.get("operations")
    if not isinstance(checked, (int, float)) or isinstance(checked, bool):
        return None
    if not isinstance(items, list) or len(items) > MAX_OPERATIONS:
        return None
    operations: dict[str, OperationResult] = {}
    for item in items:
        result = _result(item)
        if result is None:
            return None
        operations[result.key] = result
    return BehaviourRecord(float(checked), operations)


def save(root: Path, record: BehaviourRecord) -> None:
    """Blocking. A folder that is not a StepForge project (no `.stepforge/`) gets nothing."""
    if not (root / ".stepforge").is_dir():
        return
    MetaFiles(root).write(RECORD, to_json(record))


def load(root: Path) -> BehaviourRecord | None:
    """Blocking: the last run's record, None when there is none (or it cannot be read)."""
    try:
        data = MetaFiles(root).read(RECORD)
    except (StepForgeError, OSError) as error:
        log.info("behaviour record not read: %s", error)
        return None
    return from_json(data.decode("utf-8", "replace")) if data is not None else None


def removed_by(delta: PlanDelta, result: OperationResult) -> bool:
    """Whether the delta removed the operation on purpose: its endpoint, or the file serving it."""
    if result.file in delta.remove_files:
        return True
    return any(
        ref.method == result.method.upper() and path_matches(ref.path, result.route)
        for ref in delta.remove_api_endpoints
    )


def regressions(
    before: BehaviourRecord, after: BehaviourRecord, delta: PlanDelta
) -> list[OperationResult]:
    """The operations that fail after the change and passed before it, unless the delta removed
    them (as recorded before the change: where they were served then)."""
    found = []
    for key, result in after.operations.items():
        earlier = before.operations.get(key)
        if result.passed or result.problem is None or earlier is None or not earlier.passed:
            continue
        if removed_by(delta, earlier) or removed_by(delta, result):
            continue
        found.append(result)
    return found


def regression_message(change_id: int, found: Problem) -> str:
    return f"Regression: worked before change {change_id}, broken by it ({found.code}): " + (
        found.message
    )


def mark(problems: list[Problem], found: list[OperationResult], change_id: int) -> list[Problem]:
    """`problems` with each regression's problem reported as one (same place, code
    `regression`, the change and the finding's own code in the message)."""
    wanted = {result.problem for result in found if result.problem is not None}
    marked = []
    for item in problems:
        if problem_key(item) in wanted:
            item = item.model_copy(
                update={"code": REGRESSION, "message": regression_message(change_id, item)}
            )
        marked.append(item)
    return marked


def after_change(
    problems: list[Problem],
    before: BehaviourRecord | None,
    after: BehaviourRecord | None,
    started: float,
    delta: PlanDelta,
    change_id: int,
) -> list[Problem]:
    """The change's problems with its regressions marked: only when the tier ran before the
    change (`before`) and after it (`after`, recorded since `started`); else as they are."""
    if before is None or after is None or after.checked < started:
        return problems
    return mark(problems, regressions(before, after, delta), change_id)
