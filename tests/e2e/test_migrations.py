"""Schema changes keep the rows, end to end through the `stepforge` command, the running docker
preview and its data volume: a change that adds fields a row can take writes a migration,
applies it (the existing rows stay and serve the new fields), and undo takes the table back; a
change that adds a required field without a default is reported on the model, with a copy of
the database kept and the rows untouched (the step run directly on a hand-edited model: a second
change with its full checks would double the test's time); a database file that is not one is
named in the preview's status, and left as it was."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import docker
import httpx
import pytest

from server.config import load_settings
from server.preview import migrations
from tests.conftest import daemon_env, require_docker, run_cli
from tests.e2e.test_database import SEEDED, cli_json, remove_data_volumes, start, wait_for
from tests.fake_groq import AppResponder, ScriptedApp
from tests.fake_groq.schema_changes import (
    ID_LINE,
    MODEL,
    NOTES_DELTA,
    NOTES_REQUEST,
    PRIORITY_LINES,
    schema_responder,
)

pytestmark = pytest.mark.slow
VERSIONS = "backend/migrations/versions"


@pytest.fixture
def responder() -> AppResponder:
    return schema_responder(AppResponder(ScriptedApp.fixture()), NOTES_DELTA)


def change(fake, workspace: Path, request: str) -> dict:
    done = run_cli(
        "change",
        request,
        "--workspace",
        str(workspace),
        "--json",
        "--no-repair",
        env=daemon_env(fake),
        timeout=600,
    )
    assert done.stdout.strip(), done.stderr
    return json.loads(done.stdout)


def tasks(backend: str) -> list[dict]:
    response = httpx.get(f"{backend}/api/tasks", timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def columns_in_volume(volume: str) -> tuple[list[str], int, list[str]]:
    """The task table's columns and rows in the data volume, and the copies kept beside it."""
    script = (
        "import json, os, sqlite3\n"
        "db = sqlite3.connect('file:/v/app.db?mode=ro', uri=True)\n"
        "columns = [row[1] for row in db.execute('pragma table_info(task)')]\n"
        "rows = db.execute('select count(*) from task').fetchone()[0]\n"
        "copies = sorted(os.listdir('/v/backups')) if os.path.isdir('/v/backups') else []\n"
        "print(json.dumps([columns, rows, copies]))\n"
    )
    output = run_on_volume(volume, ["python3", "-c", script], "ro")
    columns, rows, copies = json.loads(output)
    return columns, rows, copies


def run_on_volume(volume: str, argv: list[str], mode: str) -> str:
    """One command's output over the volume. Detached, then waited for, then read: the output
    of `containers.run(remove=True)` is sometimes empty for a command this quick (seen here)."""
    container = docker.from_env().containers.run(
        "stepforge-backend:1",
        argv,
        volumes={volume: {"bind": "/v", "mode": mode}},
        network_disabled=True,
        detach=True,
    )
    try:
        assert container.wait(timeout=120)["StatusCode"] == 0, container.logs()
        return container.logs(stdout=True, stderr=False).decode()
    finally:
        container.remove(force=True)


def on_volume(volume: str, command: str) -> str:
    return run_on_volume(volume, ["sh", "-c", command], "rw")


def migration_files(workspace: Path) -> list[str]:
    return sorted(p.name for p in (workspace / VERSIONS).glob("*.py"))


@pytest.mark.timeout(900)  # two CLI jobs with the full checks: minutes on a loaded machine
def test_schema_changes_keep_the_rows_and_undo_takes_them_back(fake_groq, generated):
    require_docker()
    workspace = generated
    try:
        backend = start(fake_groq, workspace, "docker")
        created = httpx.post(f"{backend}/api/tasks", json={"title": "Mine"}, timeout=10)
        assert created.status_code == 201, created.text
        before = {task["id"]: task["title"] for task in tasks(backend)}
        assert len(before) == SEEDED + 1
        volume = cli_json(fake_groq, workspace, "preview", "status")["data"]["volume"]

        # Fields a row can take: a migration is written, applied, committed with the change.
        result = change(fake_groq, workspace, NOTES_REQUEST)
        assert MODEL in result["written"], result
        assert result["database"] and "Migrated the database" in result["database"], result
        [migration] = migration_files(workspace)
        assert f"{VERSIONS}/{migration}" in result["database"]
        columns, rows, copies = columns_in_volume(volume)
        assert {"note", "pinned"} <= set(columns) and rows == SEEDED + 1
        assert any("before-migration" in name for name in copies)
        assert not (workspace / ".stepforge" / migrations.PENDING).exists()
        # The running app serves the old rows with the new fields (after uvicorn's reload).
        wait_for(lambda: "pinned" in tasks(backend)[0], "the backend to serve the new fields")
        served = tasks(backend)
        assert {task["id"]: task["title"] for task in served} == before
        assert all(task["pinned"] is False and task["note"] is None for task in served)
        pinned = httpx.post(
            f"{backend}/api/tasks", json={"title": "Pinned", "pinned": True}, timeout=10
        )
        assert pinned.status_code == 201, pinned.text

        # Undo: the table goes back (the rows stay), the migration file goes with the change.
        undone = run_cli("undo", "--workspace", str(workspace), "--json", env=daemon_env(fake_groq))
        assert undone.returncode == 0, undone.stderr
        assert "back to the schema before the change" in json.loads(undone.stdout)["database"]
        assert migration_files(workspace) == []
        columns, rows, _ = columns_in_volume(volume)
        assert not {"note", "pinned"} & set(columns) and rows == SEEDED + 2
        wait_for(lambda: "pinned" not in tasks(backend)[0], "the backend to reload the old model")
        assert len(tasks(backend)) == SEEDED + 2

        # A required field without a default (written by hand here: a change that writes it
        # reaches the same step, as above): reported on the model, the data left as it was.
        model = workspace / MODEL
        model.write_text(model.read_text().replace(ID_LINE, ID_LINE + PRIORITY_LINES, 1))
        settings, _ = load_settings(None, daemon_env(fake_groq))
        outcome = anyio.run(migrations.migrate, workspace, settings, "priority")
        assert outcome is not None and outcome.state == "unmigratable", outcome
        [problem] = migrations.problems_of(outcome, {MODEL: model.read_text()})
        assert problem.path == MODEL and problem.code == "unmigratable-schema-change"
        assert "`task.priority`" in problem.message and "default" in problem.message
        assert migration_files(workspace) == []
        columns, rows, copies = columns_in_volume(volume)
        assert "priority" not in columns and rows == SEEDED + 2
        assert any("before-unmigratable" in name for name in copies)
        # Remembered: the next preview start runs the step again (after the model is fixed).
        assert (workspace / ".stepforge" / migrations.PENDING).is_file()

        # A database that is not one: the backend says so, naming it; status shows it; the file
        # is left as it was (never made anew over the user's data).
        garbage = "not a database " * 100
        on_volume(volume, f"printf %s '{garbage}' > /v/app.db")
        model.write_text(model.read_text().replace(PRIORITY_LINES, ""))  # uvicorn reloads
        expected = "The database sqlite:////data/app.db cannot be used: file is not a database"

        def reported() -> bool:
            error = cli_json(fake_groq, workspace, "preview", "status")["data"].get("error")
            return bool(error) and expected in error

        wait_for(reported, "status to name the database it cannot use", timeout=60)
        assert on_volume(volume, "cat /v/app.db") == garbage
    finally:
        run_cli("preview", "stop", "--workspace", str(workspace), env=daemon_env(fake_groq))
        remove_data_volumes(workspace)
