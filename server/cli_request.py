"""The request of `plan`, `change` and `new`: on the command line or in a file (`--request-file`),
checked before a daemon starts, in the command line's own terms."""

from __future__ import annotations

import argparse
from pathlib import Path

from protocol.models import MAX_REQUEST_CHARACTERS


class RequestError(Exception):
    """The request cannot be sent: the message says what to type instead."""


def add_request_args(parser: argparse.ArgumentParser, example: str) -> None:
    parser.add_argument("request", nargs="?", help=f"what you want, e.g. {example!r}")
    parser.add_argument(
        "--request-file",
        type=Path,
        metavar="FILE",
        help=f"read the request from FILE (UTF-8, up to {MAX_REQUEST_CHARACTERS:,} characters)",
    )
    parser.set_defaults(request_example=example)


def request_text(args: argparse.Namespace) -> str:
    """The request to send, or a RequestError naming the command's own flags."""
    command = f"stepforge {args.command}"
    example = f'{command} "{args.request_example}"'
    if args.request is not None and args.request_file is not None:
        raise RequestError(f"{command}: give the request or --request-file FILE, not both.")
    if args.request_file is not None:
        try:
            text = args.request_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            reason = error.strerror if isinstance(error, OSError) else "it is not UTF-8 text"
            raise RequestError(f"{command}: cannot read {args.request_file}: {reason}.") from None
        source = str(args.request_file)
    elif args.request is not None:
        text, source = args.request, "the request"
    else:
        raise RequestError(
            f"{command}: say what you want, e.g. {example}, or pass --request-file FILE."
        )
    if not text.strip():
        empty = "the request is empty" if source == "the request" else f"{source} is empty"
        raise RequestError(
            f'{command}: {empty}: say what you want, e.g. {command} "a task manager".'
        )
    if len(text) > MAX_REQUEST_CHARACTERS:
        raise RequestError(
            f"{command}: {source} is {len(text):,} characters long; at most "
            f"{MAX_REQUEST_CHARACTERS:,} are accepted: shorten it."
        )
    return text.strip()
