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
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from protocol import methods
from protocol.errors import CONFIGURATION_OR_LLM, ErrorCode
from server import __version__
from server.cli_render import Console
from server.client import DaemonClient, DaemonError

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_CONFIG, EXIT_CONFLICT, EXIT_INTERRUPTED = 0, 1, 2, 3, 4, 130


def _workspace_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workspace", "-w", required=True, type=Path, help="the project folder")
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
    plan.add_argument("request", help='what to build, e.g. "a task manager with a dashboard"')
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

    resolve = commands.add_parser("resolve", help="settle a conflict left by a regeneration")
    resolve.add_argument("conflict_id", help="the conflict id (`stepforge status` lists them)")
    _workspace_arg(resolve)
    resolve.add_argument("--choice", required=True, choices=["mine", "generated", "merged"])
    resolve.add_argument("--content-file", type=Path, help="the merged text, for --choice merged")

    preview = commands.add_parser(
        "preview", help="run the app: frontend and backend, in containers or locally"
    )
    preview.add_argument("action", choices=["start", "stop", "status", "logs"])
    _workspace_arg(preview)
    preview.add_argument(
        "--runtime", choices=["docker", "local"], help="default: docker when an engine answers"
    )
    preview.add_argument("--lines", type=int, default=200, help="log lines to show (logs)")

    change = commands.add_parser(
        "change", help='change the app with a request ("add a favorites page"), keeping your edits'
    )
    change.add_argument("request", help="what to change")
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
        help="also run the app: its GET endpoints, and every page in a browser",
    )

    images = commands.add_parser(
        "images", help="build the preview's base images offline (needs root)"
    )
    images.add_argument("action", choices=["build"])
    images.add_argument("--force", action="store_true", help="rebuild even if they exist")

    new = commands.add_parser("new", help="plan and generate a new project in a new folder")
    new.add_argument(
        "request", help='what to build, e.g. "a task manager with a dashboard and charts"'
    )
    new.add_argument(
        "--parent",
        type=Path,
        default=Path.cwd(),
        help="where the project folder is created (default: here)",
    )
    new.add_argument("--json", action="store_true", help="print the results as JSON on stdout")
    new.add_argument(
        "--preview", action="store_true", help="start the preview when the app is generated"
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
    """0 only when every file asked for is done and no error problem remains: failures, files
    skipped because a dependency failed, or errors the checks still find make it 1; a conflict
    (your file kept, a proposal stored) makes it 4. Problems in a file held by a conflict are
    the user's kept version's: resolving the conflict comes first, so they do not make it 1."""
    in_conflict = {c["path"] for c in result.get("conflicts", [])}
    errors = [
        p
        for p in result.get("problems", [])
        if p.get("severity") == "error" and p.get("path") not in in_conflict
    ]
    if result["failed"] or _blocked(result) or errors:
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
    code = {"conflict": EXIT_CONFLICT, "skipped": EXIT_FAILED}.get(result["outcome"], EXIT_OK)
    return result, code


async def cmd_resolve(
    client: DaemonClient, args: argparse.Namespace, console: Console
) -> tuple[dict[str, Any], int]:
    params: dict[str, Any] = {"conflictId": args.conflict_id, "choice": args.choice}
    if args.content_file is not None:
        params["content"] = args.content_file.read_text(encoding="utf-8")
    result = await client.request(methods.RESOLVE_CONFLICT, params)
    console.say(result["message"])
    return result, EXIT_OK


async def cmd_preview(
    client: DaemonClient, args: argparse.Namespace, console: Console
) -> tuple[dict[str, Any], int]:
    if args.action == "start":
        # Started from the command line, a preview outlives the command (stop it with `preview stop`).
        params: dict[str, Any] = {"detached": True}
        if args.runtime:
            params["runtime"] = args.runtime
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
    result = await client.request(methods.PREVIEW_LOGS, {"lines": args.lines})
    for item in result["lines"]:
        console.say(f"[{item['role']}] {item['line']}")
    return result, EXIT_OK


async def cmd_change(
    client: DaemonClient, args: argparse.Namespace, console: Console
) -> tuple[dict[str, Any], int]:
    params = {**_generate_params(args), "request": args.request, "dryRun": args.dry_run}
    with console.progress("Changing") as progress:
        result = await client.request(methods.CHANGE, params, progress)
    console.change_summary(result)
    if args.dry_run:
        return result, EXIT_OK
    return result, generate_exit_code(result)


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
    console.say(result["message"])
    for issue in result.get("kept", []):
        console.say(f"  kept {issue['path']}: {issue['reason']}")
    return result, EXIT_OK


async def cmd_check(
    client: DaemonClient, args: argparse.Namespace, console: Console
) -> tuple[dict[str, Any], int]:
    with console.progress("Checking") as progress:
        result = await client.request(methods.CHECK, {"runtime": args.runtime}, progress)
    console.problems(result["problems"], result["tiers"])
    errors = [p for p in result["problems"] if p["severity"] == "error"]
    return result, EXIT_FAILED if errors else EXIT_OK


COMMANDS: dict[str, Command] = {
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
    workspace: Path = args.workspace
    if not workspace.is_dir():
        console.error(f"{workspace} is not a folder: create it first (mkdir -p {workspace}).")
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
    parent: Path = args.parent.resolve()
    if not parent.is_dir():
        console.error(f"{parent} is not a folder: create it first, or pass --parent.")
        return EXIT_USAGE
    staging = Path(tempfile.mkdtemp(prefix=".stepforge-new-", dir=parent))
    try:
        async with DaemonClient(staging, on_notification=console.notification) as client:
            with console.progress("Planning") as progress:
                planned = await client.request(methods.PLAN, {"request": args.request}, progress)
        folder = unique_folder(parent, planned["projectName"])
        staging.rename(folder)
    except DaemonError as error:
        shutil.rmtree(staging, ignore_errors=True)
        console.error(error.message)
        return exit_code_for(error)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    console.plan_summary({**planned, "planPath": str(folder / ".stepforge" / "plan.json")})
    try:
        async with DaemonClient(folder, on_notification=console.notification) as client:
            with console.progress("Generating") as progress:
                generated = await client.request(methods.GENERATE, _generate_params(args), progress)
    except DaemonError as error:
        console.error(
            f"{error.message}\nThe project is in {folder}: `stepforge generate --workspace {folder}` resumes."
        )
        return exit_code_for(error)
    console.generate_summary(generated)
    console.say(f"Project: {folder}")
    results: dict[str, Any] = {"folder": str(folder), "plan": planned, "generate": generated}
    code = generate_exit_code(generated)
    # Every file written: the preview starts, even if problems remain (they are listed above,
    # and the running app shows them too); a file that failed would only break it.
    if args.preview and not generated["failed"] and not _blocked(generated):
        try:
            async with DaemonClient(folder, on_notification=console.notification) as client:
                with console.progress("Preview") as progress:
                    results["preview"] = await client.request(
                        methods.PREVIEW_START, {"detached": True}, progress
                    )
        except DaemonError as error:
            console.error(error.message)
            return exit_code_for(error)
        console.say(
            f"Frontend: {results['preview']['frontendUrl']}\nBackend:  {results['preview']['backendUrl']}"
        )
    if args.json:
        print(json.dumps(results, indent=2))
    return code


def build_images(force: bool) -> int:
    script = Path(__file__).parent / "preview" / "images" / "build-images.sh"
    env = {**os.environ, "PYTHON": sys.executable}
    return subprocess.run(
        ["bash", str(script), *(["--force"] if force else [])], env=env, check=False
    ).returncode


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return serve(args.tcp, args.allow_remote)
    if args.command == "images":
        return build_images(args.force)
    try:
        if args.command == "new":
            return asyncio.run(run_new(args))
        return asyncio.run(run_client(args))
    except KeyboardInterrupt:
        print("stepforge: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
