"""Where the behaviour tier puts what it finds, what its messages say, and what is no finding."""

from __future__ import annotations

from protocol.plan import Plan
from server.checks.behaviour import findings as codes
from server.checks.behaviour.api_contract import is_noise
from server.checks.behaviour.findings import (
    MAX_BODY,
    Exchange,
    Finding,
    route_place,
    to_problems,
)
from server.checks.project import Project
from tests.fake_groq.behaviour_defects import behaviour_app, decorator_line, first_answers

APP = behaviour_app()


def project(files: dict[str, str]) -> Project:
    return Project(Plan.model_validate(APP.plan), files, set(), {"fastapi", "sqlmodel"})


def test_a_finding_sits_on_the_decorator_of_the_route_that_serves_it():
    files = {path: text for path, text in APP.files.items() if path.startswith("backend/")}
    tasks = files["backend/routers/tasks.py"]
    place = route_place(project(files), "DELETE", "/api/tasks/{task_id}")
    line = decorator_line(tasks, '@router.delete("/{task_id}", status_code=204)')
    assert place == ("backend/routers/tasks.py", line, 2)  # after the @
    # A parameter named otherwise still matches (the plan says {id}, the router {task_id}).
    assert route_place(project(files), "GET", "/api/tasks/{id}")[:2] == (
        "backend/routers/tasks.py",
        decorator_line(tasks, '@router.get("/{task_id}", response_model=Task)'),
    )


def test_a_route_no_decorator_serves_falls_back_to_the_router_that_owns_the_path():
    files = {"backend/routers/tasks.py": 'router = APIRouter(prefix="/api/tasks")\n'}
    assert route_place(project(files), "PUT", "/api/tasks/{id}") == (
        "backend/routers/tasks.py",
        1,
        1,
    )
    assert route_place(project({}), "GET", "/api/x") == ("backend/main.py", 1, 1)


def test_the_message_names_the_request_and_the_answer():
    exchange = Exchange(
        "POST", "/api/projects", {"name": "Sample name"}, 500, "Internal Server Error"
    )
    finding = Finding(codes.SERVER_ERROR, "POST", "/api/projects", "It failed", exchange)
    assert finding.message() == (
        'It failed: POST /api/projects {"name": "Sample name"} answered 500: Internal Server Error'
    )
    silent = Exchange("GET", "/api/tasks/1", None, 0, "ReadTimeout")
    assert silent.describe() == "GET /api/tasks/1 got no answer: ReadTimeout"
    long = Exchange("GET", "/api/tasks", None, 200, "x" * 10_000).describe()
    assert len(long) < MAX_BODY + 60 and long.endswith("…")


def test_one_problem_per_endpoint_the_round_trip_first():
    files = {"backend/routers/tasks.py": first_answers(APP)["backend/routers/tasks.py"]}
    exchange = Exchange("GET", "/api/tasks/6", None, 500, "Internal Server Error")
    found = to_problems(
        project(files),
        [
            Finding(codes.ROUNDTRIP, "GET", "/api/tasks/{task_id}", "Reading failed", exchange),
            Finding(codes.SERVER_ERROR, "GET", "/api/tasks/{task_id}", "Generated", exchange),
            Finding(codes.NOT_DELETED, "DELETE", "/api/tasks/{task_id}", "Still there", exchange),
        ],
    )
    assert [(p.code, p.source) for p in found] == [
        (codes.ROUNDTRIP, "behaviour"),
        (codes.NOT_DELETED, "behaviour"),
    ]


def test_an_undeclared_refusal_of_the_app_is_no_finding():
    assert is_noise(codes.STATUS, 404, {"detail": "Task not found"})
    assert not is_noise(codes.STATUS, 200, {"detail": "x"})  # an undeclared success is
    assert not is_noise(codes.STATUS, 404, "not found")  # not FastAPI's refusal
    assert not is_noise(codes.SCHEMA, 404, {"detail": "x"})
