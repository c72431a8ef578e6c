"""A JSON-RPC client of the daemon: spawns `python -m server serve` over stdio, initializes an LSP
session, sends StepForge requests with a work-done token of its own, and forwards progress and
notifications to callbacks. Used by the `stepforge` command (and by tests that script the daemon).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import os
import sys
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.lsp.client import LanguageClient

from protocol import methods
from server import __version__
from server.wire import json_converter

log = logging.getLogger(__name__)

ProgressCallback = Callable[[str, str | None, int | None], None]  # kind, message, percentage
NotificationCallback = Callable[[str, dict[str, Any]], None]


class DaemonError(Exception):
    """The daemon answered with an error (`code`, `message`) or went away."""

    def __init__(self, message: str, code: int | None = None, data: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.data = data


class DaemonClient:
    def __init__(
        self,
        workspace: Path,
        *,
        env: Mapping[str, str] | None = None,
        command: list[str] | None = None,
        on_notification: NotificationCallback | None = None,
    ) -> None:
        self.workspace = workspace
        self.env = dict(env if env is not None else os.environ)
        self.command = command or [sys.executable, "-m", "server", "serve"]
        self.on_notification = on_notification
        self.stderr_tail: collections.deque[str] = collections.deque(maxlen=40)
        self._progress: dict[str, ProgressCallback] = {}
        self._client = LanguageClient(
            "stepforge-cli", __version__, converter_factory=json_converter
        )
        self._stderr_task: asyncio.Task[None] | None = None
        self._register()

    def _register(self) -> None:
        client = self._client

        @client.feature(types.PROGRESS)
        def progress(params: types.ProgressParams) -> None:
            callback = self._progress.get(str(params.token))
            value = params.value if isinstance(params.value, dict) else {}
            if callback is not None:
                callback(
                    value.get("kind", ""),
                    value.get("message") or value.get("title"),
                    value.get("percentage"),
                )

        @client.feature(types.WINDOW_WORK_DONE_PROGRESS_CREATE)
        def create_progress(params: types.WorkDoneProgressCreateParams) -> None:
            return None

        @client.feature(types.WINDOW_SHOW_MESSAGE)
        def show_message(params: types.ShowMessageParams) -> None:
            if self.on_notification:
                self.on_notification(
                    "window/showMessage", {"type": int(params.type), "message": params.message}
                )

        @client.feature(types.WINDOW_LOG_MESSAGE)
        def log_message(params: types.LogMessageParams) -> None:
            pass  # the daemon's stderr carries the same lines

        @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def diagnostics(params: types.PublishDiagnosticsParams) -> None:
            pass  # the results carry the problems; diagnostics are for editors

        for name in methods.NOTIFICATIONS:

            def forward(params: Any, name: str = name) -> None:
                if self.on_notification:
                    self.on_notification(name, params)

            client.feature(name)(forward)

    async def __aenter__(self) -> DaemonClient:
        await self._client.start_io(*self.command, env=self.env)
        server = self._client._server
        if server is not None and server.stderr is not None:
            self._stderr_task = asyncio.create_task(self._drain_stderr(server.stderr))
        try:
            await self._client.initialize_async(
                types.InitializeParams(
                    process_id=os.getpid(),
                    root_uri=self.workspace.resolve().as_uri(),
                    capabilities=types.ClientCapabilities(
                        window=types.WindowClientCapabilities(work_done_progress=True)
                    ),
                    client_info=types.ClientInfo(name="stepforge-cli", version=__version__),
                    # A one-command session has no use for watching the workspace; its messages
                    # name environment variables and flags, not an editor's settings.
                    initialization_options={"watch": False, "clientKind": "cli"},
                )
            )
        except Exception as error:
            raise DaemonError(
                f"The StepForge daemon did not start: {error}\n{self.stderr_text()}"
            ) from error
        self._client.initialized(types.InitializedParams())
        return self

    async def _drain_stderr(self, stream: asyncio.StreamReader) -> None:
        # The daemon's stderr must be read, or a full pipe blocks it.
        while line := await stream.readline():
            text = line.decode(errors="replace").rstrip()
            self.stderr_tail.append(text)
            if os.environ.get("STEPFORGE_CLI_VERBOSE"):
                print(text, file=sys.stderr)

    def stderr_text(self) -> str:
        return "\n".join(self.stderr_tail)

    async def __aexit__(self, *exc: object) -> None:
        try:
            if self._client._server is not None and self._client._server.returncode is None:
                await asyncio.wait_for(self._client.shutdown_async(None), timeout=10)
                self._client.exit(None)
        except Exception as error:  # the daemon is gone already: nothing to shut down
            log.debug("shutdown: %s", error)
        try:
            await asyncio.wait_for(self._client.stop(), timeout=10)
        except (TimeoutError, Exception):
            server = self._client._server
            if server is not None and server.returncode is None:
                server.kill()
        if self._stderr_task is not None:
            self._stderr_task.cancel()

    async def request(
        self, method: str, params: dict[str, Any], on_progress: ProgressCallback | None = None
    ) -> dict[str, Any]:
        """Send one request; on cancellation (Ctrl-C) the daemon is told with $/cancelRequest."""
        params = {**params, "workspace": str(self.workspace.resolve())}
        token = None
        if on_progress is not None:
            token = f"cli-{uuid.uuid4()}"
            self._progress[token] = on_progress
            params["workDoneToken"] = token
        msg_id = str(uuid.uuid4())
        future = self._client.protocol.send_request(method, params, msg_id=msg_id)
        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            self._client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=msg_id))
            raise
        except JsonRpcException as error:
            raise DaemonError(error.message, error.code, error.data) from None
        except RuntimeError as error:  # the daemon exited
            raise DaemonError(f"{error}\n{self.stderr_text()}") from None
        finally:
            if token is not None:
                self._progress.pop(token, None)
