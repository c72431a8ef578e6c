"""Writes BENCHMARKS.md from the figures in bench/results/ (run the benchmarks first).

Run: .venv/bin/python -m bench.report
"""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).with_name("results")


def _load(name: str) -> dict | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def generation_section(g: dict) -> str:
    rows = [
        (
            "Wall time / critical-path bound (sum of the slowest file of each step)",
            f"{g['wall_seconds']} s / {g['critical_path_seconds']} s = **{g['wall_over_critical_path']}**",
            "≤ 1.2",
            _verdict(g["wall_over_critical_path"] <= 1.2),
        ),
        (
            "Wall time / longest chain of `depends_on` (a tighter bound)",
            f"{g['wall_seconds']} s / {g['dependency_chain_seconds']} s = {g['wall_over_dependency_chain']}",
            "(reported)",
            "",
        ),
        (
            f"Speed-up over one file at a time (concurrency {g['concurrency']} = widest step)",
            f"{g.get('sequential_wall_seconds', '?')} s / {g['wall_seconds']} s = **{g.get('speedup_over_sequential', '?')}x**",
            "≥ 4x",
            _verdict(g.get("speedup_over_sequential", 0) >= 4),
        ),
        (
            "Prompt tokens / naive (plan + every earlier file in full)",
            f"{g['prompt_tokens']:,} / {g['naive_prompt_tokens']:,} = **{g['prompt_share_of_naive']:.1%}**",
            "≤ 30%",
            _verdict(g["prompt_share_of_naive"] <= 0.30),
        ),
        (
            "The same plan without `depends_on` (every file of the previous step in full; simulated)",
            f"{g['without_depends_on_prompt_share_of_naive']:.1%} of naive, largest prompt "
            f"{g['without_depends_on_largest_prompt_tokens']:,}",
            "(reported)",
            "",
        ),
        (
            "Largest prompt / prompt budget",
            f"{g['largest_prompt_tokens']:,} / {g['prompt_budget']:,}",
            "≤ budget",
            _verdict(g["largest_prompt_tokens"] <= g["prompt_budget"]),
        ),
        (
            f"`stepforge/status` while generating ({g['status_requests']} requests)",
            f"p50 {g['status_p50_ms']} ms, **p99 {g['status_p99_ms']} ms**",
            "p99 < 50 ms",
            _verdict(g["status_p99_ms"] < 50),
        ),
        (
            "Daemon resident memory during the run (max)",
            f"**{g['daemon_rss_max_mb']} MB**",
            "< 150 MB",
            _verdict(g["daemon_rss_max_mb"] < 150),
        ),
    ]
    table = "\n".join(f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows)
    return f"""## Generation

Command: `.venv/bin/python -m bench.generation` (about 4 minutes; `--no-sequential` skips the
one-file-at-a-time run). Measured {g["measured"]} on {g["machine"]}.

A synthetic plan of {g["files"]} TypeScript modules in {g["steps"]} steps (each importing 2 modules of the
previous step, named in `depends_on`), answered by the project's fake Groq server with its latency
model: 0.3 s to the first token, 400 tokens/s, answers of 300-1500 tokens. A real daemon over stdio
plans, then generates; a client asks `stepforge/status` every 20 ms meanwhile and samples the
daemon's VmRSS. Token counts use StepForge's own (pessimistic) estimator on both sides.

| Figure | Measured | Target | |
|---|---|---|---|
{table}
"""


def preview_section(p: dict) -> str:
    rows = []
    for runtime in ("docker", "local"):
        if runtime in p:
            r = p[runtime]
            rows.append(
                f"| {runtime} | {r['cold_seconds']} s | **{r['warm_seconds_median']} s** (max {r['warm_seconds_max']} s, "
                f"{r['warm_runs']} runs) | < 5 s | {_verdict(r['warm_seconds_max'] < 5)} |"
            )
    table = "\n".join(rows)
    return f"""## Preview start

Command: `.venv/bin/python -m bench.preview` (needs the images: `stepforge images build`).
Measured {p["measured"]} on {p["machine"]}.

From the `stepforge/preview/start` request to its answer, which comes when both URLs answer HTTP 200
(the benchmark checks them again). Cold: no dependencies installed (docker: the dependency volumes
removed; local: no node_modules, no venv), so npm and uv download and install. Warm: images built,
dependencies cached, the second and later starts.

| Runtime | Cold start | Warm start | Target (warm) | |
|---|---|---|---|---|
{table}
"""


def main() -> None:
    sections = [
        "# Benchmarks\n\nFigures written by `.venv/bin/python -m bench.report` from `bench/results/*.json`;\n"
        "each section names the command that measures it.\n"
    ]
    generation = _load("generation")
    preview = _load("preview")
    if generation:
        sections.append(generation_section(generation))
    if preview:
        sections.append(preview_section(preview))
    (ROOT / "BENCHMARKS.md").write_text("\n".join(sections))
    print((ROOT / "BENCHMARKS.md").read_text())


if __name__ == "__main__":
    main()
