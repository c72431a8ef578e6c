"""The import check's verdict cannot be forged by the app's own output, and an unreadable verdict is
a problem, never a crash; a tool that did not finish is no verdict; an incomplete check never
reads as clean. The real harness runs in the real interpreter (this test's own), locally."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from protocol.models import CheckTier
from server.checks.service import CheckReport, did_not_finish
from server.checks.tools import HARNESS, HARNESS_MARK, new_nonce, parse_harness
from server.cli import check_exit_code
from server.cli_render import Console

FORGED = HARNESS_MARK + '{"ok": true}'
FAILING_IMPORT = "import missing_module_of_this_app\n"


def run_harness(tmp_path: Path, main: str) -> list:
    backend = tmp_path / "backend"
    backend.mkdir(exist_ok=True)
    (backend / "main.py").write_text(main)
    nonce = new_nonce()
    done = subprocess.run(
        [sys.executable, "-c", HARNESS],
        cwd=backend,
        input=f"{nonce}\n".encode(),
        capture_output=True,
        timeout=60,
        check=False,
    )
    return parse_harness(done.stdout.decode(), str(backend), nonce, done.stderr.decode())


def test_a_failing_import_with_an_atexit_forgery_is_still_the_failure(tmp_path):
    main = (
        "import atexit, os\n"
        f"atexit.register(lambda: print({FORGED!r}, flush=True))\n"
        f"atexit.register(lambda: os.write(1, {FORGED!r}.encode() + b'\\n'))\n" + FAILING_IMPORT
    )
    [found] = run_harness(tmp_path, main)
    assert found.code == "import-error" and "missing_module_of_this_app" in found.message
    assert (found.path, found.line) == ("backend/main.py", 4)


def test_writes_to_fd_1_and_2_and_a_replaced_stdout_cannot_pass_for_the_verdict(tmp_path):
    main = (
        "import os, sys, io\n"
        f"os.write(1, {FORGED!r}.encode() + b'\\n')\n"
        f"os.write(2, {FORGED!r}.encode() + b'\\n')\n"
        f"print({FORGED!r})\n"
        "sys.stdout = io.StringIO()\n"
        "sys.__stdout__ = sys.stdout\n"
        # a forged line that even guesses the format with a nonce of its own
        f"os.write(1, b'{HARNESS_MARK}' + b'0' * 32 + b':{{\"ok\": true}}\\n')\n" + FAILING_IMPORT
    )
    [found] = run_harness(tmp_path, main)
    assert found.code == "import-error" and "missing_module_of_this_app" in found.message


def test_an_app_that_exits_or_reads_stdin_gives_no_verdict_not_a_clean_one(tmp_path):
    [exited] = run_harness(tmp_path, f"import os\nprint({FORGED!r}, flush=True)\nos._exit(0)\n")
    assert exited.code == "import-crash" and "gave no verdict" in exited.message
    # stdin is closed before the app runs: it cannot read the nonce from there
    [read] = run_harness(tmp_path, "import sys\nassert sys.stdin.read() == ''\n" + FAILING_IMPORT)
    assert read.code == "import-error"
    # SystemExit during the import is a failure, reported as one
    [quit_] = run_harness(tmp_path, "import sys\nsys.exit(0)\n")
    assert quit_.code == "import-error" and "SystemExit" in quit_.message


def test_a_clean_import_is_clean_and_its_atexit_handlers_do_not_run(tmp_path):
    main = (
        "import atexit, pathlib\n"
        "atexit.register(lambda: pathlib.Path('ran-atexit').write_text('x'))\n"
        "app = object()\n"
    )
    assert run_harness(tmp_path, main) == []
    assert not (tmp_path / "backend" / "ran-atexit").exists()


@pytest.mark.parametrize(
    "verdict",
    [
        "",
        "Killed",
        "{nonce}not json",
        "{nonce}[1, 2]",
        '{nonce}{"ok": "yes"}',
        '{nonce}{"ok": false, "frames": "x"}',
        '{nonce}{"ok": false, "frames": [["a.py"]]}',
        '{nonce}{"ok": true}\n{nonce}{"ok": true}',
    ],
)
def test_an_unreadable_verdict_is_a_problem_never_a_crash(verdict):
    nonce = new_nonce()
    text = verdict.replace("{nonce}", f"{HARNESS_MARK}{nonce}:")
    [found] = parse_harness(text, "/workspace/backend", nonce, "some output of the app")
    assert found.code == "import-crash" and "gave no verdict" in found.message


def test_a_verdict_without_this_runs_nonce_is_ignored():
    other = f"{HARNESS_MARK}{new_nonce()}:" + json.dumps({"ok": True})
    [found] = parse_harness(other, "/workspace/backend", new_nonce())
    assert found.code == "import-crash"


@pytest.mark.parametrize("code", [124, 137, 143, -9, -1, 126, 127])
def test_a_killed_or_timed_out_tool_did_not_finish(code):
    assert did_not_finish("tsc", code, "") is not None


@pytest.mark.parametrize("code", [0, 1, 2])
def test_a_tools_own_exit_codes_are_verdicts(code):
    assert did_not_finish("tsc", code, "") is None


def test_an_incomplete_check_is_never_reported_clean(capsys):
    tiers = [
        CheckTier(name="static", ran=True),
        CheckTier(name="tsc", ran=False, reason="tsc did not finish: killed (exit 137)"),
    ]
    result = CheckReport([], tiers).result()
    assert (result.complete, result.not_run) == (False, ["tsc"])
    wire = result.to_wire()
    assert check_exit_code(wire) == 1
    Console().problems(wire["problems"], wire["tiers"])
    out = capsys.readouterr().out
    assert "No problems found" not in out
    assert "not checked: tsc: tsc did not finish: killed (exit 137)" in out
    assert "Not fully checked: tsc did not run" in out

    complete = CheckReport([], [CheckTier(name="static", ran=True)]).result().to_wire()
    assert complete["complete"] is True and check_exit_code(complete) == 0
