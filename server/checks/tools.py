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
import secrets

from protocol.models import Problem
from server.checks.problems import problem

TSC_LINE = re.compile(
    r"^(?P<file>.+?)\((?P<line>\d+),(?P<col>\d+)\): (?P<kind>error|warning) (?P<code>TS\d+): (?P<message>.*)$"
)
RUFF_RULES = "E9,F63,F7,F82"
HARNESS_MARK = "STEPFORGE-IMPORT-RESULT:"
NONCE_BYTES = 16
# Imports the app as `uvicorn main:app` does, from the backend folder, and reports the outcome as
# one JSON line: the exception's type, message and traceback frames (or a SyntaxError's place).
#
# The app runs in this same process, so its output must not be able to pass for the verdict (an
# `atexit` print of a forged line, a replaced sys.stdout, writes to fd 1 or 2). Before any of the
# app's code runs, the harness reads a per-run nonce from stdin and closes stdin, keeps the
# original stdout as a descriptor of its own for the verdict, and points fd 1 (print, sys.stdout)
# at stderr. The verdict line carries the nonce and is the only line the checker accepts; the
# harness then leaves with os._exit, so no atexit handler or leftover thread of the app runs after
# it. An app that deliberately hunts for the nonce in this process's memory, or for the kept
# descriptor, can still forge the verdict: see SECURITY.md for what this does and does not promise.
# The harness's first step, shared with every harness that runs the app's code for a verdict
# (server.checks.api_types): read the nonce, close stdin, keep stdout for the verdict alone.
CHANNEL = """
def _channel():
    nonce = b""
    while not nonce.endswith(b"\\n") and len(nonce) < 256:
        chunk = os.read(0, 256)
        if not chunk:
            break
        nonce += chunk
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.close(devnull)
    verdict = os.dup(1)
    os.set_inheritable(verdict, False)
    os.dup2(2, 1)
    return verdict, nonce.strip().decode("ascii", "replace")
"""
HARNESS = (
    """
import os, sys, json, traceback
"""
    + CHANNEL
    + """
def _harness(write=os.write, leave=os._exit, dumps=json.dumps, extract=traceback.extract_tb):
    verdict, nonce = _channel()
    sys.path.insert(0, ".")
    result = {"ok": True}
    try:
        import main
        getattr(main, "app")
    except BaseException as error:
        try:
            frames = [[str(f.filename), int(f.lineno or 1)] for f in extract(error.__traceback__)]
            if isinstance(error, SyntaxError) and error.filename:
                frames.append([str(error.filename), int(error.lineno or 1)])
            result = {
                "ok": False, "type": type(error).__name__, "message": str(error)[:4000],
                "frames": frames,
            }
        except BaseException:
            result = {
                "ok": False, "type": "Exception", "frames": [],
                "message": "the import failed with an exception that cannot be described",
            }
    line = @MARK@ + nonce + ":" + dumps(result) + "\\n"
    try:
        write(verdict, line.encode("utf-8", "replace"))
    finally:
        leave(0)

_harness()
""".replace("@MARK@", repr(HARNESS_MARK))
)


def new_nonce() -> str:
    """A fresh secret per import check: the only thing that makes a verdict line the harness's."""
    return secrets.token_hex(NONCE_BYTES)


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


def _no_verdict(detail: str) -> list[Problem]:
    return [
        problem(
            "backend/main.py",
            1,
            1,
            "import-crash",
            "The import check gave no verdict: importing the backend app did not finish (it "
            "exited, hung or killed the interpreter) or its answer was unreadable: "
            + (detail or "no output"),
            "python",
        )
    ]


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


def _frames(value: object) -> list[tuple[str, int]] | None:
    if not isinstance(value, list):
        return None
    frames = []
    for item in value:
        if (
            not isinstance(item, list | tuple)
            or len(item) != 2
            or not isinstance(item[0], str)
            or not isinstance(item[1], int | None)
        ):
            return None
        frames.append((item[0], int(item[1] or 1)))
    return frames


def parse_harness(
    output: str, backend_dir: str, nonce: str | None = None, app_output: str = ""
) -> list[Problem]:
    """The import harness's verdict: nothing, or the exception at its deepest backend frame.

    `output` is the harness's verdict stream, `nonce` the secret of this run (the verdict line
    must carry it: exactly one such line), `app_output` what the app printed (for the message when
    there is no verdict). A missing, repeated or ill-formed verdict is a problem, never a crash."""
    prefix_mark = HARNESS_MARK if nonce is None else f"{HARNESS_MARK}{nonce}:"
    candidates = [text for text in output.splitlines() if text.startswith(prefix_mark)]
    if nonce is not None and len(candidates) > 1:
        return _no_verdict("more than one verdict line")
    if not candidates:
        return _no_verdict(_last_line(app_output) or _last_line(output))
    try:
        result = json.loads(candidates[-1][len(prefix_mark) :])
    except ValueError:
        return _no_verdict("its verdict is not JSON")
    if not isinstance(result, dict) or not isinstance(result.get("ok"), bool):
        return _no_verdict("its verdict is ill-formed")
    if result["ok"]:
        return []
    frames = _frames(result.get("frames", []))
    if frames is None:
        return _no_verdict("its verdict is ill-formed")
    prefix = backend_dir.rstrip("/") + "/"
    place = ("backend/main.py", 1)
    for filename, lineno in frames:
        if filename.startswith(prefix):
            place = ("backend/" + filename[len(prefix) :], lineno)
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
