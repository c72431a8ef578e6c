"""Problems where the user works, through a real LSP session (pytest-lsp over stdio): diagnostics
after a check, the "Regenerate to fix" quick fix, its command, and the re-check after a save."""

from __future__ import annotations

import asyncio
import time

import pytest
from lsprotocol import types

from tests.conftest import require_docker
from tests.fake_groq import AppResponder
from tests.fake_groq.defects import DEFECTS, defective_responder

pytestmark = pytest.mark.slow
REQUEST = "a task manager with a dashboard and charts"
CARD = "frontend/src/components/TaskCard.tsx"


@pytest.fixture
def responder() -> AppResponder:
    return defective_responder()


def request(client, method, params):
    return asyncio.wrap_future(client.protocol.send_request(method, params))


async def code_actions(client, uri: str, diagnostics: list[types.Diagnostic]) -> list[dict]:
    """textDocument/codeAction, its answer as sent (pygls's client would read a CodeAction as a
    Command: the union in lsprotocol's types)."""
    msg_id = f"code-action-{time.monotonic_ns()}"
    params = types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        range=diagnostics[0].range
        if diagnostics
        else types.Range(
            start=types.Position(line=0, character=0), end=types.Position(line=0, character=0)
        ),
        context=types.CodeActionContext(diagnostics=diagnostics),
    )
    future = client.protocol.send_request("textDocument/codeAction", params, msg_id=msg_id)
    client.protocol._result_types.pop(msg_id, None)  # keep the JSON
    return await asyncio.wrap_future(future) or []


def cleared(client, uri: str) -> bool:
    """Diagnostics were published for `uri`, and the last list was empty."""
    return uri in client.diagnostics and len(client.diagnostics[uri]) == 0


async def wait_until(predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.1)


async def test_diagnostics_quick_fix_and_recheck_on_save(lsp, workspace, fake_groq):
    require_docker()
    await request(lsp, "stepforge/plan", {"request": REQUEST})
    result = await request(lsp, "stepforge/generate", {"repair": False})
    assert len(result["problems"]) == len(DEFECTS)

    uri = {d.path: (workspace / d.path).as_uri() for d in DEFECTS}
    await wait_until(lambda: all(lsp.diagnostics.get(u) for u in uri.values()))
    for defect in DEFECTS:
        [diagnostic] = lsp.diagnostics[uri[defect.path]]
        assert diagnostic.source == "stepforge" and diagnostic.code == defect.code
        assert diagnostic.range.start.line == defect.line - 1
        assert diagnostic.severity == types.DiagnosticSeverity.Error
    card = lsp.diagnostics[uri[CARD]][0]
    assert card.range.end.character > card.range.start.character or card.code == "TS2339"

    [fix] = await code_actions(lsp, uri[CARD], [card])
    assert fix["title"] == "Regenerate to fix" and fix["kind"] == "quickfix"
    assert fix["isPreferred"] is True and fix["diagnostics"][0]["code"] == "TS2339"
    assert fix["command"]["command"] == "stepforge.regenerateFile"
    [argument] = fix["command"]["arguments"]
    assert argument["path"] == uri[CARD] and "Property 'name'" in argument["instructions"]

    # The quick fix's command, as the editor runs it.
    outcome = await lsp.workspace_execute_command_async(
        types.ExecuteCommandParams(
            command=fix["command"]["command"], arguments=fix["command"]["arguments"]
        )
    )
    assert outcome["outcome"] == "written"
    assert "{task.title}" in (workspace / CARD).read_text()
    # The watcher sees the new file: the check runs again and clears its diagnostics.
    await wait_until(lambda: cleared(lsp, uri[CARD]), timeout=90)
    assert lsp.diagnostics[uri["backend/routers/projects.py"]]  # the others stay

    # A user's save that breaks an import is a diagnostic within a moment (the fast tiers).
    hook = workspace / "frontend/src/hooks/useStats.ts"
    hook.write_text(hook.read_text().replace("fetchStats", "fetchStatz"))
    started = time.monotonic()
    await wait_until(
        lambda: any(
            d.code == "import-missing-export" for d in lsp.diagnostics.get(hook.as_uri(), [])
        ),
        timeout=30,
    )
    assert time.monotonic() - started < 10


async def test_no_quick_fix_for_other_diagnostics(lsp, workspace):
    other = types.Diagnostic(
        range=types.Range(
            start=types.Position(line=0, character=0), end=types.Position(line=0, character=1)
        ),
        message="something else",
        source="eslint",
    )
    (workspace / "x.ts").write_text("")
    assert await code_actions(lsp, (workspace / "x.ts").as_uri(), [other]) == []
