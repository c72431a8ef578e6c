"""Behaviour-tier benchmark, through real daemons against the fake Groq server, the app's real
backend in the Docker sandbox (scratch database) and the real Schemathesis:

- time: the behaviour tier alone on the 24-file task manager, warm (its dependency volume filled,
  the image cached): median of 3 runs after a first one;
- detection: the task manager whose first answers for two router files carry four behaviour
  defects (`tests/fake_groq/behaviour_defects.py`), generated without repair, then the tier run:
  precision and recall of its findings (file, line of the endpoint's decorator, problem code);
- repair cost: the same app generated with repair and the runtime checks on: repair tokens as a
  share of generation tokens, and whether it ends with no problem.

Run: .venv/bin/python -m bench.behaviour   (needs Docker and the images; writes
bench/results/behaviour.json; `python -m bench.report` puts it in BENCHMARKS.md)
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

from bench.checks import generate, tokens
from bench.common import write_results
from protocol.plan import Plan
from server.checks import behaviour
from server.checks.project import load_project
from server.config import load_settings
from server.preview.docker_runtime import DockerRuntime
from server.preview.owner import current_owner
from tests.conftest import container_network_env
from tests.fake_groq import AppResponder, ScriptedApp
from tests.fake_groq.behaviour_defects import DEFECTS, behaviour_responder, decorator_line

RUNS = 3


async def tier(workspace: Path) -> tuple[float, list[Any]]:
    settings, _ = load_settings(None, container_network_env())
    plan = Plan.model_validate(json.loads((workspace / ".stepforge/plan.json").read_text()))
    project = load_project(workspace, plan)
    runtime = DockerRuntime(settings.frontend_image, settings.backend_image, [])
    where = behaviour.Where(runtime, current_owner(), settings.container_env)
    began = time.monotonic()
    found = await behaviour.run(workspace, project, where)
    return time.monotonic() - began, found


async def run() -> dict[str, Any]:
    load_before = os.getloadavg()[1]
    clean_workspace, _ = await generate(AppResponder(ScriptedApp.fixture()), repair=False)
    await tier(clean_workspace)  # warms the image's page cache and the dependency volume
    times, clean_findings = [], 0
    for _ in range(RUNS):
        seconds, found = await tier(clean_workspace)
        times.append(seconds)
        clean_findings += len(found)

    responder = behaviour_responder()
    defective_workspace, _ = await generate(responder, repair=False)
    expected = {
        (d.path, decorator_line((defective_workspace / d.path).read_text(), d.decorator), d.code)
        for d in DEFECTS
    }
    _, found = await tier(defective_workspace)
    reported = {(p.path, p.line, p.code) for p in found}
    true_positives = reported & expected

    _, repaired = await generate(behaviour_responder(), repair=True, runtime_checks=True)
    return {
        "app_files": len(Plan.model_validate(ScriptedApp.fixture().plan).file_paths()),
        "tier_warm_seconds": round(statistics.median(times), 2),
        "tier_warm_max_seconds": round(max(times), 2),
        "runs": RUNS,
        "clean_findings": clean_findings,
        "defects": len(expected),
        "reported": len(reported),
        "precision": round(len(true_positives) / len(reported), 3) if reported else 1.0,
        "recall": round(len(true_positives) / len(expected), 3),
        "generation_tokens": tokens(repaired["usage"]),
        "repair_tokens": tokens(repaired["repairUsage"]),
        "repair_share": round(tokens(repaired["repairUsage"]) / tokens(repaired["usage"]), 3),
        "repaired_files": sorted(repaired["repaired"]),
        "repaired_app_clean": not repaired["problems"],
        "load_average": [round(load_before, 1), round(os.getloadavg()[1], 1)],
    }


def section(b: dict[str, Any]) -> str:
    """The BENCHMARKS.md section (bench.report calls it)."""

    def verdict(ok: bool) -> str:
        return "met" if ok else "**not met**"

    rows = [
        (
            f"Behaviour tier on the {b['app_files']}-file task manager, warm (median of "
            f"{b['runs']})",
            f"**{b['tier_warm_seconds']} s** (max {b['tier_warm_max_seconds']} s)",
            "< 15 s",
            verdict(b["tier_warm_seconds"] < 15),
        ),
        (
            "Findings on the clean task manager (all runs)",
            f"**{b['clean_findings']}**",
            "0",
            verdict(b["clean_findings"] == 0),
        ),
        (
            f"Detection on the defective app ({b['defects']} defects in 2 router files)",
            f"precision **{b['precision']:.0%}**, recall **{b['recall']:.0%}** "
            f"({b['reported']} reported)",
            "100% / 100%",
            verdict(b["precision"] == 1 and b["recall"] == 1),
        ),
        (
            "Repair tokens / generation tokens (behaviour defects)",
            f"{b['repair_tokens']:,} / {b['generation_tokens']:,} = **{b['repair_share']:.1%}** "
            f"({len(b['repaired_files'])} files)",
            "≤ 15%",
            verdict(b["repair_share"] <= 0.15),
        ),
        (
            "The defective app ends with no problem after repair",
            "yes" if b["repaired_app_clean"] else "**no**",
            "yes",
            verdict(b["repaired_app_clean"]),
        ),
    ]
    table = "\n".join(f"| {a} | {m} | {t} | {v} |" for a, m, t, v in rows)
    load = b.get("load_average")
    loaded = (
        f" The machine's 5-minute load average was {load[0]} before and {load[1]} after"
        " (other sessions shared its cores)."
        if load
        else ""
    )
    return f"""## Behaviour checks

Command: `.venv/bin/python -m bench.behaviour` (needs Docker and the images; a few minutes).
Measured {b["measured"]} on {b["machine"]}.

The behaviour tier (`server.checks.behaviour`) alone: the app's backend started for it in the
Docker sandbox on a scratch database, the round trips from the plan (create, read by list and by
id, update, a restart of the backend, delete), then the API contract from its OpenAPI schema
(Schemathesis, 10 examples an operation and as many with real ids). The defective app's first
answers store nothing on create, raise on a real id, delete nothing and answer off their
response_model (`tests/fake_groq/behaviour_defects.py`).{loaded}

| Figure | Measured | Target | |
|---|---|---|---|
{table}
"""


def main() -> None:
    write_results("behaviour", asyncio.run(run()))


if __name__ == "__main__":
    main()
