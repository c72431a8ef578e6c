"""Reading the app's log and the browser's errors for the failing place: right on real tracebacks,
and linear on lines an app can make as long and as odd as it likes (a regular expression here once
took 6 s on a 360 KB line, on the event loop)."""

from __future__ import annotations

import time

import pytest

from server.checks.smoke import MAX_LOG_LINE, _page_problem, crash_problems
from server.checks.tools import parse_tsc
from server.preview.service import backend_log_crashed

MEGABYTE = 1_000_000
# Lines built to make a backtracking pattern retry from every position.
PATHOLOGICAL = {
    "letters": "a" * MEGABYTE,
    "frame openers": 'File "' * (MEGABYTE // 6),
    "backend folders, no quote": 'File "' + "/backend/" * (MEGABYTE // 9),
    "backend files, no line": ('File "' + "/backend/x.py" * 3) * (MEGABYTE // 45),
    "error words": "Error" * (MEGABYTE // 5),
    "dotted names": "a." * (MEGABYTE // 2),
    "urls": "http://a/src/" * (MEGABYTE // 13),
    "urls with queries": "http://a/src/x.tsx?" * (MEGABYTE // 19),
    "tsc-like": "(1,1): " * (MEGABYTE // 7),
    "spaces": " " * MEGABYTE,
}
BOUND = 0.5  # seconds: generous; a quadratic pass over a megabyte takes minutes


def seconds(call, *args) -> float:
    started = time.perf_counter()
    call(*args)
    return time.perf_counter() - started


@pytest.mark.parametrize("name", sorted(PATHOLOGICAL))
def test_every_parser_is_linear_on_a_megabyte_line(name):
    line = PATHOLOGICAL[name]
    assert seconds(crash_problems, [line, "[backend] " + line]) < BOUND
    assert seconds(_page_problem, "/", "frontend/src/pages/A.tsx", line) < BOUND
    assert seconds(backend_log_crashed, ["Traceback (most recent call last):", line]) < BOUND
    assert seconds(parse_tsc, line) < BOUND


TRACEBACK = [
    "INFO:     Will watch for changes in these directories: ['/workspace/backend']",
    "[backend] Traceback (most recent call last):",
    '[backend]   File "/deps/venv/lib/python3.11/site-packages/uvicorn/importer.py", line 19, in import_from_string',
    '[backend]   File "/workspace/backend/main.py", line 7, in <module>',
    "[backend]     from routers import tasks",
    '  File "/home/me/backend/shop/backend/routers/tasks.py", line 12, in <module>',
    '    raise ValueError("no")',
    "pydantic_core._pydantic_core.ValidationError: 1 validation error for Task",
]


def test_the_deepest_backend_frame_and_the_exception_are_reported():
    [found] = crash_problems(TRACEBACK)
    assert (found.path, found.line, found.code) == ("backend/routers/tasks.py", 12, "backend-crash")
    assert found.message == (
        "The backend does not start: pydantic_core._pydantic_core.ValidationError: "
        "1 validation error for Task"
    )


@pytest.mark.parametrize(
    "line, is_error",
    [
        ("ValueError: x", True),
        ("sqlalchemy.exc.OperationalError: (sqlite3.OperationalError)", True),
        ("Exception", True),
        ("mod.SomeError.sub: x", True),
        ("ErrorHandler started", False),
        ("ValueError2: x", False),
        ('raise ValueError("x")', False),
        ("KeyboardInterrupt", False),
    ],
)
def test_exception_lines_are_told_from_others(line, is_error):
    log = ['  File "/workspace/backend/main.py", line 3, in <module>', line]
    [found] = crash_problems(log)
    assert (line in found.message) is is_error


def test_frames_outside_the_backend_or_without_a_line_are_not_places():
    log = [
        '  File "/deps/venv/lib/python3.11/site-packages/fastapi/x.py", line 3, in f',
        '  File "/workspace/backend/main.py" in <module>',
        '  File "/backend/main.py", line 3, in <module>',  # nothing before /backend/
        '  File "/workspace/backend/.py", line 3, in <module>',
        "ValueError: x",
    ]
    assert crash_problems(log) == []


def test_a_long_line_is_read_up_to_the_cap_and_the_cut_is_said():
    long_error = "ValueError: " + "x" * (3 * MAX_LOG_LINE)
    [found] = crash_problems(
        ['  File "/workspace/backend/main.py", line 3, in <module>', long_error]
    )
    assert found.message.endswith("[cut: the line is longer]")
    assert len(found.message) < MAX_LOG_LINE + 100
    beyond = "x" * MAX_LOG_LINE + ' File "/workspace/backend/late.py", line 9, in f'
    assert crash_problems([beyond, "ValueError: x"]) == []  # past the cap: not read


def test_a_page_error_is_placed_on_its_first_source_frame():
    stack = (
        "TypeError: x is undefined\n"
        "    at f (http://127.0.0.1:3002/node_modules/.vite/deps/react.js?v=1:10:5)\n"
        "    at Tasks (http://127.0.0.1:3002/src/pages/Tasks.tsx?t=17:12:5)\n"
    )
    found = _page_problem("/tasks", "frontend/src/pages/Tasks.tsx", stack)
    assert (found.path, found.line, found.column) == ("frontend/src/pages/Tasks.tsx", 12, 5)
    assert found.message == "Opening /tasks in a browser: TypeError: x is undefined"
