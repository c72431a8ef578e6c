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
            first = f"{r['new_project_seconds']} s" if "new_project_seconds" in r else "(as cold)"
            rows.append(
                f"| {runtime} | {r['cold_seconds']} s | {first} | **{r['warm_seconds_median']} s** (max {r['warm_seconds_max']} s, "
                f"{r['warm_runs']} runs) | < 5 s | {_verdict(r['warm_seconds_max'] < 5)} |"
            )
    table = "\n".join(rows)
    return f"""## Preview start

Command: `.venv/bin/python -m bench.preview` (needs the images: `stepforge images build`).
Measured {p["measured"]} on {p["machine"]}.

From the `stepforge/preview/start` request to its answer, which comes when both URLs answer HTTP 200
(the benchmark checks them again). Cold: no dependencies installed anywhere (docker: the project's
dependency volumes and the pristine copy of the template's removed; local: no node_modules, no
venv), so npm and uv download and install. New project: the project's volumes removed, the
pristine copy kept (what a new project meets once any project was previewed or checked): they are
filled by copying. Warm: the second and later starts.

| Runtime | Cold start | New project | Warm start | Target (warm) | |
|---|---|---|---|---|---|
{table}
"""


def _table(rows: list[tuple[str, str, str, str]]) -> str:
    return "\n".join(f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows)


def checks_section(c: dict) -> str:
    clean = c["apps_clean"]
    rows = [
        (
            f"Detection on the defective app ({c['defects']} defects in {c['app_files']} files)",
            f"precision **{c['precision']:.0%}**, recall **{c['recall']:.0%}** ({c['reported']} reported)",
            "100% / 100%",
            _verdict(c["precision"] == 1 and c["recall"] == 1),
        ),
        (
            "Repair tokens / generation tokens",
            f"{c['repair_tokens']:,} / {c['generation_tokens']:,} = **{c['repair_share']:.1%}** "
            f"({c['repair_calls']} calls, {c['repaired_files']} files)",
            "≤ 15%",
            _verdict(c["repair_share"] <= 0.15),
        ),
        (
            "Apps ending with no problem",
            ", ".join(f"{name}: {'yes' if ok else 'no'}" for name, ok in clean.items()),
            "all",
            _verdict(all(clean.values())),
        ),
        (
            "Full check of the 24-file app, warm (median of 5)",
            f"**{c['full_check_warm_seconds']} s** (max {c['full_check_warm_max_seconds']} s)",
            "< 3 s",
            _verdict(c["full_check_warm_max_seconds"] < 3),
        ),
        (
            "One saved file, to its first diagnostics (syntax, imports, contract, ruff; 0.3 s debounce included)",
            f"**{c['saved_file_fast_tiers_seconds']} s**",
            "< 1 s",
            _verdict(c["saved_file_fast_tiers_seconds"] < 1),
        ),
        (
            "One saved file, to the compiler's and the interpreter's verdict",
            f"{c['saved_file_all_tiers_seconds']} s",
            "(reported)",
            "",
        ),
    ]
    return f"""## Check and repair

Command: `.venv/bin/python -m bench.checks` (about 3 minutes; needs Docker and the images).
Measured {c["measured"]} on {c["machine"]}.

The task manager with the defects a real LLM writes in 4 of its 25 files (a missing named export, a
wrong property only the compiler sees, a Python import of a missing class, a call to an endpoint the
backend lacks; `tests/fake_groq/defects.py`), through a real daemon, the real TypeScript compiler,
ruff and Python interpreter in the Docker runtime. Tokens are the provider's counts.

| Figure | Measured | Target | |
|---|---|---|---|
{_table(rows)}
"""


def change_section(c: dict) -> str:
    rows = [
        (
            "LLM calls / files touched + 1",
            f"**{c['llm_calls']}** / {c['files_touched'] + 1}",
            "≤ files touched + 1",
            _verdict(c["llm_calls"] <= c["files_touched"] + 1),
        ),
        (
            "Prompt tokens of the change / generating the app from scratch",
            f"{c['change_prompt_tokens']:,} / {c['from_scratch_prompt_tokens']:,} = **{c['change_share_of_scratch']:.1%}**",
            "≤ 10%",
            _verdict(c["change_share_of_scratch"] <= 0.10),
        ),
        (
            "The delta call's prompt (the plan and outlines of 60 files)",
            f"{c['delta_call_prompt_tokens']:,} tokens",
            "(reported)",
            "",
        ),
    ]
    return f"""## Change

Command: `.venv/bin/python -m bench.change` (about 1 minute). Measured {c["measured"]} on {c["machine"]}.

A one-page change to the {c["app_files"]}-file synthetic app through a real daemon: one new module that
uses a module the change also modifies (2 files touched). Tokens are the provider's counts.

| Figure | Measured | Target | |
|---|---|---|---|
{_table(rows)}
"""


def free_tier_section(f: dict) -> str:
    rows = []
    for key, name in (("task_manager", "task manager"), ("synthetic", "synthetic app")):
        r = f[key]
        rows.append(
            (
                f"{name} ({r['files']} files): wall / (counted tokens ÷ rate + critical path)",
                f"{r['wall_seconds']} s / {r['lower_bound_seconds']} s = **{r['wall_over_bound']}**"
                + (
                    f" (tighter bound {r['tight_bound_seconds']} s: {r['wall_over_tight_bound']})"
                    if "tight_bound_seconds" in r
                    else ""
                ),
                "≤ 1.15",
                _verdict(r["wall_over_bound"] <= 1.15),
            )
        )
        rows.append(
            (
                f"{name}: cached share of prompt tokens",
                f"{r['cached_tokens']:,} / {r['prompt_tokens']:,} = **{r['cached_share']:.1%}** "
                f"({r['rate_limited_answers']} answers rate-limited)",
                "≥ 60%",
                _verdict(r["cached_share"] >= 0.60),
            )
        )
    s = f["synthetic"]
    rows.append(
        (
            "Uncached prompt tokens of the 60-file app / naive (plan + every earlier file, nothing cached)",
            f"{s['uncached_prompt_estimate']:,} / {s['naive_prompt_tokens']:,} = **{s['uncached_share_of_naive']:.1%}**",
            "≤ 15%",
            _verdict(s["uncached_share_of_naive"] <= 0.15),
        )
    )
    return f"""## Groq's free tier, compressed

Command: `.venv/bin/python -m bench.free_tier` (about 3 minutes, mostly the checks after each
generate). Measured {f["measured"]} on {f["machine"]}.

A limit of {f["tpm"]:,} tokens per {f["window_seconds"]:g}-second window (the free tier's 8,000 per
minute, ten times faster), prefix caching modelled as Groq does it (cached prompt tokens do not
count toward the limit), the latency model of the generation benchmark, through a real daemon. The
wall time is the generation's own (`elapsedSeconds`); tokens are the provider's counts, except the
comparison with the naive approach, which uses StepForge's estimator on both sides.

| Figure | Measured | Target | |
|---|---|---|---|
{_table(rows)}
"""


def vscode_section(v: dict) -> str:
    rows = [
        (
            f"Extension activation to daemon ready, warm (median of {v['warm_samples']} window reloads)",
            f"**{v['activation_to_ready_warm_ms']} ms** (max {v['activation_to_ready_warm_max_ms']} ms; "
            f"first load {v['activation_to_ready_cold_ms']} ms)",
            "< 1.5 s",
            _verdict(v["activation_to_ready_warm_max_ms"] < 1500),
        ),
        (
            "Plan a New App confirmed to the plan shown in the tree",
            f"**{v['plan_confirmed_to_tree_seconds']} s** (the LLM's answer: {v['plan_llm_seconds']} s)",
            "(reported)",
            "",
        ),
    ]
    return f"""## The extension in VS Code

Command: `.venv/bin/python -m bench.vscode` (needs scripts/setup's code-server and the .vsix).
Measured {v["measured"]} on {v["machine"]}.

code-server 4.139 (VS Code's web build) driven by Chromium through Playwright, the daemon over
stdio, the fake Groq server with its latency model (0.3 s to the first token, 400 tokens/s). The
extension logs the time from its activation to the daemon's `initialize` answer.

| Figure | Measured | Target | |
|---|---|---|---|
{_table(rows)}
"""


def template_section(t: dict) -> str:
    rows = [
        (
            "Template cold build (`vite build`, no dist, no Vite cache), with the kit / before",
            f"{t['cold_build_after_seconds']} s / {t['cold_build_before_seconds']} s = "
            f"**{t['cold_build_ratio']}**",
            "≤ 1.25",
            _verdict(t["cold_build_ratio"] <= 1.25),
        ),
        (
            "Template warm `tsc --noEmit --incremental`, with the kit / before",
            f"{t['warm_tsc_after_seconds']} s / {t['warm_tsc_before_seconds']} s = "
            f"**{t['warm_tsc_ratio']}**",
            "≤ 1.25",
            _verdict(t["warm_tsc_ratio"] <= 1.25),
        ),
    ]
    return f"""## The template with Tailwind and the kit

Command: `.venv/bin/python -m bench.template` (installs both templates' dependencies once).
Measured {t["measured"]} on {t["machine"]}.

The template alone (no generated files), before = the template of commit {t["baseline"]}
(no Tailwind, no kit), after = the template of the work tree; median of {t["runs"]} interleaved
runs of each{f", load average {t['load_average']} on the machine" if "load_average" in t else ""}.

| Figure | Measured | Target | |
|---|---|---|---|
{_table(rows)}
"""


def preview_ready_section(r: dict) -> str:
    own = r.get("first_own_page_seconds_median")
    rows = [
        (
            f"Plan to the first rendered page ({r['files']}-file app; median of {r['runs']} runs)",
            f"**{r['first_render_seconds_median']} s** (max {r['first_render_seconds_max']} s)",
            "< 5 s",
            _verdict(r["first_render_seconds_median"] < 5),
        ),
        (
            "Plan to both servers answering (`previewReadySeconds` of `new --json`)",
            f"{r['preview_ready_seconds_median']} s",
            "(reported)",
            "",
        ),
        (
            "Plan to the first page's own content (Vite's hot reload, instead of the placeholder)",
            f"{own} s" if own is not None else "not seen",
            "(reported)",
            "",
        ),
        (
            "Plan to the end of `new` (generated, checked): a preview started after generation",
            f"{r['new_done_seconds_median']} s",
            "(reported)",
            "",
        ),
    ]
    load = r.get("load_average")
    loaded = (
        f" The machine's 5-minute load average was {load[0]} before and {load[1]} after"
        " (other sessions shared its 2 cores)."
        if load
        else ""
    )
    sessions = r.get("sessions", [])
    if len(sessions) > 1:
        listed = "; ".join(
            f"{s['time']}: {s['first_render_seconds_median']} s to the first page, "
            f"{s['preview_ready_seconds_median']} s to both servers (median of {s['runs']}, load "
            f"{s['load_average'][0]}-{s['load_average'][1]})"
            for s in sessions
        )
        loaded += f" Every session so far: {listed}."
    if r.get("note"):
        loaded += f" {r['note']}"
    return f"""## The preview while the app is written

Command: `.venv/bin/python -m bench.preview_ready` (needs Docker and the images; about 1 minute a
run). Measured {r["measured"]} on {r["machine"]}.

`stepforge new "a task manager" --preview --json` with the scripted task manager, the fake Groq
server's latency model (0.3 s to the first token, 400 tokens/s) and the Docker runtime, each run
in a new project folder (the template's dependencies come from the pristine volumes). The plan
ends when `new` moves the planned project into its folder; the page is rendered when Chromium
(navigated as soon as the preview records its ports, retrying until it loads) shows the sidebar
with every planned page.{loaded}

| Figure | Measured | Target | |
|---|---|---|---|
{_table(rows)}
"""


def behaviour_section(b: dict) -> str:
    from bench.behaviour import section  # beside its benchmark

    return section(b)


def database_section(d: dict) -> str:
    from bench.database import section  # beside its benchmark

    return section(d)


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
    for name, section in (
        ("checks", checks_section),
        ("change", change_section),
        ("free_tier", free_tier_section),
        ("vscode", vscode_section),
        ("template", template_section),
        ("preview_ready", preview_ready_section),
        ("behaviour", behaviour_section),
        ("database", database_section),
    ):
        figures = _load(name)
        if figures:
            sections.append(section(figures))
    (ROOT / "BENCHMARKS.md").write_text("\n".join(sections))
    print((ROOT / "BENCHMARKS.md").read_text())


if __name__ == "__main__":
    main()
