"""Groq's free tier, compressed: 8,000 tokens per 6-second window instead of per minute (so a run
takes seconds, not minutes), prefix caching modelled as Groq does it (cached prompt tokens are not
counted toward the limit), the fake server's latency model, through a real daemon.

For the 24-file task manager and the 60-file synthetic app:
- wall time / lower bound, where the bound is the tokens that count (prompt minus cached, plus
  completion) divided by the limit's rate, plus the latency of the critical path (and against a
  tighter bound: the larger of the two, the first window's tokens free);
- the cached share of prompt tokens;
- uncached prompt tokens of the 60-file app against the naive approach (the plan and every earlier
  file in full, nothing cached), both counted with StepForge's own estimator.

Run: .venv/bin/python -m bench.free_tier   (writes bench/results/free_tier.json)
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import daemon_environment, write_results
from bench.generation import LATENCY, dag_critical_path_seconds, naive_prompt_tokens
from protocol import methods
from server.client import DaemonClient
from server.llm.tokens import estimate_tokens
from tests.fake_groq import AppResponder, FakeGroq, ScriptedApp
from tests.fake_groq.server import CHARS_PER_TOKEN

TPM = 8000
WINDOW = 6.0


async def run_app(name: str, app: ScriptedApp) -> dict[str, Any]:
    workspace = Path(tempfile.mkdtemp(prefix="stepforge-bench-free-"))
    with FakeGroq(
        AppResponder(app), latency=LATENCY, tpm_limit=TPM, tpm_window_seconds=WINDOW
    ) as fake:
        env = daemon_environment(fake)
        async with DaemonClient(workspace, env=env) as client:
            await client.request(methods.PLAN, {"request": f"the {name}"})
            await asyncio.sleep(WINDOW)  # a full bucket, as after a pause
            first = len(fake.served)
            began = time.monotonic()
            result = await client.request(methods.GENERATE, {"repair": False})
            wall = result["elapsedSeconds"]
            assert time.monotonic() - began >= wall
        calls = [s for s in fake.served[first:] if s.status == 200 and s.file_path]
        rate_limited = sum(1 for s in fake.served[first:] if s.status == 429)
    assert not result["failed"], result["failed"]
    prompt = sum(s.prompt_tokens for s in calls)
    cached = sum(s.cached_tokens for s in calls)
    completion = sum(s.completion_tokens for s in calls)
    counted = prompt - cached + completion
    critical = dag_critical_path_seconds(app)
    rate = TPM / WINDOW
    bound = counted / rate + critical
    # Tighter: the bucket starts full, and waiting for tokens overlaps the answers' latency.
    tight = max((counted - TPM) / rate, critical)
    uncached_estimate = sum(
        estimate_tokens(s.prompt[s.cached_tokens * CHARS_PER_TOKEN :]) for s in calls
    )
    return {
        "files": len(calls),
        "wall_seconds": round(wall, 2),
        "lower_bound_seconds": round(bound, 2),
        "wall_over_bound": round(wall / bound, 3),
        "critical_path_seconds": round(critical, 2),
        "tight_bound_seconds": round(tight, 2),
        "wall_over_tight_bound": round(wall / tight, 3),
        "prompt_tokens": prompt,
        "cached_tokens": cached,
        "cached_share": round(cached / prompt, 3),
        "counted_tokens": counted,
        "rate_limited_answers": rate_limited,
        "uncached_prompt_estimate": uncached_estimate,
    }


async def run() -> dict[str, Any]:
    task_manager = await run_app("task manager", ScriptedApp.fixture())
    synthetic_app = ScriptedApp.synthetic()
    synthetic = await run_app("synthetic app", synthetic_app)
    naive = naive_prompt_tokens(synthetic_app)
    synthetic["naive_prompt_tokens"] = naive
    synthetic["uncached_share_of_naive"] = round(synthetic["uncached_prompt_estimate"] / naive, 3)
    return {
        "tpm": TPM,
        "window_seconds": WINDOW,
        "task_manager": task_manager,
        "synthetic": synthetic,
    }


def main() -> None:
    write_results("free_tier", asyncio.run(run()))


if __name__ == "__main__":
    main()
