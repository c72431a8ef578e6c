"""The extension in real VS Code (code-server, driven by Chromium), against the fake Groq server
with its latency model (0.3 s to the first token, 400 tokens/s):

- extension activation to daemon ready (the extension logs it), on the first window load (cold)
  and on reloads (warm: code-server and the daemon's Python files in the page cache);
- "Plan a New App" confirmed to the plan shown in the StepForge Files tree.

Run: .venv/bin/python -m bench.vscode   (needs scripts/setup's code-server and the packaged .vsix;
writes bench/results/vscode.json)
"""

from __future__ import annotations

import re
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import write_results
from tests.conftest import daemon_env
from tests.e2e.code_server import CodeServer, open_vscode
from tests.fake_groq import AppResponder, FakeGroq, ScriptedApp
from tests.fake_groq.server import Latency

READY = re.compile(r"daemon ready (\d+) ms after activation")
RELOADS = 5


def readiness(server: CodeServer) -> list[int]:
    return [int(m) for m in READY.findall(server.extension_log())]


def run() -> dict[str, Any]:
    home = Path(tempfile.mkdtemp(prefix="stepforge-bench-vscode-"))
    workspace = home / "project"
    workspace.mkdir()
    latency = Latency(first_token_seconds=0.3, tokens_per_second=400)
    with FakeGroq(AppResponder(ScriptedApp.fixture()), latency=latency) as fake:
        env = daemon_env(fake)
        server = CodeServer.running(home / "code-server", env)
        try:
            with open_vscode(server, workspace, "bench") as workbench:
                page = workbench.page
                view = workbench.files_view()
                deadline = time.monotonic() + 60
                while not readiness(server) and time.monotonic() < deadline:
                    time.sleep(0.2)
                for _ in range(RELOADS):
                    count = len(readiness(server))
                    page.reload()
                    workbench.wait_ready()
                    deadline = time.monotonic() + 60
                    while len(readiness(server)) == count and time.monotonic() < deadline:
                        time.sleep(0.1)
                view = workbench.files_view()
                workbench.command("StepForge: Plan a New App")
                widget = page.locator(".quick-input-widget")
                widget.wait_for(state="visible")
                widget.locator("input").fill("a task manager with a dashboard and charts")
                started = time.monotonic()
                widget.locator("input").press("Enter")
                view.locator(".monaco-list-row", has_text="Step 1: model").wait_for(timeout=120_000)
                plan_to_tree = time.monotonic() - started
        finally:
            server.stop()
        plan_call = next(s for s in fake.served if "planner" in s.prompt)
    times = readiness(server)
    return {
        "activation_to_ready_cold_ms": times[0],
        "activation_to_ready_warm_ms": round(statistics.median(times[1:])),
        "activation_to_ready_warm_max_ms": max(times[1:]),
        "warm_samples": len(times) - 1,
        "plan_confirmed_to_tree_seconds": round(plan_to_tree, 2),
        "plan_llm_seconds": round(plan_call.finished - plan_call.started, 2),
    }


def main() -> None:
    write_results("vscode", run())


if __name__ == "__main__":
    main()
