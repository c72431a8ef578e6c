"""`textDocument/didSave` re-checks the project, besides the disk watcher: with the watcher off, a
save the editor reports still brings the diagnostics within a moment."""

from __future__ import annotations

import asyncio
import time

import pytest
from lsprotocol import types

from tests.conftest import daemon_env, start_lsp

pytestmark = pytest.mark.slow


async def test_a_reported_save_rechecks_without_the_watcher(fake_groq, generated):
    client = await start_lsp(daemon_env(fake_groq), generated, options={"watch": False})
    try:
        hook = generated / "frontend/src/hooks/useStats.ts"
        hook.write_text(hook.read_text().replace("fetchStats", "fetchStatz"))
        uri = hook.as_uri()
        await asyncio.sleep(1.0)  # the watcher is off: nothing may have come from the disk
        assert not client.diagnostics.get(uri)
        client.text_document_did_save(
            types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
        )
        deadline = time.monotonic() + 30
        while not any(d.code == "import-missing-export" for d in client.diagnostics.get(uri, [])):
            assert time.monotonic() < deadline, "no diagnostics after the save"
            await asyncio.sleep(0.1)
    finally:
        await client.shutdown_session()
