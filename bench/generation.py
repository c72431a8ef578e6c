"""Generation benchmark: a synthetic plan of 60 files in 6 steps against the fake Groq server's
latency model (0.3 s to first token, 400 tokens/s, answers of 300-1500 tokens), through a real
daemon over stdio, as `stepforge generate` drives it.

Measures: wall time against the critical-path bound and against one file at a time; prompt tokens
against the naive approach (plan plus every earlier file in full) and against the prompt budget;
`stepforge/status` latency while generating; the daemon's resident memory.

Run: .venv/bin/python -m bench.generation   (writes bench/results/generation.json)
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import daemon_environment, write_results
from protocol import methods
from protocol.plan import Plan
from server import prompts
from server.client import DaemonClient
from server.config import DEFAULT_MODEL, Settings
from server.generation.context import SourceFile, build_file_prompt
from server.generation.generator import CALIBRATION_MARGIN
from server.llm.tokens import BYTES_PER_TOKEN, estimate_tokens
from server.plan import dag
from tests.fake_groq import AppResponder, FakeGroq, Latency, ScriptedApp, fake_tokens, fenced
from tests.fake_groq.server import CHARS_PER_TOKEN

LATENCY = Latency(first_token_seconds=0.3, tokens_per_second=400, chunk_tokens=16)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def generate_once(fake: FakeGroq, concurrency: int, probe: bool) -> dict[str, Any]:
    """Plan (not timed), then generate with `concurrency`, probing status and memory meanwhile."""
    workspace = Path(tempfile.mkdtemp(prefix="stepforge-bench-"))
    env = daemon_environment(fake)
    async with DaemonClient(workspace, env=env) as client:
        await client.request(methods.PLAN, {"request": "a synthetic benchmark app"})
    served_before = len(fake.served)
    status_ms: list[float] = []
    rss: list[float] = []
    async with DaemonClient(workspace, env=env) as client:
        pid = client._client._server.pid  # type: ignore[union-attr]
        started = time.perf_counter()
        generating = asyncio.ensure_future(
            client.request(methods.GENERATE, {"concurrency": concurrency, "repair": False})
        )
        while probe and not generating.done():
            begin = time.perf_counter()
            await client.request(methods.STATUS, {})
            status_ms.append((time.perf_counter() - begin) * 1000)
            rss.append(rss_mb(pid))
            await asyncio.sleep(0.02)
        result = await generating
        # The generation's own time: the check after it (the compiler's first run in a fresh
        # workspace installs its dependencies) is measured by bench.checks.
        wall = result["elapsedSeconds"]
        assert time.perf_counter() - started >= wall
    assert not result["failed"] and len(result["written"]) == 60, result
    return {
        "workspace": str(workspace),
        "wall_seconds": wall,
        "server_seconds": result["elapsedSeconds"],
        "prompts": [s.prompt for s in fake.served[served_before:] if "file writer" in s.prompt],
        "status_ms": status_ms,
        "rss_mb": rss,
        "usage": result["usage"],
    }


def critical_path_seconds(app: ScriptedApp) -> float:
    """The sum over steps of the slowest file in each: the bound no scheduler can beat."""
    plan = Plan.model_validate(app.plan)

    def seconds(path: str) -> float:
        return LATENCY.first_token_seconds + fake_tokens(fenced(path, app.files[path])) / (
            LATENCY.tokens_per_second or 1
        )

    return sum(max(seconds(p) for p in step) for step in dag.steps(plan))


def dag_critical_path_seconds(app: ScriptedApp) -> float:
    """The longest chain of dependent files (with `depends_on`, a file need not wait for its whole
    previous step, so this bound is tighter than the steps' one)."""
    plan = Plan.model_validate(app.plan)
    deps = dag.dependencies(plan)
    finish: dict[str, float] = {}
    for step in dag.steps(plan):
        for path in step:
            duration = LATENCY.first_token_seconds + fake_tokens(fenced(path, app.files[path])) / (
                LATENCY.tokens_per_second or 1
            )
            finish[path] = max((finish[d] for d in deps[path]), default=0.0) + duration
    return max(finish.values())


def naive_prompt_tokens(app: ScriptedApp) -> int:
    """Each file's prompt with the plan and every earlier file in full (no budget)."""
    plan = Plan.model_validate(app.plan)
    template = prompts.load("file", None)
    order = [p for step in dag.steps(plan) for p in step]
    total = 0
    for index, path in enumerate(order):
        earlier = [SourceFile(p, app.files[p]) for p in order[:index]]
        prompt = build_file_prompt(
            template=template,
            path=path,
            plan=plan.to_document(),
            request="a synthetic benchmark app",
            budget=10**9,
            direct=earlier,
            others=[],
        )
        total += prompt.tokens
    return total


def daemon_budget(settings: Settings) -> int:
    """The prompt budget in estimated tokens, as the daemon sets it once it has learned how many
    real tokens (the test server's) an estimated one is."""
    real_per_estimated = BYTES_PER_TOKEN / CHARS_PER_TOKEN * CALIBRATION_MARGIN
    return int(settings.prompt_budget / real_per_estimated)


def simulated_prompt_tokens(app: ScriptedApp, budget: int) -> tuple[int, int]:
    """(total, largest) prompt tokens the context builder gives this plan, files in step order,
    without running anything: for plans the daemon did not generate (no `depends_on`)."""
    plan = Plan.model_validate(app.plan)
    deps = dag.dependencies(plan)
    template = prompts.load("file", None)
    order = [p for step in dag.steps(plan) for p in step]
    sizes = []
    for index, path in enumerate(order):
        direct = [SourceFile(p, app.files[p]) for p in deps[path]]
        others = [
            SourceFile(p, app.files[p]) for p in reversed(order[:index]) if p not in deps[path]
        ]
        prompt = build_file_prompt(
            template=template,
            path=path,
            plan=plan.to_document(),
            request="a synthetic benchmark app",
            budget=budget,
            direct=direct,
            others=others,
        )
        sizes.append(prompt.tokens)
    return sum(sizes), max(sizes)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def run(sequential: bool) -> dict[str, Any]:
    app = ScriptedApp.synthetic()
    widest = max(len(step) for step in dag.steps(Plan.model_validate(app.plan)))
    with FakeGroq(AppResponder(app), latency=LATENCY) as fake:
        # The daemon reads the model's window and output limit from the models endpoint.
        window, max_output = fake.model_limits[DEFAULT_MODEL]
        settings = Settings(context_window=window, max_output_tokens=max_output)
        parallel = await generate_once(fake, widest, probe=True)
        one_at_a_time = await generate_once(fake, 1, probe=False) if sequential else None
    bound = critical_path_seconds(app)
    prompt_tokens = [estimate_tokens(p) for p in parallel["prompts"]]
    naive = naive_prompt_tokens(app)
    figures: dict[str, Any] = {
        "files": 60,
        "steps": 6,
        "concurrency": widest,
        "critical_path_seconds": round(bound, 2),
        "wall_seconds": round(parallel["wall_seconds"], 2),
        "wall_over_critical_path": round(parallel["wall_seconds"] / bound, 3),
        "dependency_chain_seconds": round(dag_critical_path_seconds(app), 2),
        "wall_over_dependency_chain": round(
            parallel["wall_seconds"] / dag_critical_path_seconds(app), 3
        ),
        "prompt_tokens": sum(prompt_tokens),
        "naive_prompt_tokens": naive,
        "prompt_share_of_naive": round(sum(prompt_tokens) / naive, 3),
        "largest_prompt_tokens": max(prompt_tokens),
        "prompt_budget": settings.prompt_budget,
        "status_requests": len(parallel["status_ms"]),
        "status_p50_ms": round(statistics.median(parallel["status_ms"]), 2),
        "status_p99_ms": round(percentile(parallel["status_ms"], 0.99), 2),
        "daemon_rss_max_mb": round(max(parallel["rss_mb"]), 1),
    }
    # The same plan without `depends_on`: every file of the previous step is a direct dependency,
    # shown in full. Simulated with the same context builder (the daemon's prompts are the same).
    without = ScriptedApp.synthetic(depends_on=0)
    total, largest = simulated_prompt_tokens(without, daemon_budget(settings))
    figures["without_depends_on_prompt_share_of_naive"] = round(
        total / naive_prompt_tokens(without), 3
    )
    figures["without_depends_on_largest_prompt_tokens"] = largest
    if one_at_a_time is not None:
        figures["sequential_wall_seconds"] = round(one_at_a_time["wall_seconds"], 2)
        figures["speedup_over_sequential"] = round(
            one_at_a_time["wall_seconds"] / parallel["wall_seconds"], 2
        )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--no-sequential",
        action="store_true",
        help="skip the one-file-at-a-time run (about 3 minutes)",
    )
    args = parser.parse_args()
    write_results("generation", asyncio.run(run(sequential=not args.no_sequential)))


if __name__ == "__main__":
    main()
