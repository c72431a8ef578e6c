"""Postgres benchmark, docker runtime, the scripted task manager with `database: postgres`:

- cold start: a new project (generated, never previewed): `stepforge/preview/start` with
  `database: postgres` to both URLs answering; its dependency volumes are filled from the
  template's pristine copy, its Postgres volume is new (a new cluster, the app's role and
  database, the tables made and seeded). One new project per run (3 runs);
- warm start: the same project's later starts, the dependencies, the cluster and the data
  already there (5 runs), each paired with a warm start of the same project on SQLite right
  after it: on a shared machine, the pair's difference says what Postgres costs better than
  either figure alone.

Run: .venv/bin/python -m bench.postgres   (needs Docker and the images, stepforge-postgres:1
     included; writes bench/results/postgres.json; bench.database's section shows its figures)
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import docker
import httpx

from bench.common import daemon_environment, write_results
from protocol import methods
from server.client import DaemonClient
from tests.conftest import container_network_env
from tests.fake_groq import AppResponder, FakeGroq, ScriptedApp

COLD_RUNS = 3
WARM_RUNS = 5


async def timed_start(client: DaemonClient, database: str = "postgres") -> float:
    began = time.monotonic()
    result = await client.request(
        methods.PREVIEW_START, {"runtime": "docker", "database": database}
    )
    seconds = time.monotonic() - began
    async with httpx.AsyncClient(timeout=10) as http:  # on Postgres, with its seeded rows
        answer = await http.get(f"{result['backendUrl']}/api/tasks")
        answer.raise_for_status()
        assert answer.json(), "the seeded tasks are missing"
    return seconds


def remove_volumes(workspace: Path) -> None:
    client = docker.from_env()
    for volume in client.volumes.list(filters={"label": f"stepforge.workspace={workspace}"}):
        try:
            volume.remove(force=True)
        except docker.errors.DockerException:
            pass


async def run() -> dict[str, Any]:
    cold: list[float] = []
    warm: list[float] = []
    sqlite: list[float] = []
    with FakeGroq(AppResponder(ScriptedApp.fixture())) as fake:
        env = {**daemon_environment(fake), **container_network_env()}
        for run_number in range(COLD_RUNS):
            workspace = Path(tempfile.mkdtemp(prefix="stepforge-bench-postgres-"))
            try:
                async with DaemonClient(workspace, env=env) as client:
                    await client.request(methods.PLAN, {"request": "a task manager"})
                    await client.request(methods.GENERATE, {"repair": False})
                    cold.append(await timed_start(client))
                    await client.request(methods.PREVIEW_STOP, {})
                    if run_number == 0:
                        await timed_start(client, "sqlite")  # its data volume made and seeded
                        await client.request(methods.PREVIEW_STOP, {})
                        for _ in range(WARM_RUNS):
                            for database, times in (("postgres", warm), ("sqlite", sqlite)):
                                times.append(await timed_start(client, database))
                                await client.request(methods.PREVIEW_STOP, {})
            finally:
                remove_volumes(workspace)
                shutil.rmtree(workspace, ignore_errors=True)
    return {
        "postgres_cold_start_seconds_median": round(statistics.median(cold), 2),
        "postgres_cold_start_seconds_max": round(max(cold), 2),
        "postgres_cold_start_runs": len(cold),
        "postgres_warm_start_seconds_median": round(statistics.median(warm), 2),
        "postgres_warm_start_seconds_max": round(max(warm), 2),
        "postgres_warm_start_runs": len(warm),
        "sqlite_warm_start_seconds_median": round(statistics.median(sqlite), 2),
        "postgres_minus_sqlite_warm_seconds_median": round(
            statistics.median(p - q for p, q in zip(warm, sqlite, strict=True)), 2
        ),
        "load_average": [round(x, 1) for x in os.getloadavg()],
    }


def rows(d: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """The database section's Postgres rows (bench.database)."""
    # Figures taken with other jobs on the cores say little against a target: said as such.
    loaded = max(d["load_average"]) > (os.cpu_count() or 1)
    missed = "not met on this loaded machine: rerun on a quiet one" if loaded else "not met"
    warm, cold = d["postgres_warm_start_seconds_median"], d["postgres_cold_start_seconds_median"]
    return [
        (
            f"Warm start with Postgres ({d['postgres_warm_start_runs']} runs; measured "
            f"{d['measured']}, load {', '.join(str(x) for x in d['load_average'])})",
            f"**{warm} s** (max {d['postgres_warm_start_seconds_max']} s)",
            "< 3 s",
            "met" if warm < 3 else missed,
        ),
        (
            "Postgres' cost over SQLite, warm (the same project, starts paired)",
            f"+{d['postgres_minus_sqlite_warm_seconds_median']} s (SQLite "
            f"{d['sqlite_warm_start_seconds_median']} s in the same runs)",
            "",
            "",
        ),
        (
            f"Cold start with Postgres, a new project ({d['postgres_cold_start_runs']} runs)",
            f"**{cold} s** (max {d['postgres_cold_start_seconds_max']} s)",
            "< 10 s",
            "met" if cold < 10 else missed,
        ),
    ]


def main() -> None:
    write_results("postgres", asyncio.run(run()))


if __name__ == "__main__":
    main()
