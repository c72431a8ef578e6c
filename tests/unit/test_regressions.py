"""What the behaviour tier remembers of a run, and which findings after a change are regressions:
only what passed on the last run before it, and what the delta did not remove."""

from __future__ import annotations

from pathlib import Path

from protocol.delta import PlanDelta
from protocol.plan import Plan
from server.checks.behaviour import findings as codes
from server.checks.behaviour import regressions
from server.checks.behaviour.findings import Exchange, Finding, placed
from server.checks.behaviour.regressions import BehaviourRecord
from server.checks.project import Project
from tests.fake_groq.behaviour_defects import PROJECTS, TASKS, behaviour_app, first_answers

APP = behaviour_app()
OPERATIONS = [
    ("GET", "/api/tasks"),
    ("POST", "/api/tasks"),
    ("GET", "/api/tasks/{task_id}"),
    ("PATCH", "/api/tasks/{task_id}"),
    ("DELETE", "/api/tasks/{task_id}"),
    ("GET", "/api/projects"),
    ("POST", "/api/projects"),
    ("GET", "/api/projects/{project_id}"),
]


def project(files: dict[str, str]) -> Project:
    backend = {path: text for path, text in files.items() if path.startswith("backend/")}
    return Project(Plan.model_validate(APP.plan), backend, set(), {"fastapi", "sqlmodel"})


def finding(code: str, method: str, route: str) -> Finding:
    exchange = Exchange(method, route.replace("{project_id}", "1"), None, 500, "Internal Error")
    return Finding(code, method, route, "It failed", exchange)


def run(files: dict[str, str], findings: list[Finding], checked: float) -> tuple:
    """A run's problems and its record, as the tier makes them."""
    pairs = placed(project(files), findings)
    record = regressions.record_of(project(files), OPERATIONS, pairs, checked)
    return [problem for _, problem in pairs], record


BROKEN = {**APP.files, PROJECTS: first_answers(APP)[PROJECTS]}
NOT_STORED = finding(codes.NOT_STORED, "POST", "/api/projects")


def test_a_run_records_what_passed_and_where_each_failure_was_reported():
    problems, record = run(BROKEN, [NOT_STORED], 10.0)
    assert record.passed() == {
        regressions.operation_key(m, r)
        for m, r in OPERATIONS
        if (m, r) != ("POST", "/api/projects")
    }
    failed = record.operations["POST /api/projects"]
    assert not failed.passed and failed.file == PROJECTS
    assert failed.problem == regressions.problem_key(problems[0])
    # Passed operations know their file too (a delta removing it removes them).
    assert record.operations["DELETE /api/tasks/{}"].file == TASKS


def test_an_operation_not_exercised_is_not_recorded_as_passed():
    pairs = placed(project(APP.files), [])
    record = regressions.record_of(project(APP.files), OPERATIONS[:2], pairs, 1.0)
    assert set(record.operations) == {"GET /api/tasks", "POST /api/tasks"}


def test_the_record_reads_back_and_an_ill_formed_one_reads_as_none(tmp_path: Path):
    _, record = run(BROKEN, [NOT_STORED], 10.0)
    assert regressions.from_json(regressions.to_json(record)) == record
    assert regressions.load(tmp_path) is None  # not a StepForge project: nothing kept
    regressions.save(tmp_path, record)
    assert regressions.load(tmp_path) is None
    (tmp_path / ".stepforge").mkdir()
    regressions.save(tmp_path, record)
    assert regressions.load(tmp_path) == record
    for text in (
        "not json",
        "[]",
        '{"format": 1, "checked": "x", "operations": []}',
        '{"format": 99, "checked": 1, "operations": []}',
        '{"format": 1, "checked": 1, "operations": [{"method": "GET"}]}',
        '{"format": 1, "checked": 1, "operations": [{"method": "GET", "route": "/a", '
        '"file": "b", "passed": false, "problem": ["x", "1", "c", "m"]}]}',
    ):
        assert regressions.from_json(text) is None, text


def test_a_finding_on_what_passed_before_the_change_is_a_regression_on_the_same_line():
    _, before = run(APP.files, [], 10.0)
    problems, after = run(BROKEN, [NOT_STORED], 20.0)
    marked = regressions.after_change(problems, before, after, 15.0, PlanDelta(), 3)
    [regression] = marked
    assert (regression.path, regression.line, regression.source) == (
        problems[0].path,
        problems[0].line,
        "behaviour",
    )
    assert regression.code == codes.REGRESSION
    assert regression.message.startswith(
        f"Regression: worked before change 3, broken by it ({codes.NOT_STORED}): "
    )
    assert regression.message.endswith(problems[0].message)


def test_a_parameter_renamed_by_the_rewrite_is_the_same_operation():
    _, before = run(APP.files, [], 10.0)
    renamed = finding(codes.SCHEMA, "GET", "/api/projects/{id}")
    problems, after = run(BROKEN, [renamed], 20.0)
    assert [
        p.code for p in regressions.after_change(problems, before, after, 15.0, PlanDelta(), 1)
    ] == [codes.REGRESSION]


def test_what_failed_before_is_no_regression_and_other_problems_stay_as_they_are():
    problems_before, before = run(BROKEN, [NOT_STORED], 10.0)
    problems, after = run(BROKEN, [NOT_STORED], 20.0)
    other = problems_before[0].model_copy(update={"code": "TS2339", "source": "tsc"})
    assert regressions.after_change([*problems, other], before, after, 15.0, PlanDelta(), 2) == [
        *problems,
        other,
    ]


def test_nothing_to_compare_without_a_run_before_or_after_the_change():
    _, before = run(APP.files, [], 10.0)
    problems, after = run(BROKEN, [NOT_STORED], 20.0)
    assert regressions.after_change(problems, None, after, 15.0, PlanDelta(), 1) == problems
    assert regressions.after_change(problems, before, None, 15.0, PlanDelta(), 1) == problems
    # The last record is older than the change: the tier did not run after it.
    assert regressions.after_change(problems, before, after, 25.0, PlanDelta(), 1) == problems


def test_what_the_delta_removes_is_no_regression():
    _, before = run(APP.files, [], 10.0)
    problems, after = run(BROKEN, [NOT_STORED], 20.0)
    removed_endpoint = PlanDelta.model_validate(
        {"remove_api_endpoints": [{"method": "post", "path": "/api/projects"}]}
    )
    removed_file = PlanDelta.model_validate({"remove_files": [PROJECTS]})
    for delta in (removed_endpoint, removed_file):
        assert regressions.after_change(problems, before, after, 15.0, delta, 1) == problems
    # Another endpoint's removal leaves the regression a regression.
    other = PlanDelta.model_validate(
        {"remove_api_endpoints": [{"method": "GET", "path": "/api/projects/{id}"}]}
    )
    [marked] = regressions.after_change(problems, before, after, 15.0, other, 1)
    assert marked.code == codes.REGRESSION


def test_an_empty_record_is_a_record_with_nothing_passed():
    empty = BehaviourRecord(1.0, {})
    problems, after = run(BROKEN, [NOT_STORED], 20.0)
    assert regressions.after_change(problems, empty, after, 0.5, PlanDelta(), 1) == problems
