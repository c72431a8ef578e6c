"""`stepforge serve --tcp`: the daemon for several clients at once, each connection its own session.

Any local process can open a TCP port, so a connection must prove it speaks for the user first
(the model is VS Code server's connection token and Jupyter's token):

- a token is required: `STEPFORGE_TOKEN`, else one generated at start and written to a file only
  the user can read; the client sends it as `initializationOptions.token`;
- the first message must be `initialize` with that token, or the connection closes and nothing
  runs; a second `initialize` is refused;
- only LSP-framed JSON-RPC is read: anything else (a plain HTTP request, say) closes the
  connection before a byte of it is acted on;
- every connection gets its own language server, settings and services, so one client's
  options (its `baseUrl`, say) never change another's, and a client leaving (even with `exit`)
  ends only its own session.

A stranger must not be able to exhaust the daemon before it authenticates either: until its
`initialize` is accepted, a connection may send one message of at most 64 KiB (headers 8 KiB), must
do so within `STEPFORGE_TCP_AUTH_TIMEOUT` seconds (10), and only `STEPFORGE_TCP_MAX_PENDING` (32)
such connections wait at once (later ones are closed at once, as sshd's MaxStartups does). Its
session, the language server with its services, is built only once it has authenticated.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import json
import logging
import os
import re
import secrets
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from protocol.errors import ErrorCode
from server.logs import attach_log_forwarding
from server.lsp import StepForgeServer, build_server
from server.preview.records import state_folder

log = logging.getLogger(__name__)

MAX_HEADER_BYTES = 8 * 1024
MAX_BODY_BYTES = 16 * 1024 * 1024
# An `initialize` is a few KB; nothing larger is read from a peer that has not authenticated.
MAX_UNAUTHENTICATED_BODY_BYTES = 64 * 1024
_HEADER = re.compile(rb"([A-Za-z][A-Za-z0-9-]*): ?([^\r\n]*)\r\n")


class FramingError(Exception):
    """The peer is not speaking LSP-framed JSON-RPC."""


@dataclass(frozen=True)
class Limits:
    """What a connection may cost the daemon before it has authenticated."""

    auth_timeout: float = 10.0  # seconds from connect to an accepted `initialize`
    max_pending: int = 32  # connections waiting to authenticate at once
    max_unauthenticated_body: int = MAX_UNAUTHENTICATED_BODY_BYTES

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Limits:
        """The limits, with `STEPFORGE_TCP_AUTH_TIMEOUT` and `STEPFORGE_TCP_MAX_PENDING` applied;
        ValueError naming the variable for a value that is not a positive number."""
        limits = cls()
        timeout = environ.get("STEPFORGE_TCP_AUTH_TIMEOUT")
        pending = environ.get("STEPFORGE_TCP_MAX_PENDING")
        try:
            seconds = float(timeout) if timeout else limits.auth_timeout
            if not 0 < seconds < float("inf"):
                raise ValueError
        except ValueError:
            raise ValueError(
                f"STEPFORGE_TCP_AUTH_TIMEOUT={timeout} is not a positive number of seconds"
            ) from None
        try:
            count = int(pending) if pending else limits.max_pending
            if count < 1:
                raise ValueError
        except ValueError:
            raise ValueError(
                f"STEPFORGE_TCP_MAX_PENDING={pending} is not a positive whole number"
            ) from None
        return cls(auth_timeout=seconds, max_pending=count)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def token_file(port: int) -> Path:
    return state_folder() / f"tcp-{port}.token"


def write_token(port: int, token: str) -> Path:
    """The token in a file only the user can read (folder 0700, file 0600)."""
    path = token_file(port)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path.parent, 0o700)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    return path


async def read_frame(reader: asyncio.StreamReader, max_body: int = MAX_BODY_BYTES) -> bytes | None:
    """One message body of at most `max_body` bytes, None at a clean end of stream; FramingError
    for anything else (a longer body is refused from its header, before a byte of it is read)."""
    length: int | None = None
    seen = 0
    while True:
        try:
            line = await reader.readuntil(b"\n")
        except asyncio.IncompleteReadError as error:
            if not error.partial and seen == 0:
                return None
            raise FramingError("the stream ended inside a header") from None
        except asyncio.LimitOverrunError:
            raise FramingError("a header line is too long") from None
        seen += len(line)
        if seen > MAX_HEADER_BYTES:
            raise FramingError("the headers are too long")
        if line == b"\r\n":
            break
        match = _HEADER.fullmatch(line)
        if match is None:
            raise FramingError("not an LSP header line")
        if match.group(1).lower() == b"content-length":
            value = match.group(2).strip()
            if not value.isdigit():
                raise FramingError("Content-Length is not a number")
            length = int(value)
    if length is None or length <= 0:
        raise FramingError("no usable Content-Length")
    if length > max_body:
        raise FramingError(f"Content-Length {length} is above the limit of {max_body} bytes")
    try:
        return await reader.readexactly(length)
    except asyncio.IncompleteReadError:
        raise FramingError("the stream ended inside a message") from None


def _error_response(msg_id: Any, code: int, message: str) -> bytes:
    body = json.dumps(
        {"jsonrpc": "2.0", "id": msg_id, "error": {"code": code, "message": message}}
    ).encode()
    return f"Content-Length: {len(body)}\r\n\r\n".encode() + body


def _parse(body: bytes) -> dict[str, Any]:
    try:
        message = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        raise FramingError("the body is not JSON") from None
    if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
        raise FramingError("the body is not a JSON-RPC 2.0 message")
    return message


class Connection:
    """One client: its own server and session, behind the token, the framing rules and the limits
    on what it may cost before it authenticates."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        token: str,
        limits: Limits | None = None,
        on_authenticated: Callable[[], None] | None = None,
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.token = token
        self.limits = limits or Limits()
        self.on_authenticated = on_authenticated
        # Built only once the peer has authenticated: a stranger costs the daemon no session.
        self.server: StepForgeServer | None = None
        self._detach_logs: Callable[[], None] | None = None

    async def serve(self) -> None:
        peer = self.writer.get_extra_info("peername")
        try:
            try:
                async with asyncio.timeout(self.limits.auth_timeout):
                    first = await read_frame(self.reader, self.limits.max_unauthenticated_body)
                    if first is None:
                        return
                    message = _parse(first)
                    if not await self._authenticate(message):
                        return
            except TimeoutError:
                log.warning(
                    "closed the connection from %s: no initialize within %g s",
                    peer,
                    self.limits.auth_timeout,
                )
                return
            self._start_session(message)
            while (body := await read_frame(self.reader)) is not None:
                if not await self._handle(body):
                    break
        except FramingError as error:
            log.warning("closed the connection from %s: %s", peer, error)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            if self._detach_logs is not None:
                self._detach_logs()
            await self._close()

    async def _handle(self, body: bytes) -> bool:
        """Act on one message of an authenticated session; False ends the connection."""
        message = _parse(body)
        assert self.server is not None
        method = message.get("method")
        if method == "initialize":
            self.writer.write(
                _error_response(
                    message.get("id"), -32600, "This connection is already initialized."
                )
            )
            return True
        if method == "exit":  # a client leaving ends its session, never the daemon
            return False
        protocol = self.server.protocol
        protocol.handle_message(json.loads(body, object_hook=protocol.structure_message))
        return True

    async def _authenticate(self, message: dict[str, Any]) -> bool:
        """Whether the first message is an `initialize` with the token (answered with an error
        and refused otherwise); the token is taken out of the message."""
        params = message.get("params")
        options = params.get("initializationOptions") if isinstance(params, dict) else None
        supplied = options.pop("token", None) if isinstance(options, dict) else None
        if (
            message.get("method") != "initialize"
            or "id" not in message
            or not isinstance(supplied, str)
            or not hmac.compare_digest(supplied.encode(), self.token.encode())
        ):
            if "id" in message:
                self.writer.write(
                    _error_response(
                        message["id"],
                        ErrorCode.UNAUTHORIZED,
                        "Unauthorized: send initialize first, with the daemon's token as "
                        "initializationOptions.token (STEPFORGE_TOKEN, or the token file it "
                        "printed at start).",
                    )
                )
                with contextlib.suppress(ConnectionError):
                    await self.writer.drain()
            log.warning("refused a connection that did not authenticate")
            return False
        if self.on_authenticated is not None:
            self.on_authenticated()
        return True

    def _start_session(self, initialize: dict[str, Any]) -> None:
        """The authenticated peer's own language server, answering its `initialize`."""
        self.server = build_server()
        # Only now may the session write to the peer (answers, progress, its own log lines).
        self.server.protocol.set_writer(self.writer)
        self._detach_logs = attach_log_forwarding(self.server)
        protocol = self.server.protocol
        protocol.handle_message(
            json.loads(json.dumps(initialize), object_hook=protocol.structure_message)
        )

    async def _close(self) -> None:
        if self.server is not None:
            protocol = self.server.protocol
            for future in list(protocol._request_futures.values()):
                future.cancel()
            if self.server.app is not None:
                with contextlib.suppress(Exception):
                    await self.server.app.aclose()
        with contextlib.suppress(Exception):
            self.writer.close()
            await self.writer.wait_closed()


async def _serve(host: str, port: int, token: str, limits: Limits) -> None:
    connections: set[asyncio.Task[None]] = set()
    pending = 0  # connections that have not authenticated yet

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal pending
        if pending >= limits.max_pending:
            log.warning(
                "refused a connection: %d connections are already waiting to authenticate",
                pending,
            )
            writer.transport.abort()
            return
        pending += 1
        counted = True

        def authenticated() -> None:
            nonlocal pending, counted
            if counted:
                pending -= 1
                counted = False

        task = asyncio.current_task()
        assert task is not None
        connections.add(task)
        try:
            await Connection(reader, writer, token, limits, authenticated).serve()
        finally:
            authenticated()  # a connection closed before authenticating no longer waits
            connections.discard(task)

    server = await asyncio.start_server(on_connect, host, port, limit=MAX_HEADER_BYTES)
    bound = server.sockets[0].getsockname()[1]
    path = None if os.environ.get("STEPFORGE_TOKEN") else write_token(bound, token)
    where = "from STEPFORGE_TOKEN" if path is None else f"in {path}"
    print(
        f"StepForge listening on {host}:{bound}; the token is {where} "
        "(send it as initializationOptions.token)",
        file=sys.stderr,
        flush=True,
    )
    try:
        async with server:
            await server.serve_forever()
    finally:
        if path is not None:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


def serve_tcp(host: str, port: int, *, allow_remote: bool = False) -> int:
    if not is_loopback(host):
        if not allow_remote:
            print(
                f"stepforge serve: {host} is not a loopback address; anyone who can reach it "
                "could drive StepForge with your API key. Pass --allow-remote to bind it anyway.",
                file=sys.stderr,
            )
            return 2
        print(
            f"warning: StepForge listens on {host}, reachable from other machines; only the "
            "token protects it, and the traffic is not encrypted.",
            file=sys.stderr,
        )
    try:
        limits = Limits.from_env(os.environ)
    except ValueError as error:
        print(f"stepforge serve: {error}.", file=sys.stderr)
        return 2
    token = os.environ.get("STEPFORGE_TOKEN") or secrets.token_urlsafe(32)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(host, port, token, limits))
    return 0
