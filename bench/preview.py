"""Preview benchmark: from `stepforge/preview/start` to both URLs answering, per runtime, cold
(no dependencies installed yet), warm (images built, dependencies cached: the second start), and
for docker a new project's first start (the template's installed copy of the dependencies is
there: a project on the template's lock files mounts it read-only).

Run: .venv/bin/python -m bench.preview   (needs the images: `stepforge images build`;
     writes bench/results/preview.json)
"""

from __future__ import annotations

import argparse
import asyncio
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
from server.preview import volumes
from server.preview.launch import BACKEND_LOCKS, FRONTEND_LOCKS, dependency_key
from server.preview.sandbox import Role
from tests.conftest import container_network_env
from tests.fake_groq import AppResponder, FakeGroq, ScriptedApp


async def generated_workspace(env: dict[str, str]) -> Path:
    workspace = Path(tempfile.mkdtemp(prefix="stepforge-preview-bench-"))
    async with DaemonClient(workspace, env=env) as client:
        await client.request(methods.PLAN, {"request": "a task manager with a dashboard"})
        await client.request(methods.GENERATE, {})
    return workspace


def forget_dependencies(workspace: Path, runtime: str, pristine: bool = True) -> None:
    """Make the next start cold: no node_modules, no venv, no dependency volumes (and, unless
    `pristine`, no pristine copy of the template's either)."""
    if runtime == "docker":
        client = docker.from_env()
        names = [volumes.dependency_volume(workspace, role) for role in ("frontend", "backend")]
        if not pristine:
            roles: tuple[tuple[Role, tuple[str, ...]], ...] = (
                ("frontend", FRONTEND_LOCKS),
                ("backend", BACKEND_LOCKS),
            )
            for role, locks in roles:
                name = volumes.pristine_name(role, dependency_key(workspace, locks))
                names += [name, name + "-done"]
        for name in names:
            try:
                client.volumes.get(name).remove(force=True)
            except docker.errors.NotFound:
                pass
    else:
        shutil.rmtree(workspace / "frontend" / "node_modules", ignore_errors=True)
        shutil.rmtree(workspace / ".stepforge" / "preview", ignore_errors=True)


async def timed_start(workspace: Path, env: dict[str, str], runtime: str) -> float:
    async with DaemonClient(workspace, env=env) as client:
        started = time.perf_counter()
        result = await client.request(methods.PREVIEW_START, {"runtime": runtime})
        elapsed = time.perf_counter() - started
        async with httpx.AsyncClient(timeout=10) as http:  # the claim: both URLs answer
            assert (await http.get(result["frontendUrl"] + "/")).status_code == 200
            assert (await http.get(result["backendUrl"] + "/api/health")).status_code == 200
        await client.request(methods.PREVIEW_STOP, {})
    return elapsed


async def run(runtimes: list[str], repeats: int) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    with FakeGroq(AppResponder(ScriptedApp.fixture())) as fake:
        env = {**daemon_environment(fake), **container_network_env()}
        for runtime in runtimes:
            workspace = await generated_workspace(env)
            forget_dependencies(workspace, runtime, pristine=False)
            cold = await timed_start(workspace, env, runtime)
            if runtime == "docker":
                forget_dependencies(workspace, runtime)
                first = await timed_start(workspace, env, runtime)
            warm = [await timed_start(workspace, env, runtime) for _ in range(repeats)]
            figures[runtime] = {
                "cold_seconds": round(cold, 2),
                **({"new_project_seconds": round(first, 2)} if runtime == "docker" else {}),
                "warm_seconds_median": round(statistics.median(warm), 2),
                "warm_seconds_max": round(max(warm), 2),
                "warm_runs": repeats,
            }
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runtime", choices=["docker", "local"], action="append")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    write_results("preview", asyncio.run(run(args.runtime or ["docker", "local"], args.repeats)))


if __name__ == "__main__":
    main()
