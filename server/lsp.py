"""The language server: registration of every StepForge method, nothing else.

Each custom request is a thin handler: validate the params with pydantic (invalid params are a
-32602 error that quotes pydantic's message), find the workspace, run one service method of
`StepForge` under work-done progress, return the result on the wire. The same handler also serves
the `workspace/executeCommand` command of the same name, whose single argument is the params object.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
from lsprotocol import types
from pydantic import BaseModel, ValidationError
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol, lsp_method

from protocol import methods
from protocol.errors import ErrorCode
from protocol.models import Problem, WireModel, WorkspaceParams
from server import __version__, diagnostics
from server.app import StepForge
from server.config import load_settings
from server.errors import StepForgeError
from server.logs import add_secret
from server.progress import NoProgress, Progress
from server.wire import json_converter
from server.workspace.paths import workspace_from, workspace_path

log = logging.getLogger(__name__)


class StepForgeProtocol(LanguageServerProtocol):
    @lsp_method(types.WORKSPACE_EXECUTE_COMMAND)
    async def lsp_workspace__execute_command(  # type: ignore[override]  # async on purpose
        self, params: types.ExecuteCommandParams
    ) -> Any:
        """Run a command as this request's own task, so `$/cancelRequest` reaches it (pygls's
        built-in runs it as a separate future that a cancel does not stop)."""
        handler = self.fm.commands.get(params.command)
        if handler is None:
            raise JsonRpcInvalidParams(f"Unknown command {params.command!r}.")
        arguments = params.arguments or []
        if len(arguments) > 1:
            raise JsonRpcInvalidParams(
                f"{params.command} takes one argument (the params object), got {len(arguments)}."
            )
        return await handler(arguments[0] if arguments else {})


class StepForgeServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__(
            "stepforge",
            __version__,
            protocol_cls=StepForgeProtocol,
            converter_factory=json_converter,
        )
        self.app: StepForge | None = None
        self.pending_messages: list[str] = []

    def notify_wire(self, method: str, payload: WireModel) -> None:
        self.protocol.notify(method, payload.to_wire())

    def publish_problems(self, root: Path, problems: dict[str, list[Problem]]) -> None:
        for path, found in problems.items():
            self.text_document_publish_diagnostics(diagnostics.publication(root, path, found))

    def workspace_root_of(self, uri: str) -> Path | None:
        """The workspace a document belongs to (one StepForge knows, else the LSP root)."""
        path = Path(workspace_path(uri))
        known = self.app.sessions if self.app is not None else {}
        for root in sorted(known, key=lambda r: len(str(r)), reverse=True):
            if path == root or root in path.parents:
                return root
        try:
            return self.root(None)
        except StepForgeError:
            return None

    def show_warning(self, message: str) -> None:
        self.window_show_message(
            types.ShowMessageParams(type=types.MessageType.Warning, message=message)
        )

    def root(self, requested: str | None) -> Path:
        """The request's workspace, else the LSP root, else the first workspace folder."""
        if requested:
            return workspace_from(requested)
        workspace = self.protocol._workspace
        if workspace is not None:
            if workspace.root_uri:
                return workspace_from(workspace.root_uri)
            folders = list(workspace.folders.values())
            if folders:
                return workspace_from(folders[0].uri)
        return workspace_from(None)


# --- progress ------------------------------------------------------------------------------------


class LspProgress:
    """Work-done progress on one token; reports are throttled to about ten a second."""

    def __init__(self, server: StepForgeServer, token: types.ProgressToken) -> None:
        self.server = server
        self.token = token
        self._last_sent = 0.0
        self._last_percentage = 0
        # The latest report held back by the throttle: sent when the interval is over, so the
        # last word before a long quiet step ("Checking the generated project") is never lost.
        self._held: tuple[str, int | None] | None = None
        self._flush: asyncio.TimerHandle | None = None

    def begin(self, title: str) -> None:
        self.server.work_done_progress.begin(
            self.token, types.WorkDoneProgressBegin(title=title, cancellable=True, percentage=0)
        )

    def report(self, message: str, percentage: int | None = None) -> None:
        now = asyncio.get_running_loop().time()
        if percentage is not None:
            percentage = max(self._last_percentage, min(100, percentage))  # never backwards
        jumped = percentage is not None and percentage != self._last_percentage
        if not jumped and now - self._last_sent < 0.1:
            self._held = (message, percentage)
            if self._flush is None:
                self._flush = asyncio.get_running_loop().call_later(
                    0.1 - (now - self._last_sent), self._send_held
                )
            return
        self._send(now, message, percentage)

    def _send_held(self) -> None:
        self._flush = None
        if self._held is not None:
            self._send(asyncio.get_running_loop().time(), *self._held)

    def _send(self, now: float, message: str, percentage: int | None) -> None:
        self._held = None
        self._last_sent = now
        if percentage is not None:
            self._last_percentage = percentage
        self.server.work_done_progress.report(
            self.token, types.WorkDoneProgressReport(message=message, percentage=percentage)
        )

    def end(self, message: str) -> None:
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None
        self.server.work_done_progress.end(self.token, types.WorkDoneProgressEnd(message=message))
        # A token may be reused by the client only once pygls forgets it.
        self.server.work_done_progress.tokens.pop(self.token, None)

    def cancellation(self) -> Future[Any] | None:
        return self.server.work_done_progress.tokens.get(self.token)


async def _open_progress(
    server: StepForgeServer, token: types.ProgressToken | None
) -> LspProgress | None:
    """The client's token, else one the server creates if the client can show progress."""
    if token is None:
        capabilities = server.client_capabilities
        window = capabilities.window if capabilities else None
        if not (window and window.work_done_progress):
            return None
        token = f"stepforge-{uuid.uuid4()}"
        try:
            await server.work_done_progress.create_async(token)
        except Exception as error:  # the client refused: carry on without progress
            log.info("client refused a progress token: %s", error)
            return None
    return LspProgress(server, token)


async def _run_cancellable(work: Callable[[], Awaitable[Any]], cancel: Future[Any] | None) -> Any:
    """Run `work`; a cancel from the progress UI (the token's future) cancels it like $/cancelRequest."""
    if cancel is None:
        return await work()
    loop = asyncio.get_running_loop()
    with anyio.CancelScope() as scope:
        cancel.add_done_callback(lambda _: loop.call_soon_threadsafe(scope.cancel))
        return await work()
    raise JsonRpcException(
        message="Cancelled from the progress notification.", code=ErrorCode.REQUEST_CANCELLED
    )


# --- handlers ------------------------------------------------------------------------------------

Service = Callable[[StepForge, Path, Any, Progress], Awaitable[BaseModel]]


@dataclass(frozen=True)
class Endpoint:
    title: str | None  # None: a quick request, no progress
    service: Service


MAX_PARAMS_BYTES = 1_000_000


# Params the command line takes other than as `--flag-of-the-param`.
CLI_NAMES = {
    "request": "the request",
    "content": "--content-file",
    "conflictId": "the conflict id",
    "path": "the path",
}


def param_name(loc: tuple[int | str, ...], client_kind: str) -> str:
    """A param as its user knows it: `repairRounds` in an editor, `--repair-rounds` on the
    command line."""
    name = ".".join(str(p) for p in loc) or "params"
    if client_kind != "cli" or not loc or not isinstance(loc[0], str):
        return name
    first = loc[0]
    return CLI_NAMES.get(first) or "--" + re.sub(r"(?<!^)(?=[A-Z])", "-", first).lower()


def _parse(
    model: type[WorkspaceParams], raw: Any, method: str, client_kind: str = "editor"
) -> WorkspaceParams:
    # Absent, null and [] all mean "no params" (Neovim's Lua encodes an empty table as []).
    if raw is None or raw == []:
        raw = {}
    if not isinstance(raw, dict):
        raise JsonRpcInvalidParams(f"{method}: params must be an object (or absent).")
    size = len(json.dumps(raw, ensure_ascii=False).encode())
    if size > MAX_PARAMS_BYTES:
        raise JsonRpcInvalidParams(
            f"{method}: the params are {size / 1e6:.1f} MB; StepForge accepts at most "
            f"{MAX_PARAMS_BYTES / 1e6:.0f} MB per request. Shorten the request."
        )
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        problems = "; ".join(
            f"{param_name(e['loc'], client_kind)}: {e['msg']}" for e in error.errors()
        )
        if client_kind == "cli":
            raise JsonRpcInvalidParams(problems[:1].upper() + problems[1:]) from None
        raise JsonRpcInvalidParams(f"Invalid params for {method}: {problems}") from None


def make_handler(
    server: StepForgeServer, method: str, endpoint: Endpoint
) -> Callable[[Any], Awaitable[Any]]:
    params_model = methods.REQUESTS[method].params

    async def handle(raw: Any) -> Any:
        kind = server.app.settings.client_kind if server.app is not None else "editor"
        params = _parse(params_model, raw, method, kind)  # type: ignore[arg-type]
        if server.app is None:
            raise JsonRpcException(message="The server is not initialized.", code=-32002)
        app = server.app
        try:
            root = server.root(params.workspace)
        except StepForgeError as error:
            raise JsonRpcException(message=error.message, code=error.code) from None
        progress = await _open_progress(server, params.work_done_token) if endpoint.title else None
        if progress is not None:
            progress.begin(endpoint.title or method)
        outcome = "Failed"
        try:
            result = await _run_cancellable(
                lambda: endpoint.service(app, root, params, progress or NoProgress()),
                progress.cancellation() if progress else None,
            )
            outcome = "Done"
            # Every documented field, always: an unset one is null, so scripts need no defaults.
            return result.model_dump(mode="json", by_alias=True)
        except StepForgeError as error:
            raise JsonRpcException(
                message=error.message, code=error.code, data=error.data
            ) from None
        except (asyncio.CancelledError, anyio.get_cancelled_exc_class()):
            outcome = "Cancelled"
            raise
        except JsonRpcException as error:  # a cancel from the progress UI ends as one too
            if error.code == ErrorCode.REQUEST_CANCELLED:
                outcome = "Cancelled"
            raise
        finally:
            if progress is not None:
                progress.end(outcome)

    handle.__name__ = method.replace("/", "_")
    handle.__doc__ = f"Serve {method}: {endpoint.title or 'a quick query'}."
    return handle


def endpoints() -> dict[str, Endpoint]:
    return {
        methods.PLAN: Endpoint(
            "StepForge: planning", lambda app, root, p, progress: app.plan(root, p, progress)
        ),
        methods.STATUS: Endpoint(None, lambda app, root, p, progress: app.status(root)),
        methods.GENERATE: Endpoint(
            "StepForge: generating", lambda app, root, p, progress: app.generate(root, p, progress)
        ),
        methods.REGENERATE_FILE: Endpoint(
            "StepForge: regenerating",
            lambda app, root, p, progress: app.regenerate_file(root, p, progress),
        ),
        methods.RESOLVE_CONFLICT: Endpoint(
            None, lambda app, root, p, progress: app.resolve_conflict(root, p)
        ),
        methods.CONFLICT_DETAILS: Endpoint(
            None, lambda app, root, p, progress: app.conflict_details(root, p)
        ),
        methods.PREVIEW_START: Endpoint(
            "StepForge: starting the preview",
            lambda app, root, p, progress: app.preview_start(root, p, progress),
        ),
        methods.PREVIEW_STOP: Endpoint(None, lambda app, root, p, progress: app.preview_stop(root)),
        methods.PREVIEW_STATUS: Endpoint(
            None, lambda app, root, p, progress: app.preview_status(root)
        ),
        methods.PREVIEW_LOGS: Endpoint(
            None, lambda app, root, p, progress: app.preview_logs(root, p)
        ),
        methods.PREVIEW_RESET_DATA: Endpoint(
            "StepForge: resetting the app's data",
            lambda app, root, p, progress: app.preview_reset_data(root, p, progress),
        ),
        methods.CHECK: Endpoint(
            "StepForge: checking", lambda app, root, p, progress: app.check(root, p, progress)
        ),
        methods.CHANGE: Endpoint(
            "StepForge: changing the app",
            lambda app, root, p, progress: app.change(root, p, progress),
        ),
        methods.HISTORY: Endpoint(None, lambda app, root, p, progress: app.history(root)),
        methods.UNDO: Endpoint(None, lambda app, root, p, progress: app.undo(root)),
    }


def build_server() -> StepForgeServer:
    server = StepForgeServer()

    @server.feature(types.INITIALIZE)
    def initialize(params: types.InitializeParams) -> None:
        """Read settings from initializationOptions and the environment; start the services."""
        settings, warnings = load_settings(params.initialization_options, os.environ)
        if settings.api_key is not None:
            add_secret(settings.api_key.get_secret_value())
        server.pending_messages = warnings
        server.app = StepForge(
            settings,
            notify=server.notify_wire,
            show_warning=server.show_warning,
            watch=settings.watch,
            publish_diagnostics=server.publish_problems,
        )

    @server.feature(types.INITIALIZED)
    def initialized(params: types.InitializedParams) -> None:
        """Show the configuration problems found at initialize; start watching the root folder."""
        for message in server.pending_messages:
            server.show_warning(message)
        server.pending_messages = []
        if server.app is not None:
            server.app.start_background(server.app.previews.reap_orphans)
        if server.app is not None and server.app.watch:
            try:
                server.app.session(server.root(None))
            except StepForgeError:
                pass  # no root folder: sessions start with the first request that names one

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(params: types.DidSaveTextDocumentParams) -> None:
        """The editor saved a file: check again, as when the disk watcher sees it (both are hints;
        the file's hash decides, and re-checks are debounced into one)."""
        root = server.workspace_root_of(params.text_document.uri)
        app = server.app
        if app is None or root is None:
            return
        path = Path(workspace_path(params.text_document.uri))
        if root not in path.parents:
            return
        relative = path.relative_to(root).as_posix()
        app.start_background(lambda: app.document_saved(root, relative))

    @server.feature(types.SHUTDOWN)
    async def shutdown(params: None) -> None:
        """Stop this session's previews, its watchers, its LLM connections."""
        if server.app is not None:
            await server.app.aclose()

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]),
    )
    def code_action(params: types.CodeActionParams) -> list[types.CodeAction] | None:
        """Offer "Regenerate to fix" for StepForge's diagnostics."""
        return diagnostics.quick_fixes(params, server.workspace_root_of(params.text_document.uri))

    for method, endpoint in endpoints().items():
        handler = make_handler(server, method, endpoint)
        server.feature(method)(handler)
        server.command(methods.command_name(method))(handler)

    return server
