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
import sys
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
    parser = argparse.ArgumentParser(prog="stepforge", description="Turn a one-line request into a running web app.")
    parser.add_argument("--version", action="version", version=f"stepforge {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the daemon (LSP over stdio, or TCP)")
    serve.add_argument("--tcp", metavar="[HOST:]PORT", help="listen on TCP instead of stdio (host defaults to 127.0.0.1)")

    plan = commands.add_parser("plan", help="ask the LLM for a plan and store it in the workspace")
    plan.add_argument("request", help='what to build, e.g. "a task manager with a dashboard"')
    _workspace_arg(plan)

    status = commands.add_parser("status", help="what the workspace holds")
    _workspace_arg(status)
    return parser


def _tcp_address(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    try:
        return host or "127.0.0.1", int(port)
    except ValueError:
        raise SystemExit(f"stepforge serve: --tcp takes [HOST:]PORT, not {value!r}") from None


def serve(tcp: str | None) -> int:
    from server.logs import configure_daemon_logging
    from server.lsp import build_server

    configure_daemon_logging()
    server = build_server()
    if tcp:
        server.start_tcp(*_tcp_address(tcp))
    else:
        server.start_io()
    return EXIT_OK


# --- client commands ---------------------------------------------------------------------------


Command = Callable[[DaemonClient, argparse.Namespace, Console], Awaitable[tuple[dict[str, Any], int]]]


async def cmd_plan(client: DaemonClient, args: argparse.Namespace, console: Console) -> tuple[dict[str, Any], int]:
    with console.progress("Planning") as progress:
        result = await client.request(methods.PLAN, {"request": args.request}, progress)
    console.plan_summary(result)
    return result, EXIT_OK


async def cmd_status(client: DaemonClient, args: argparse.Namespace, console: Console) -> tuple[dict[str, Any], int]:
    result = await client.request(methods.STATUS, {})
    console.status_table(result)
    return result, EXIT_OK


COMMANDS: dict[str, Command] = {"plan": cmd_plan, "status": cmd_status}


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


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return serve(args.tcp)
    try:
        return asyncio.run(run_client(args))
    except KeyboardInterrupt:
        print("stepforge: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
