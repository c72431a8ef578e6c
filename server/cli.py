"""The `stepforge` command: `serve` runs the daemon; every other command is a JSON-RPC client of a
daemon it spawns over stdio, showing progress as a live bar on a terminal and as plain lines
otherwise.

Exit codes: 0 done; 1 anything else; 2 usage error; 3 configuration or LLM error (the message says
what to set or fix); 4 a regeneration left a conflict; 130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import InvalidStateError
from pathlib import Path
from typing import Any

from protocol import methods
from protocol.errors import CONFIGURATION_OR_LLM, ErrorCode
from server import __version__
from server.cli_conflicts import conflict_text
from server.cli_render import Console
from server.cli_request import RequestError, add_request_args, request_text
from server.client import DaemonClient, DaemonError
from server.errors import StepForgeError
from server.tool_env import tool_environment
from server.workspace.meta import META
from server.workspace.writable import require_writable, write_problem

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_CONFIG, EXIT_CONFLICT, EXIT_INTERRUPTED = 0, 1, 2, 3, 4, 130


def _workspace_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workspace",
        "-w",
        type=Path,
        help="the project folder (default: the nearest folder from here up holding .stepforge/, "
        "else the current folder)",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON on stdout")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stepforge", description="Turn a one-line request into a running web app."
    )
    parser.add_argument("--version", action="version", version=f"stepforge {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the daemon (LSP over stdio, or TCP)")
    serve.add_argument(
        "--tcp",
        metavar="[HOST:]PORT",
        help="listen on TCP instead of stdio (host defaults to 127.0.0.1; clients send the "
        "token as initializationOptions.token)",
    )
    serve.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow --tcp on an address other machines can reach (only the token protects it)",
    )

    plan = commands.add_parser("plan", help="ask the LLM for a plan and store it in the workspace")
    add_request_args(plan, "a task manager with a dashboard")
    _workspace_arg(plan)

    status = commands.add_parser("status", help="what the workspace holds")
    _workspace_arg(status)

    generate = commands.add_parser("generate", help="generate every planned file that is not done")
    _workspace_arg(generate)
    _generate_args(generate)
    generate.add_argument(
        "--only", nargs="+", metavar="PATH", help="generate just these planned files"
    )
    generate.add_argument(
        "--force",
        action="store_true",
        help="regenerate files that are done (your edits are merged)",
    )

    regenerate = commands.add_parser(
        "regenerate", help="regenerate one planned file, keeping your edits"
    )
    regenerate.add_argument("path", help="the planned file (relative to the workspace)")
    _workspace_arg(regenerate)
    regenerate.add_argument(
        "--instructions", "-i", help='what to change, e.g. "make the table sortable"'
    )
    regenerate.add_argument(
        "--force", action="store_true", help="recreate the file if you deleted it"
    )

    conflicts = commands.add_parser("conflicts", help="list the conflicts waiting for you")
    _workspace_arg(conflicts)
    conflict = commands.add_parser(
        "conflict", help="show a conflict: your edits and StepForge's proposal, as diffs"
    )
    conflict.add_argument("action", choices=["show"])
    conflict.add_argument("conflict_id", help="the conflict id (`stepforge conflicts` lists them)")
    _workspace_arg(conflict)

    resolve = commands.add_parser("resolve", help="settle a conflict left by a regeneration")
    resolve.add_argument("conflict_id", help="the conflict id (`stepforge status` lists them)")
    _workspace_arg(resolve)
    resolve.add_argument("--choice", required=True, choices=["mine", "generated", "merged"])
    resolve.add_argument("--content-file", type=Path, help="the merged text, for --choice merged")

    preview = commands.add_parser(
        "preview", help="run the app: frontend and backend, in containers or locally"
    )
    preview.add_argument(
        "action",
        choices=["start", "stop", "status", "logs", "reset-data"],
        help="reset-data: empty the app's database, after keeping a copy",
    )
    _workspace_arg(preview)
    preview.add_argument(
        "--runtime", choices=["docker", "local"], help="default: docker when an engine answers"
    )
    preview.add_argument(
        "--database",
        choices=["sqlite", "postgres"],
        help="start: the app's database (default: the database setting, STEPFORGE_DATABASE, "
        "else the one the workspace last ran with, else sqlite); postgres with the local "
        "runtime uses the Postgres DATABASE_URL names",
    )
    preview.add_argument("--lines", type=int, default=200, help="log lines to show, in all (logs)")

    change = commands.add_parser(
        "change", help='change the app with a request ("add a favorites page"), keeping your edits'
    )
    add_request_args(change, "add a favorites page")
    _workspace_arg(change)
    change.add_argument(
        "--dry-run", action="store_true", help="show the plan delta and change nothing"
    )
    _generate_args(change, single_shot=False)

    history = commands.add_parser("history", help="the changes applied to the app")
    _workspace_arg(history)

    undo = commands.add_parser(
        "undo", help="revert the last change (files you edited since are left alone)"
    )
    _workspace_arg(undo)

    check = commands.add_parser(
        "check", help="check the project (compiler, interpreter, linter, plan) and list problems"
    )
    _workspace_arg(check)
    check.add_argument(
        "--runtime",
        action="store_true",
        help="also run the app: its GET endpoints, round trips and the OpenAPI contract of its "
        "backend (on a scratch database), and every page in a browser",
    )
    check.add_argument(
        "--tools-runtime",
        choices=["docker", "local"],
        help="where the checks that run the project's code run (the interpreter, the compiler "
        "with its plugins, the app): default docker; local runs them unsandboxed on this "
        "machine, as you (without Docker they are skipped unless you choose local)",
    )

    images = commands.add_parser(
        "images", help="build the preview's base images offline (needs root)"
    )
    images.add_argument("action", choices=["build"])
    images.add_argument("--force", action="store_true", help="rebuild even if they exist")

    new = commands.add_parser("new", help="plan and generate a new project in a new folder")
    add_request_args(new, "a task manager with a dashboard and charts")
    new.add_argument(
        "--parent", type=Path, help="where the project folder is created (default: here)"
    )
    new.add_argument("--json", action="store_true", help="print the results as JSON on stdout")
    new.add_argument(
        "--preview",
        action="store_true",
        help="start the preview right after the plan: each page appears as its file is written",
    )
    _generate_args(new)
    return parser


def _generate_args(parser: argparse.ArgumentParser, single_shot: bool = True) -> None:
    parser.add_argument(
        "--concurrency", type=int, metavar="N", help="files generated at once (default 4)"
    )
    parser.add_argument(
        "--no-repair",
        dest="repair",
        action="store_false",
        help="check the project, but do not regenerate the files with problems",
    )
    parser.add_argument(
        "--repair-rounds", type=int, metavar="N", help="rounds of repair (default 2)"
    )
    parser.add_argument(
        "--no-runtime-checks",
        dest="runtime_checks",
        action="store_false",
        default=None,
        help="with repair: do not exercise the app's backend in the Docker sandbox (round trips, "
        "API contract); default: the runtimeChecks setting (STEPFORGE_RUNTIME_CHECKS), on",
    )
    if single_shot:
        parser.add_argument(
            "--single-shot", action="store_true", help="ask for the whole app in one answer first"
        )


def _tcp_address(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    try:
        return host or "127.0.0.1", int(port)
    except ValueError:
        raise SystemExit(f"stepforge serve: --tcp takes [HOST:]PORT, not {value!r}") from None


def serve(tcp: str | None, allow_remote: bool = False) -> int:
    from server.logs import attach_log_forwarding, configure_daemon_logging

    configure_daemon_logging()
    if tcp:
        from server.tcp import serve_tcp

        return serve_tcp(*_tcp_address(tcp), allow_remote=allow_remote)
    from server.lsp import build_server

    server = build_server()
    attach_log_forwarding(server)
    server.start_io()
    return EXIT_OK


# --- client commands ---------------------------------------------------------------------------


Command = Callable[
    [DaemonClient, argparse.Namespace, Console], Awaitable[tuple[dict[str, Any], int]]
]


async def cmd_plan(
    client: DaemonClient, args: argparse.Namespace, console: Console
) -> tuple[dict[str, Any], int]:
    with console.progress("Planning") as progress:
        result = await client.request(methods.PLAN, {"request": args.request}, progress)
    console.plan_summary(result)
    return result, EXIT_OK


async def cmd_status(
    client: DaemonClient, args: argparse.Namespace, console: Console
) -> tuple[dict[str, Any], int]:
    result = await client.request(methods.STATUS, {})
    console.status_table(result)
    return result, EXIT_OK


def _generate_params(args: argparse.Namespace) -> dict[str, Any]:
    params: dict[str, Any] = {"repair": args.repair}
    if getattr(args, "single_shot", False):
        params["singleShot"] = True
    if args.repair_rounds is not None:
        params["repairRounds"] = args.repair_rounds
    if getattr(args, "runtime_checks", None) is False:
        params["runtimeChecks"] = False
    if args.concurrency is not None:
        params["concurrency"] = args.concurrency
    if getattr(args, "only", None):
        params["only"] = args.only
    if getattr(args, "force", False):
        params["force"] = True
    return params


def _blocked(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Files skipped because a dependency failed (not those the user deleted)."""
    return [s for s in result["skipped"] if not s["reason"].startswith("deleted by the user")]


def generate_exit_code(result: dict[str, Any]) -> int:
    """0 only when every file asked for is done, the check ran to the end and no error problem
    remains: failures, files skipped because a dependency failed, errors the checks still find,
    or a check that applied but did not run or finish (as `check` exits 1 for it: no problems
    from an incomplete check is no verdict) make it 1; a conflict (your file kept, a proposal
    stored) makes it 4. Problems in a file held by a conflict are the user's kept version's:
    resolving the conflict comes first, so they do not make it 1."""
    in_conflict = {c["path"] for c in result.get("conflicts", [])}
    errors = [
        p
        for p in result.get("problems", [])
        if p.get("severity") == "error" and p.get("path") not in in_conflict
    ]
    not_checked = [tier for tier in result.get("checks", []) if not tier.get("ran")]
    if result["failed"] or _blocked(result) or errors or not_checked:
        return EXIT_FAILED
    return EXIT_CONFLICT if result.get("conflicts") else EXIT_OK


async def cmd_generate(
    client: DaemonClient, args: argparse.Namespace, console: Console
) -> tuple[dict[str, Any], int]:
    with console.progress("Generating") as progress:
        result = await client.request(methods.GENERATE, _generate_params(args), progress)
    console.generate_summary(result)
    return result, generate_exit_code(result)


async def cmd_regenerate(
    client: DaemonClient, args: argparse.Namespace, console: Console
) -> tuple[dict[str, Any], int]:
    params: dict[str, Any] = {"path": args.path, "force": args.force}
    if args.instructions:
        params["instructions"] = args.instructions
    with console.progress("Regenerating") as progress:
        result = await client.request(methods.REGENERATE_FILE, params, progress)
    console.say(result["message"])
    console.commit(result)
    code = {"conflict": EXIT_CONFLICT, "skipped": EXIT_FAILED}.get(result["outcome"], EXIT_OK)
    return result, code


async def cmd_resolve(
    client: DaemonClient, args: argparse.Namespace, console: Console
) -> tuple[dict[str, Any], int]:
    params: dict[str, Any] = {"conflictId": args.conflict_id, "choice": args.choice}
    if args.choice == "merged" and args.content_file is None:
        raise DaemonError(
            "--choice merged needs --content-file FILE: the file holding the merged text "
            f"(`stepforge conflict show {args.conflict_id}` shows both sides).",
            code=ErrorCode.INVALID_PARAMS,
        )
    if args.content_file is not None:
        try:
            params["content"] = args.content_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            reason = error.strerror if isinstance(error, OSError) else "it is not UTF-8 text"
            raise DaemonError(
                f"cannot read --content-file {args.content_file}: {reason}.",
                code=ErrorCode.INVALID_PARAMS,
            ) from None
    result = await client.request(methods.RESOLVE_CONFLICT, params)
    console.say(result["message"])
    console.commit(result)
    return result, EXIT_OK


async def cmd_preview(
    client: DaemonClient, args: argparse.Namespace, console: Console
) -> tuple[dict[str, Any], int]:
    if args.action == "start":
        # Started from the command line, a preview outlives the command (stop it with `preview stop`).
        params: dict[str, Any] = {"detached": True}
        if args.runtime:
            params["runtime"] = args.runtime
        if args.database:
            params["database"] = args.database
        with console.progress("Preview") as progress:
            result = await client.request(methods.PREVIEW_START, params, progress)
        console.say(
            f"{result['message']}\nFrontend: {result['frontendUrl']}\nBackend:  {result['backendUrl']}"
        )
        return result, EXIT_OK
    if args.action == "stop":
        result = await client.request(methods.PREVIEW_STOP, {})
        console.say(result["message"])
        return result, EXIT_OK
    if args.action == "status":
        result = await client.request(methods.PREVIEW_STATUS, {})
        console.preview_status(result)
        return result, EXIT_OK
    if args.action == "reset-data":
        reset_params = {"runtime": args.runtime} if args.runtime else {}
        with console.progress("Reset data") as progress:
            result = await client.request(methods.PREVIEW_RESET_DATA, reset_params, progress)
        console.say(result["message"])
        return result, EXIT_OK
    result = await client.request(methods.PREVIEW_LOGS, {"lines": args.lines})
    for item in result["lines"]:
        console.say(f"[{item['role']}] {item['line']}")
    if not result["lines"]:
        # Nothing to show: say whether that is a quiet preview or no preview at all.
        status = await client.request(methods.PREVIEW_STATUS, {})
        console.error(
            "the preview has written no log lines yet."
            if status.get("running")
            else f"no preview runs for {client.workspace}: start one with "
            f"`stepforge preview start --workspace {client.workspace}`."
        )
    return result, EXIT_OK


async def cmd_change(
    client: DaemonClient, args: argparse.Namespace, console: Console
) -> tuple[dict[str, Any], int]:
    if not args.dry_run:
        try:  # before the LLM is asked for the delta
            require_writable(client.workspace)
        except StepForgeError as error:
            raise DaemonError(error.message, code=error.code) from None
    # First the delta (a dry run), shown before anything changes; then that very delta applied.
    params = {**_generate_params(args), "request": args.request, "dryRun": True}
    with console.progress("Changing") as progress:
        planned = await client.request(methods.CHANGE, params, progress)
    if args.dry_run:
        console.change_summary(planned)
        return planned, EXIT_OK
    console.change_delta(planned["delta"])
    params = {**_generate_params(args), "request": args.request, "delta": planned["delta"]}
    with console.progress("Applying the change") as progress:
        result = await client.request(methods.CHANGE, params, progress)
    result["usage"] = _added(planned.get("usage", {}), result.get("usage", {}))
    console.change_summary(result, delta_shown=True)
    return result, generate_exit_code(result)


def _added(first: dict[str, int], second: dict[str, int]) -> dict[str, int]:
    """Two usages in one (the delta's LLM call, then the files')."""
    return {key: first.get(key, 0) + second.get(key, 0) for key in {*first, *second}}


async def cmd_history(
    client: DaemonClient, args: argparse.Namespace, console: Console
) -> tuple[dict[str, Any], int]:
    result = await client.request(methods.HISTORY, {})
    console.history(result["entries"])
    return result, EXIT_OK


async def cmd_undo(
    client: DaemonClient, args: argparse.Namespace, console: Console
) -> tuple[dict[str, Any], int]:
    result = await client.request(methods.UNDO, {})
    console.undo_summary(result)
    # The undo is done either way; a kept file that breaks the app (or an app that could not be
    # checked) is still something to fix, and scripts learn it from the exit code.
    broken = bool(result.get("breaks")) or result.get("checked") is False
    return result, EXIT_FAILED if broken else EXIT_OK


async def cmd_check(
    client: DaemonClient, args: argparse.Namespace, console: Console
) -> tuple[dict[str, Any], int]:
    params: dict[str, Any] = {"runtime": args.runtime}
    if args.tools_runtime:
        params["toolsRuntime"] = args.tools_runtime
    with console.progress("Checking") as progress:
        result = await client.request(methods.CHECK, params, progress)
    console.problems(result["problems"], result["tiers"])
    if result.get("screenshots"):
        console.say(
            f"Screenshots of {len(result['screenshots'])} pages in .stepforge/screenshots/."
        )
    return result, check_exit_code(result)


def check_exit_code(result: dict[str, Any]) -> int:
    """0 only for a complete check that found no error: an error, or a check that applied but did
    not run or finish (a tool killed, Docker missing and local not chosen), makes it 1."""
    errors = [p for p in result["problems"] if p["severity"] == "error"]
    not_run = [t for t in result["tiers"] if not t.get("ran")]
    if errors or not_run or not result.get("complete", False):
        return EXIT_FAILED
    return EXIT_OK


async def cmd_conflicts(
    client: DaemonClient, args: argparse.Namespace, console: Console
) -> tuple[dict[str, Any], int]:
    status = await client.request(methods.STATUS, {})
    result = {"conflicts": status["conflicts"]}
    if not status["conflicts"]:
        console.say("No conflicts.")
    for item in status["conflicts"]:
        console.say(f"{item['conflictId']}  {item['path']}")
    if status["conflicts"]:
        console.say("\nSee one: stepforge conflict show ID")
    return result, EXIT_OK


async def cmd_conflict(
    client: DaemonClient, args: argparse.Namespace, console: Console
) -> tuple[dict[str, Any], int]:
    result = await client.request(methods.CONFLICT_DETAILS, {"conflictId": args.conflict_id})
    console.say(conflict_text(result))
    return result, EXIT_OK


COMMANDS: dict[str, Command] = {
    "conflicts": cmd_conflicts,
    "conflict": cmd_conflict,
    "check": cmd_check,
    "change": cmd_change,
    "history": cmd_history,
    "undo": cmd_undo,
    "preview": cmd_preview,
    "plan": cmd_plan,
    "status": cmd_status,
    "generate": cmd_generate,
    "regenerate": cmd_regenerate,
    "resolve": cmd_resolve,
}


def exit_code_for(error: DaemonError) -> int:
    if error.code is not None and error.code in CONFIGURATION_OR_LLM:
        return EXIT_CONFIG
    if error.code == ErrorCode.INVALID_PARAMS:
        return EXIT_USAGE
    return EXIT_FAILED


async def run_client(args: argparse.Namespace) -> int:
    console = Console(json_output=args.json)
    workspace: Path = args.workspace or default_workspace(Path.cwd())
    problem = folder_problem(workspace, None if args.workspace else "--workspace")
    if problem is not None:
        console.error(problem)
        return EXIT_USAGE
    client = DaemonClient(workspace.resolve(), on_notification=console.notification)
    try:
        async with client:
            result, code = await COMMANDS[args.command](client, args, console)
    except DaemonError as error:
        console.error(error.message)
        return exit_code_for(error)
    if args.json:
        print(json.dumps(result, indent=2))
    return code


async def _opened(client: DaemonClient) -> DaemonClient:
    await client.__aenter__()
    return client


async def _closed(opening: asyncio.Task[DaemonClient] | None) -> None:
    """Shut down a daemon `_opened` started (or stop its start)."""
    if opening is None:
        return
    if not opening.done():
        opening.cancel()
    try:
        client = await opening
    except (asyncio.CancelledError, DaemonError):
        return
    await client.__aexit__(None, None, None)


async def _start_preview(
    opening: asyncio.Task[DaemonClient], folder: Path, console: Console
) -> dict[str, Any]:
    """Start the app's preview, detached: it outlives this command (`preview stop` ends it).
    Its daemon (quiet: the generation shows its progress) was started while the LLM planned, in
    the staging folder that is now `folder`: seconds of start-up off the way to the first page."""
    client = await opening
    client.workspace = folder  # every request names its workspace
    preview: dict[str, Any] = await client.request(methods.PREVIEW_START, {"detached": True})
    console.say(f"Preview: {preview['frontendUrl']} (pages appear as they are written)")
    return preview


def default_workspace(here: Path) -> Path:
    """The nearest folder from `here` up that holds a StepForge project, else `here`."""
    for folder in (here, *here.parents):
        if (folder / META).is_dir():
            return folder
    return here


def folder_problem(folder: Path, flag: str | None) -> str | None:
    """Why `folder` cannot be the folder to work in, in words; `flag` is the option that would
    name another (None: the user already passed it)."""
    other = f", or pass {flag}" if flag else ""
    if folder.is_dir():
        return None
    if folder.exists():
        return f"{folder} is a file, not a folder: name a folder{other or ' instead'}."
    return f"{folder} is not a folder: create it first (mkdir -p {folder}){other}."


def unique_folder(parent: Path, name: str) -> Path:
    """PARENT/name, or name-2, name-3, ...: never an existing folder."""
    candidate, number = parent / name, 2
    while candidate.exists():
        candidate, number = parent / f"{name}-{number}", number + 1
    return candidate


async def run_new(args: argparse.Namespace) -> int:
    """Plan in a staging folder (the name comes from the plan), move it to its own new folder,
    then generate there."""
    console = Console(json_output=args.json)
    parent: Path = (args.parent or Path.cwd()).resolve()
    problem = folder_problem(parent, None if args.parent else "--parent")
    if problem is None and (reason := write_problem(parent)) is not None:
        problem = f"cannot write to {parent}: {reason}: the project folder is created there; " + (
            "pass a writable --parent." if args.parent is None else "choose a writable --parent."
        )
    if problem is not None:
        console.error(problem)
        return EXIT_USAGE
    staging = Path(tempfile.mkdtemp(prefix=".stepforge-new-", dir=parent))
    opening = asyncio.create_task(_opened(DaemonClient(staging))) if args.preview else None
    try:
        async with DaemonClient(staging, on_notification=console.notification) as client:
            with console.progress("Planning") as progress:
                planned = await client.request(methods.PLAN, {"request": args.request}, progress)
        folder = unique_folder(parent, planned["projectName"])
        staging.rename(folder)
    except DaemonError as error:
        await _closed(opening)
        shutil.rmtree(staging, ignore_errors=True)
        console.error(error.message)
        return exit_code_for(error)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    console.plan_summary({**planned, "planPath": str(folder / ".stepforge" / "plan.json")})
    results: dict[str, Any] = {"folder": str(folder), "plan": planned}
    planned_at = time.monotonic()

    async def preview_while_generating() -> None:
        # The plan laid out the template and every route (pages not written yet show a pending
        # placeholder): run the app now, and each page appears as its file lands (the route
        # registry imports only complete files, so the dev servers never load a half-written one).
        assert opening is not None
        try:
            results["preview"] = await _start_preview(opening, folder, console)
        except DaemonError as error:
            console.error(f"The preview did not start: {error.message}")
        else:
            results["previewReadySeconds"] = round(time.monotonic() - planned_at, 2)
        finally:
            await _closed(opening)

    early = asyncio.create_task(preview_while_generating()) if args.preview else None
    try:
        async with DaemonClient(folder, on_notification=console.notification) as client:
            with console.progress("Generating") as progress:
                generated = await client.request(methods.GENERATE, _generate_params(args), progress)
    except DaemonError as error:
        console.error(
            f"{error.message}\nThe project is in {folder}: `stepforge generate --workspace {folder}` resumes."
        )
        return exit_code_for(error)
    finally:
        if early is not None:
            await early  # a preview is never left half-started
    console.generate_summary(generated)
    console.say(f"Project: {folder}")
    results["generate"] = generated
    code = generate_exit_code(generated)
    if "preview" in results:
        console.say(
            f"Frontend: {results['preview']['frontendUrl']}\nBackend:  {results['preview']['backendUrl']}"
        )
    if args.json:
        print(json.dumps(results, indent=2))
    return code


def build_images(force: bool) -> int:
    script = Path(__file__).parent / "preview" / "images" / "build-images.sh"
    # The script's own settings (its mirror otherwise comes from this machine's apt sources).
    names = (
        "STEPFORGE_FRONTEND_IMAGE",
        "STEPFORGE_BACKEND_IMAGE",
        "STEPFORGE_POSTGRES_IMAGE",
        "DEBIAN_MIRROR",
    )
    env = tool_environment(
        {"PYTHON": sys.executable, **{n: os.environ[n] for n in names if n in os.environ}}
    )
    return subprocess.run(
        ["bash", str(script), *(["--force"] if force else [])], env=env, check=False
    ).returncode


class _LateAnswerFilter(logging.Filter):
    """After Ctrl-C the CLI has given up its request; the daemon's answer to it may still arrive,
    and pygls logs setting it on the cancelled future as a traceback. Nothing is wrong: drop it."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not isinstance(error, InvalidStateError | asyncio.InvalidStateError)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return serve(args.tcp, args.allow_remote)
    if args.command == "images":
        return build_images(args.force)
    if hasattr(args, "request_file"):
        try:
            args.request = request_text(args)
        except RequestError as error:
            print(error, file=sys.stderr)
            return EXIT_USAGE
    for name in ("pygls.client", "pygls.io_"):  # the client's reader logs as pygls.client
        logging.getLogger(name).addFilter(_LateAnswerFilter())
    try:
        if args.command == "new":
            return asyncio.run(run_new(args))
        return asyncio.run(run_client(args))
    except KeyboardInterrupt:
        print("stepforge: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
