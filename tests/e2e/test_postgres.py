"""The app on Postgres (`--database postgres`), end to end through the `stepforge` command (a new
daemon per command) and the running docker preview: the scripted task manager's records, created
through its backend, survive a stop and start; they live in the workspace's Postgres volume (no
SQLite file, no SQLite volume); status says so without the password; `preview reset-data` keeps a
copy and empties it. A Postgres that cannot start is said, naming the database, and its data is
left as it was. The local runtime says it needs a DATABASE_URL that answers."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import docker
import httpx
import pytest
from docker.errors import ImageNotFound, NotFound

from server.preview import postgres
from server.preview.migrations import on_postgres
from tests.conftest import daemon_env, require_docker, run_cli
from tests.e2e.test_database import SEEDED, add_two_tasks, cli_json, titles, wait_for
from tests.e2e.test_migrations import change, tasks
from tests.e2e.test_preview import require_runtime
from tests.fake_groq import AppResponder, FakeGroq, ScriptedApp
from tests.fake_groq.schema_changes import NOTES_DELTA, NOTES_REQUEST, schema_responder

pytestmark = pytest.mark.slow
IMAGE = "stepforge-postgres:1"


def require_postgres_image() -> None:
    """Docker and the Postgres image (`stepforge images build`, run by scripts/setup); in CI
    (STEPFORGE_REQUIRE_DOCKER=1) a missing image fails."""
    require_docker()
    try:
        docker.from_env().images.get(IMAGE)
    except ImageNotFound:
        if os.environ.get("STEPFORGE_REQUIRE_DOCKER") == "1":
            pytest.fail(f"the image {IMAGE} is missing: scripts/setup builds it")
        pytest.skip(f"the image {IMAGE} is missing: build it with `stepforge images build`")


def start_postgres(fake, workspace: Path, *extra: str) -> dict:
    result = cli_json(fake, workspace, "preview", "start", "--runtime", "docker", *extra)
    assert result.get("backendUrl"), result
    return result


def rows(workspace: Path) -> int:
    """The task rows in the running preview's Postgres, read in its own container as the
    superuser over the local socket (no password, no published port)."""
    container = docker.from_env().containers.get(postgres.container_name(workspace))
    found = container.exec_run(
        ["psql", "-h", "/tmp", "-U", "postgres", "-d", "app", "-tAc", "select count(*) from task"]
    )
    assert found.exit_code == 0, found.output
    return int(found.output.decode().strip())


def rows_in_backup(volume: str) -> int:
    """The task rows in a backup volume: a throwaway single-user Postgres over it."""
    output = (
        docker.from_env()
        .containers.run(
            IMAGE,
            [
                "sh",
                "-c",
                f"echo 'select count(*) as n from task;' | postgres --single -D {postgres.DATA_INSIDE} "
                "-c jit=off app",
            ],
            volumes={volume: {"bind": postgres.DATA_INSIDE, "mode": "rw"}},
            network_disabled=True,
            remove=True,
        )
        .decode()
    )
    counted = [line for line in output.splitlines() if line.strip().startswith("1: n =")]
    assert counted, output
    return int(counted[0].split("=")[1].split()[0].strip('"'))


def remove_volumes(workspace: Path) -> None:
    client = docker.from_env()
    for volume in client.volumes.list(filters={"label": f"stepforge.workspace={workspace}"}):
        if volume.attrs["Labels"].get("stepforge.purpose") in ("data", "data-backup"):
            volume.remove(force=True)


def test_task_manager_on_postgres_keeps_its_records_and_reset_keeps_a_copy(fake_groq, generated):
    require_postgres_image()
    workspace = generated
    client = docker.from_env()
    try:
        started = start_postgres(fake_groq, workspace, "--database", "postgres")
        assert "Postgres" in started["message"], started
        backend = started["backendUrl"]
        assert len(titles(backend)) == SEEDED  # seeded once, on the new database
        expected = add_two_tasks(backend)

        # Where the data is: the Postgres volume, said by status, the password never shown.
        secret = json.loads((workspace / ".stepforge" / "postgres.json").read_text())["password"]
        assert (workspace / ".stepforge" / "postgres.json").stat().st_mode & 0o777 == 0o600
        status = cli_json(fake_groq, workspace, "preview", "status")
        assert secret not in json.dumps(status)
        data = status["data"]
        assert status["running"] is True and data["database"] == "postgres", status
        assert data["volume"] == postgres.data_volume(workspace)
        assert data["location"].startswith(f"docker volume {data['volume']}")
        assert data["databaseUrl"].startswith("postgresql+psycopg://app:***@")
        assert rows(workspace) == SEEDED + 2
        # ... and nowhere else: no SQLite file in the sources, no SQLite data volume.
        assert not list((workspace / "backend").rglob("*.db"))
        with pytest.raises(NotFound):
            client.volumes.get(f"stepforge-data-{postgres.workspace_tag(str(workspace))}")
        # Not published on the host: the backend reaches it over the preview's network.
        server = client.containers.get(postgres.container_name(workspace))
        assert not any(server.attrs["NetworkSettings"]["Ports"].values())
        assert server.attrs["Config"]["User"] == postgres.USER
        assert secret not in json.dumps(server.attrs["Config"]["Env"])
        logs = cli_json(fake_groq, workspace, "preview", "logs")["lines"]
        assert any(line["role"] == "database" for line in logs), logs

        # Stopped and started again by new daemons, without --database: the workspace keeps
        # its Postgres, and its rows (not seeded twice).
        assert (
            run_cli(
                "preview", "stop", "--workspace", str(workspace), env=daemon_env(fake_groq)
            ).returncode
            == 0
        )
        with pytest.raises(NotFound):
            client.containers.get(postgres.container_name(workspace))
        backend = start_postgres(fake_groq, workspace)["backendUrl"]
        assert titles(backend) == expected
        assert cli_json(fake_groq, workspace, "preview", "status")["data"]["database"] == "postgres"

        # Reset: a copy first, then an empty database, seeded again by the restarted preview.
        reset = cli_json(fake_groq, workspace, "preview", "reset-data")
        assert reset["reset"] is True and reset["restarted"] is True, reset
        assert reset["backup"].startswith(postgres.backup_prefix(workspace))
        backend = cli_json(fake_groq, workspace, "preview", "status")["backendUrl"]
        assert len(titles(backend)) == SEEDED
        assert rows(workspace) == SEEDED

        # Postgres dies under the running app: status says so, naming its volume.
        client.containers.get(postgres.container_name(workspace)).kill()
        status = cli_json(fake_groq, workspace, "preview", "status")
        assert status["running"] is False, status
        assert f"Postgres (volume {postgres.data_volume(workspace)}) stopped" in (
            status["data"]["error"] or ""
        ), status
        # Killed, not stopped: the next start recovers its cluster, rows and all.
        backend = start_postgres(fake_groq, workspace)["backendUrl"]
        assert len(titles(backend)) == SEEDED
        run_cli("preview", "stop", "--workspace", str(workspace), env=daemon_env(fake_groq))
        assert rows_in_backup(reset["backup"]) == SEEDED + 2
    finally:
        run_cli("preview", "stop", "--workspace", str(workspace), env=daemon_env(fake_groq))
        remove_volumes(workspace)


def test_a_postgres_that_cannot_start_is_said_and_its_data_kept(fake_groq, generated):
    require_postgres_image()
    workspace = generated
    client = docker.from_env()
    volume = postgres.data_volume(workspace)
    try:
        # A cluster of another Postgres version (as after a downgrade of the image).
        client.volumes.create(volume, labels=postgres.volume_labels(workspace, "data"))
        client.containers.run(
            IMAGE,
            [
                "sh",
                "-c",
                f"cd {postgres.DATA_INSIDE} && echo 99 > PG_VERSION && touch postgresql.conf",
            ],
            volumes={volume: {"bind": postgres.DATA_INSIDE, "mode": "rw"}},
            network_disabled=True,
            remove=True,
        )
        done = run_cli(
            "preview",
            "start",
            "--workspace",
            str(workspace),
            "--runtime",
            "docker",
            "--database",
            "postgres",
            env=daemon_env(fake_groq),
        )
        assert done.returncode != 0
        assert f"Postgres (container {postgres.container_name(workspace)}, volume {volume})" in (
            done.stderr
        ), done.stderr
        assert "did not start" in done.stderr and "incompatible" in done.stderr, done.stderr
        assert not cli_json(fake_groq, workspace, "preview", "status")["running"]
        kept = client.containers.run(
            IMAGE,
            ["cat", f"{postgres.DATA_INSIDE}/PG_VERSION"],
            volumes={volume: {"bind": postgres.DATA_INSIDE, "mode": "ro"}},
            network_disabled=True,
            remove=True,
        )
        assert kept.decode().strip() == "99"  # nothing made anew over it
    finally:
        run_cli("preview", "stop", "--workspace", str(workspace), env=daemon_env(fake_groq))
        remove_volumes(workspace)


def test_the_local_runtime_needs_a_postgres_that_answers(fake_groq, generated):
    require_runtime("local")
    workspace = generated
    env = daemon_env(fake_groq)
    env.pop("DATABASE_URL", None)
    command = ["preview", "start", "--workspace", str(workspace), "--runtime", "local"]
    unset = run_cli(*command, "--database", "postgres", env=env)
    assert unset.returncode != 0
    assert "DATABASE_URL" in unset.stderr and "--database sqlite" in unset.stderr, unset.stderr

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql://me:hunter2-secret@127.0.0.1:{port}/mine"
    silent = run_cli(*command, "--database", "postgres", env={**env, "DATABASE_URL": url})
    assert silent.returncode != 0
    assert f"postgresql+psycopg://me:***@127.0.0.1:{port}/mine" in silent.stderr, silent.stderr
    assert "does not answer" in silent.stderr and "hunter2-secret" not in silent.stderr
    status = cli_json(fake_groq, workspace, "preview", "status")
    assert not status["running"]
    assert not (workspace / ".stepforge" / "data").exists()  # no SQLite made in its place


def columns(workspace: Path) -> set[str]:
    found = psql(
        workspace, "select column_name from information_schema.columns where table_name = 'task'"
    )
    return set(found.split())


def psql(workspace: Path, query: str) -> str:
    container = docker.from_env().containers.get(postgres.container_name(workspace))
    found = container.exec_run(["psql", "-h", "/tmp", "-U", "postgres", "-d", "app", "-tAc", query])
    assert found.exit_code == 0, found.output
    return found.output.decode().strip()


@pytest.mark.timeout(900)  # a change with its checks, then an undo: minutes on a loaded machine
def test_a_schema_change_on_postgres_keeps_the_rows_and_undo_takes_it_back(generated):
    """The migration step on Postgres: the same step as on SQLite, on the preview's network,
    with a pg_dump kept in the volume first."""
    require_postgres_image()
    workspace = generated
    with FakeGroq(schema_responder(AppResponder(ScriptedApp.fixture()), NOTES_DELTA)) as fake:
        try:
            backend = start_postgres(fake, workspace, "--database", "postgres")["backendUrl"]
            created = httpx.post(f"{backend}/api/tasks", json={"title": "Mine"}, timeout=10)
            assert created.status_code == 201, created.text
            before = set(titles(backend))

            result = change(fake, workspace, NOTES_REQUEST)
            assert result["database"] and "Migrated the database" in result["database"], result
            assert "stepforge-backups/" in result["database"], result  # the copy, named
            assert {"note", "pinned"} <= columns(workspace)
            assert int(psql(workspace, "select count(*) from task")) == SEEDED + 1
            kept = psql(workspace, "select 1")  # the server still serves after the dump
            assert kept == "1"
            listing = docker.from_env().containers.get(postgres.container_name(workspace))
            copies = listing.exec_run(["ls", on_postgres.BACKUPS], user=postgres.USER)
            assert b"before-migrate" in copies.output, copies.output
            wait_for(lambda: "pinned" in tasks(backend)[0], "the backend to serve the new fields")
            assert set(titles(backend)) == before

            undone = run_cli("undo", "--workspace", str(workspace), "--json", env=daemon_env(fake))
            assert undone.returncode == 0, undone.stderr
            assert "back to the schema before the change" in json.loads(undone.stdout)["database"]
            assert not {"note", "pinned"} & columns(workspace)
            wait_for(lambda: "pinned" not in tasks(backend)[0], "the backend's old model")
            assert set(titles(backend)) == before
        finally:
            run_cli("preview", "stop", "--workspace", str(workspace), env=daemon_env(fake))
            remove_volumes(workspace)
