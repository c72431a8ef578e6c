"""Change benchmark: a one-page change to the 60-file synthetic app through a real daemon: one new
module (the page) that uses a module it also modifies. Measures the LLM calls the change makes
against the files it touches, and its prompt tokens against generating the app from scratch (the
provider's counts on both sides).

Run: .venv/bin/python -m bench.change   (writes bench/results/change.json)
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path
from typing import Any

from bench.common import daemon_environment, write_results
from protocol import methods
from server.client import DaemonClient
from tests.fake_groq import AppResponder, FakeGroq, ScriptedApp
from tests.fake_groq.server import ChatRequest

PAGE = "frontend/src/modules/step7/page060.ts"


def change_for(app: ScriptedApp) -> tuple[dict[str, Any], str, str, str]:
    """The delta, the modified module, its new text, the page's text."""
    modified = sorted(p for p in app.files if "/step6/" in p)[0]
    number = int(modified[-6:-3])
    page = (
        f'import {{ run{number}, pick{number} }} from "../step6/{Path(modified).stem}";\n\n'
        f"export function page060(): number {{\n  return run{number}() + pick{number}();\n}}\n"
    )
    new_text = (
        app.files[modified]
        + f"\nexport function pick{number}(): number {{\n  return {number};\n}}\n"
    )
    delta = {
        "summary": "a summary page",
        "add_files": [{"path": PAGE, "purpose": "the summary page", "depends_on": [modified]}],
        "modify_files": [{"path": modified, "change": f"export pick{number}() for the page"}],
    }
    return delta, modified, new_text, page


async def run() -> dict[str, Any]:
    app = ScriptedApp.synthetic()
    delta, modified, new_text, page = change_for(app)
    responder = AppResponder(app)
    responder.delta_replies.append(json.dumps(delta))
    responder.overrides[PAGE] = page
    original = app.files[modified]
    responder.overrides[modified] = lambda request: (
        new_text if "Instructions for this version" in request.prompt else original
    )
    workspace = Path(tempfile.mkdtemp(prefix="stepforge-bench-change-"))
    with FakeGroq(responder) as fake:
        env = daemon_environment(fake)
        async with DaemonClient(workspace, env=env) as client:
            await client.request(methods.PLAN, {"request": "a synthetic benchmark app"})
            first = len(fake.served)
            await client.request(methods.GENERATE, {"repair": False})
            scratch = fake.served[first:]
            first = len(fake.served)
            result = await client.request(
                methods.CHANGE, {"request": "add a summary page", "repair": False}
            )
            changed = fake.served[first:]
    assert set(result["written"]) == {PAGE, modified}, result
    scratch_prompt = sum(s.prompt_tokens for s in scratch)
    change_prompt = sum(s.prompt_tokens for s in changed)
    delta_call = next(s for s in changed if "change planner" in s.prompt)

    def is_change(served: ChatRequest | Any) -> bool:
        return "change planner" in served.prompt

    return {
        "app_files": len(app.files),
        "files_touched": 2,
        "llm_calls": len(changed),
        "delta_call_prompt_tokens": delta_call.prompt_tokens,
        "change_prompt_tokens": change_prompt,
        "from_scratch_prompt_tokens": scratch_prompt,
        "change_share_of_scratch": round(change_prompt / scratch_prompt, 3),
        "change_uncached_prompt_tokens": sum(s.prompt_tokens - s.cached_tokens for s in changed),
        "delta_calls": sum(1 for s in changed if is_change(s)),
    }


def main() -> None:
    write_results("change", asyncio.run(run()))


if __name__ == "__main__":
    main()
