"""The app keeps its data, end to end through the `stepforge` command (a new daemon per command)
and the running preview: records created through the backend survive a reload, a stop and start,
and a daemon restart; they live outside the source folders; `preview reset-data` keeps a copy and
empties them; the runtime checks use a scratch database, never the user's."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import docker
import httpx
import pytest

from tests.conftest import daemon_env, require_docker, run_cli
from tests.e2e.test_preview import require_runtime

pytestmark = pytest.mark.slow
SEEDED = 5  # tasks in the scripted app's backend/seed.py


def cli_json(fake, workspace: Path, *args: str, timeout: float = 300) -> dict:
    done = run_cli(
        *args, "--workspace", str(workspace), "--json", env=daemon_env(fake), timeout=timeout
    )
    assert done.stdout.strip(), done.stderr
    return json.loads(done.stdout)


def start(fake, workspace: Path, runtime: str) -> str:
    result = cli_json(fake, workspace, "preview", "start", "--runtime", runtime)
    assert result.get("backendUrl"), result
    return result["backendUrl"]


def titles(backend: str) -> list[str]:
    response = httpx.get(f"{backend}/api/tasks", timeout=10)
    assert response.status_code == 200, response.text
    return [task["title"] for task in response.json()]


def add_two_tasks(backend: str) -> list[str]:
    """Two tasks created through the running backend; every title it then lists."""
    for title in ("Water the plants", "Call the bank"):
        created = httpx.post(f"{backend}/api/tasks", json={"title": title}, timeout=10)
        assert created.status_code == 201, created.text
    expected = titles(backend)
    assert len(expected) == SEEDED + 2
    return expected


def wait_for(condition, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except httpx.HTTPError:
            pass  # the backend is reloading
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def rows_in_volume(volume: str) -> int:
    """The task rows of the SQLite file in a docker volume, read by the backend image's python."""
    output = docker.from_env().containers.run(
        "stepforge-backend:1",
        [
            "python3",
            "-c",
            "import sqlite3; print(sqlite3.connect('file:/v/app.db?mode=ro', uri=True)"
            ".execute('select count(*) from task').fetchone()[0])",
        ],
        volumes={volume: {"bind": "/v", "mode": "ro"}},
        network_disabled=True,
        remove=True,
    )
    return int(output.decode().strip())


def remove_data_volumes(workspace: Path) -> None:
    client = docker.from_env()
    for volume in client.volumes.list(filters={"label": f"stepforge.workspace={workspace}"}):
        if volume.attrs["Labels"].get("stepforge.purpose") in ("data", "data-backup"):
            volume.remove(force=True)


@pytest.mark.parametrize("runtime", ["docker", "local"])
def test_records_survive_reloads_restarts_and_reset_keeps_a_copy(fake_groq, generated, runtime):
    require_runtime(runtime)
    workspace = generated
    try:
        backend = start(fake_groq, workspace, runtime)
        assert len(titles(backend)) == SEEDED  # seeded once, on the new database
        expected = add_two_tasks(backend)

        # Where the data is: outside the source folders, and status says so.
        data = cli_json(fake_groq, workspace, "preview", "status")["data"]
        assert data["runtime"] == runtime and data["database"] == "sqlite"
        if runtime == "docker":
            assert data["volume"].startswith("stepforge-data-") and data["location"].endswith(
                data["volume"]
            )
        else:
            assert Path(data["path"]) == workspace / ".stepforge" / "data" / "app.db"
            assert Path(data["path"]).is_file()
        assert not list((workspace / "backend").rglob("*.db"))

        # A backend file changes (as generate, repair and change write them): uvicorn reloads.
        router = workspace / "backend/routers/stats.py"
        router.write_text(
            router.read_text().replace(
                "return task_stats(session)", "return {**task_stats(session), 'edited': True}"
            )
        )
        wait_for(
            lambda: httpx.get(f"{backend}/api/stats", timeout=5).json().get("edited"),
            "the backend to reload",
        )
        assert titles(backend) == expected

        # Stopped and started again, each by a new daemon: the same rows, not seeded twice.
        assert (
            run_cli(
                "preview", "stop", "--workspace", str(workspace), env=daemon_env(fake_groq)
            ).returncode
            == 0
        )
        backend = start(fake_groq, workspace, runtime)
        assert titles(backend) == expected

        # Reset: a copy first, then an empty database, seeded again by the restarted preview.
        reset = cli_json(fake_groq, workspace, "preview", "reset-data", "--runtime", runtime)
        assert reset["reset"] is True and reset["restarted"] is True, reset
        if runtime == "docker":
            assert reset["backup"].startswith("stepforge-data-backup-")
            assert rows_in_volume(reset["backup"]) == SEEDED + 2
        else:
            copy = Path(reset["backup"])
            assert copy.parent == workspace / ".stepforge" / "data-backups"
            with sqlite3.connect(copy / "app.db") as kept:
                assert kept.execute("select count(*) from task").fetchone()[0] == SEEDED + 2
        backend = cli_json(fake_groq, workspace, "preview", "status")["backendUrl"]
        assert len(titles(backend)) == SEEDED
    finally:
        run_cli("preview", "stop", "--workspace", str(workspace), env=daemon_env(fake_groq))
        if runtime == "docker":
            remove_data_volumes(workspace)


def test_runtime_checks_use_a_scratch_database(fake_groq, generated):
    require_docker()
    workspace = generated
    try:
        backend = start(fake_groq, workspace, "docker")
        created = httpx.post(f"{backend}/api/tasks", json={"title": "Mine"}, timeout=10)
        assert created.status_code == 201
        expected = titles(backend)
        run_cli("preview", "stop", "--workspace", str(workspace), env=daemon_env(fake_groq))

        # The check starts the app itself (no preview runs): on a scratch database.
        checked = cli_json(fake_groq, workspace, "check", "--runtime", timeout=600)
        assert any(tier["name"] == "smoke" and tier["ran"] for tier in checked["tiers"]), checked
        # The app ran and answered on its scratch database (no empty or failing backend).
        assert not [p for p in checked["problems"] if p["path"].startswith("backend/")]
        assert not cli_json(fake_groq, workspace, "preview", "status")["running"]

        backend = start(fake_groq, workspace, "docker")
        assert titles(backend) == expected
        volume = cli_json(fake_groq, workspace, "preview", "status")["data"]["volume"]
    finally:
        run_cli("preview", "stop", "--workspace", str(workspace), env=daemon_env(fake_groq))
    try:
        assert rows_in_volume(volume) == len(expected)
    finally:
        remove_data_volumes(workspace)
