"""The real tools' verdicts as problems (pure parsing; `toolchain` runs them):

- the TypeScript compiler over the frontend as its tsconfig configures it (`tsc --noEmit`);
- ruff's pyflakes rules for what no Python run would reach (undefined names, `return` outside a
  function): E9, F63, F7, F82;
- the real interpreter importing the backend app (`import main`) as uvicorn does, in the same
  environment as the preview: an exception is a problem on the deepest backend file of its
  traceback.
"""

from __future__ import annotations

import json
import re

from protocol.models import Problem
from server.checks.problems import problem

TSC_LINE = re.compile(
    r"^(?P<file>.+?)\((?P<line>\d+),(?P<col>\d+)\): (?P<kind>error|warning) (?P<code>TS\d+): (?P<message>.*)$"
)
RUFF_RULES = "E9,F63,F7,F82"
HARNESS_MARK = "STEPFORGE-IMPORT-RESULT:"
# Imports the app as `uvicorn main:app` does, from the backend folder, and reports the outcome as
# one JSON line: the exception's type, message and traceback frames (or a SyntaxError's place).
HARNESS = f"""
import json, sys, traceback
sys.path.insert(0, ".")
result = {{"ok": True}}
try:
    import main
    getattr(main, "app")
except BaseException as error:
    frames = [(f.filename, f.lineno) for f in traceback.extract_tb(error.__traceback__)]
    if isinstance(error, SyntaxError) and error.filename:
        frames.append((error.filename, error.lineno or 1))
    result = {{"ok": False, "type": type(error).__name__, "message": str(error), "frames": frames}}
print({HARNESS_MARK!r} + json.dumps(result), flush=True)
"""


def parse_tsc(output: str, folder: str = "frontend") -> list[Problem]:
    """`src/x.tsx(12,5): error TS2339: ...` lines (with their indented continuations)."""
    found: list[Problem] = []
    current: dict[str, str] | None = None
    continuation: list[str] = []

    def flush() -> None:
        if current is None:
            return
        message = " ".join([current["message"], *continuation]).strip()
        path = current["file"].replace("\\", "/").lstrip("./")
        found.append(
            problem(
                f"{folder}/{path}",
                int(current["line"]),
                int(current["col"]),
                current["code"],
                message,
                "tsc",
            )
        )

    for line in output.splitlines():
        match = TSC_LINE.match(line)
        if match:
            flush()
            current, continuation = match.groupdict(), []
        elif current is not None and line.startswith(" "):
            continuation.append(line.strip())
    flush()
    return found


def parse_ruff(output: str, root: str) -> list[Problem]:
    """ruff's JSON diagnostics, paths made relative to the workspace."""
    try:
        entries = json.loads(output or "[]")
    except json.JSONDecodeError:
        return []
    found = []
    for entry in entries:
        filename = str(entry.get("filename", ""))
        path = filename.removeprefix(root.rstrip("/") + "/")
        location = entry.get("location") or {}
        end = entry.get("end_location") or {}
        line, column = int(location.get("row", 1)), int(location.get("column", 1))
        length = (
            int(end.get("column", column)) - column if int(end.get("row", line)) == line else None
        )
        found.append(
            problem(
                path,
                line,
                column,
                str(entry.get("code") or "ruff"),
                str(entry.get("message", "")),
                "ruff",
                length=length if length and length > 0 else None,
            )
        )
    return found


def parse_harness(output: str, backend_dir: str) -> list[Problem]:
    """The import harness's verdict: nothing, or the exception at its deepest backend frame."""
    lines = reversed(output.splitlines())
    line = next((text for text in lines if text.startswith(HARNESS_MARK)), None)
    if line is None:
        return [
            problem(
                "backend/main.py",
                1,
                1,
                "import-crash",
                "Importing the backend app did not finish (it hung, or killed the interpreter): "
                + (output.strip().splitlines()[-1][:300] if output.strip() else "no output"),
                "python",
            )
        ]
    result = json.loads(line[len(HARNESS_MARK) :])
    if result.get("ok"):
        return []
    prefix = backend_dir.rstrip("/") + "/"
    place = ("backend/main.py", 1)
    for filename, lineno in result.get("frames", []):
        if str(filename).startswith(prefix):
            place = ("backend/" + str(filename)[len(prefix) :], int(lineno or 1))
    message = f"{result.get('type')}: {result.get('message')}".strip()
    return [
        problem(
            place[0],
            place[1],
            1,
            "import-error",
            f"Importing the backend app fails here: {message}",
            "python",
        )
    ]
