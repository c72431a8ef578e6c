"""Check-and-repair benchmark, through real daemons against the fake Groq server, the real
TypeScript compiler, ruff and Python interpreter (in the Docker runtime, as the preview):

- detection: the scripted app with a defect in 4 of its 25 files (`tests/fake_groq/defects.py`),
  generated without repair: precision and recall of the problems reported;
- repair cost: the same app generated with repair: repair tokens as a share of generation tokens,
  and which apps end with no problem (the defective one, the clean task manager, a synthetic app);
- check latency: a full check of the 24-file app warm (dependencies installed, the compiler's
  incremental state kept), and the re-check of one saved file (the fast tiers, then the full one).

Run: .venv/bin/python -m bench.checks   (needs Docker and the images; writes bench/results/checks.json)
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import daemon_environment, write_results
from protocol import methods
from protocol.plan import Plan
from server.checks.publisher import ProblemPublisher
from server.checks.service import Checker
from server.client import DaemonClient
from server.config import load_settings
from server.preview.service import PreviewService
from tests.conftest import container_network_env
from tests.fake_groq import AppResponder, FakeGroq, ScriptedApp
from tests.fake_groq.defects import DEFECTS, defective_responder

REQUEST = "a task manager with a dashboard and charts"


async def generate(
    responder: AppResponder, repair: bool, runtime_checks: bool = False
) -> tuple[Path, dict[str, Any]]:
    """Plan and generate the app in a new folder through a real daemon. The behaviour tier after
    generate (on for users) is off unless asked for: these figures are the static and tool tiers'."""
    workspace = Path(tempfile.mkdtemp(prefix="stepforge-bench-"))
    with FakeGroq(responder) as fake:
        env = {**daemon_environment(fake), **container_network_env()}
        env["STEPFORGE_RUNTIME_CHECKS"] = "1" if runtime_checks else "0"
        async with DaemonClient(workspace, env=env) as client:
            await client.request(methods.PLAN, {"request": REQUEST})
            result = await client.request(methods.GENERATE, {"repair": repair})
    return workspace, result


def tokens(usage: dict[str, int]) -> int:
    return usage.get("promptTokens", 0) + usage.get("completionTokens", 0)


async def check_latency(workspace: Path) -> dict[str, Any]:
    settings, _ = load_settings(None, container_network_env())
    plan = Plan.model_validate(json.loads((workspace / ".stepforge/plan.json").read_text()))
    checker = Checker(PreviewService(settings))
    published: list[float] = []
    publisher = ProblemPublisher(checker, lambda root, problems: published.append(time.monotonic()))
    try:
        await checker.check(workspace, plan)  # warms the checker container and the compiler
        full = []
        for _ in range(5):
            began = time.monotonic()
            await checker.check(workspace, plan)
            full.append(time.monotonic() - began)
        quick, complete = [], []
        page = workspace / "frontend/src/pages/Tasks.tsx"
        for round_ in range(5):
            page.write_text(page.read_text() + f"// saved {round_}\n")
            published.clear()
            began = time.monotonic()
            await publisher.recheck(workspace, plan, {"frontend/src/pages/Tasks.tsx"})
            # the debounce is part of the user's wait
            quick.append(published[0] - began)
            complete.append(published[-1] - began)
    finally:
        await checker.aclose()
    return {
        "full_check_warm_seconds": round(statistics.median(full), 2),
        "full_check_warm_max_seconds": round(max(full), 2),
        "saved_file_fast_tiers_seconds": round(statistics.median(quick), 2),
        "saved_file_all_tiers_seconds": round(statistics.median(complete), 2),
    }


async def run() -> dict[str, Any]:
    expected = {(d.path, d.line, d.code) for d in DEFECTS}
    _, plain = await generate(defective_responder(), repair=False)
    reported = {(p["path"], p["line"], p["code"]) for p in plain["problems"]}
    true_positives = reported & expected
    _, repaired = await generate(defective_responder(), repair=True)
    clean_workspace, clean = await generate(AppResponder(ScriptedApp.fixture()), repair=True)
    _, synthetic = await generate(AppResponder(ScriptedApp.synthetic(files=24)), repair=True)
    figures: dict[str, Any] = {
        "defects": len(expected),
        "reported": len(reported),
        "precision": round(len(true_positives) / len(reported), 3) if reported else 1.0,
        "recall": round(len(true_positives) / len(expected), 3),
        "generation_tokens": tokens(repaired["usage"]),
        "repair_tokens": tokens(repaired["repairUsage"]),
        "repair_share": round(tokens(repaired["repairUsage"]) / tokens(repaired["usage"]), 3),
        "repair_calls": repaired["repairUsage"]["calls"],
        "repaired_files": len(repaired["repaired"]),
        "apps_clean": {
            "defective task manager": not repaired["problems"],
            "task manager": not clean["problems"],
            "synthetic (24 modules)": not synthetic["problems"],
        },
    }
    figures.update(await check_latency(clean_workspace))
    figures["app_files"] = len(Plan.model_validate(ScriptedApp.fixture().plan).file_paths())
    return figures


def main() -> None:
    write_results("checks", asyncio.run(run()))


if __name__ == "__main__":
    main()
