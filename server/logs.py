"""Logging for the daemon: to stderr (stdout carries the protocol), forwarded to the client's
`window/logMessage`, and never with a secret in it."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import os
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from lsprotocol import types

if TYPE_CHECKING:
    from pygls.lsp.server import LanguageServer

_secrets: set[str] = set()
_REDACTED = "[redacted]"


def add_secret(value: str | None) -> None:
    """Never let `value` (an API key) reach a log line."""
    if value and len(value) >= 6:
        _secrets.add(value)


def holds_secret(text: str) -> bool:
    """Whether `text` contains a secret registered with `add_secret`."""
    return any(secret in text for secret in tuple(_secrets))  # a copy: other threads add


def redact(text: str) -> str:
    for secret in tuple(_secrets):
        text = text.replace(secret, _REDACTED)
    return text


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if _secrets:
            record.msg = redact(record.getMessage())
            record.args = ()
        return True


# The language server of the session a log record belongs to: with several TCP clients, each sees
# only its own session's lines. Tasks and worker threads inherit it from the connection's task.
current_session: contextvars.ContextVar[object | None] = contextvars.ContextVar(
    "stepforge_session", default=None
)


class LspLogHandler(logging.Handler):
    """Forwards StepForge's own log records (not pygls's, which would log the forwarding itself)
    of its session to the client as window/logMessage."""

    _LEVELS = {
        logging.ERROR: types.MessageType.Error,
        logging.WARNING: types.MessageType.Warning,
        logging.INFO: types.MessageType.Info,
    }

    def __init__(self, server: LanguageServer) -> None:
        super().__init__(logging.INFO)
        self.server = server
        self._local = threading.local()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.addFilter(RedactingFilter())

    def emit(self, record: logging.LogRecord) -> None:
        if not record.name.startswith("server") or getattr(self._local, "busy", False):
            return
        if current_session.get() is not self.server:
            return
        if self.server.protocol.writer is None:
            return
        level = next(
            (t for lvl, t in self._LEVELS.items() if record.levelno >= lvl), types.MessageType.Log
        )
        params = types.LogMessageParams(type=level, message=self.format(record))
        if threading.current_thread() is not threading.main_thread():
            # The protocol's writer belongs to the event loop (the main thread).
            if self._loop is not None and not self._loop.is_closed():
                self._loop.call_soon_threadsafe(self._send, params)
            return
        if self._loop is None:
            try:
                self._loop = asyncio.get_running_loop()
            except RuntimeError:
                return
        self._send(params)

    def _send(self, params: types.LogMessageParams) -> None:
        if getattr(self._local, "busy", False):
            return
        self._local.busy = True
        try:
            self.server.window_log_message(params)
        except Exception:  # logging must never break the daemon
            pass
        finally:
            self._local.busy = False


def attach_log_forwarding(server: LanguageServer) -> Callable[[], None]:
    """Forward the log records of the calling context (and what it starts) to `server`'s client;
    returns the function that stops it."""
    current_session.set(server)
    handler = LspLogHandler(server)
    logging.getLogger().addHandler(handler)
    return lambda: logging.getLogger().removeHandler(handler)


class AnsweredErrorFilter(logging.Filter):
    """pygls logs every error a handler raises with its traceback. A JSON-RPC error is StepForge's
    answer to the client (a missing plan, an LLM that refused), already worded for the user: it is
    kept at debug level, in one line; anything else (a bug) keeps its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        from pygls.exceptions import JsonRpcException

        error = record.exc_info[1] if record.exc_info else None
        if not isinstance(error, JsonRpcException):
            return True
        logging.getLogger("server.lsp").debug(
            "answered with error %s: %s", error.code, redact(str(error.message))
        )
        return False


def configure_daemon_logging() -> None:
    level = os.environ.get("STEPFORGE_LOG_LEVEL", "INFO").upper()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger("server").setLevel(level)
    logging.getLogger("pygls.protocol.json_rpc").addFilter(AnsweredErrorFilter())
