"""Schema changes that keep the rows: when the models change (a change request, a regenerated
model file), the app's existing database is migrated instead of left behind the code.

The step (`inside.py`) runs where the app's code may run, never in the daemon: autogenerate
imports the models. With the docker runtime, a throwaway container of the backend image in the
preview's sandbox, over the workspace's data volume; with the local runtime (only when the user
chose it), its environment. It brings the database to the migrations it lacks, compares it with
the models, keeps a copy of the database when they differ, and either writes
`backend/migrations/versions/<rev>_*.py` and applies it, or reports what cannot be migrated
automatically (a new required field without a default, a rename, a removal) with what to do,
leaving the data as it was.

A database that does not exist yet needs nothing: the app makes it from the models at startup
and marks it up to date (`init_db` in the template's db.py, which also applies the migrations a
database lacks whenever the backend starts).

Undo: `downgrade_to(root, settings, revision)` takes the database back to `revision` (the
`down_revision` of the first migration the undone change added: `undo_target`), while the
migration files are still on disk, i.e. before the change's files are reverted.
"""

from __future__ import annotations

import ast
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import anyio
import docker
from docker.errors import DockerException, NotFound

from protocol.models import Problem, Severity
from server.config import Settings
from server.errors import StepForgeError
from server.preview import database, postgres
from server.preview.migrations import on_postgres, runner
from server.preview.records import read_workspace_record
from server.source.python import parse_python
from server.workspace.meta import MetaFiles
from server.workspace.session import WorkspaceSession

log = logging.getLogger(__name__)

VERSIONS = "backend/migrations/versions/"
MODELS = "backend/models/"
Target = Literal["docker", "local", "postgres"]


@dataclass
class MigrationOutcome:
    """What the step did to one database."""

    state: str  # fresh, current, migrated, unmigratable, downgraded, failed
    database: str  # where it is, for people
    revision: str | None = None
    previous: str | None = None
    file: str | None = None  # the new migration, workspace-relative
    backup: str | None = None
    problems: list[dict[str, str]] = field(default_factory=list)
    error: str | None = None
    applied_seconds: float | None = None  # the migration's own time, in the database

    @classmethod
    def from_answer(cls, answer: dict[str, Any], where: str) -> MigrationOutcome:
        return cls(
            state=str(answer.get("state", "failed")),
            database=where,
            revision=answer.get("revision"),
            previous=answer.get("previous"),
            file=answer.get("file"),
            backup=answer.get("backup"),
            problems=list(answer.get("problems") or []),
            error=answer.get("error"),
            applied_seconds=answer.get("applied_seconds"),
        )

    def message(self) -> str:
        copy = f" A copy of it is in {self.backup}." if self.backup else ""
        if self.state == "migrated":
            return f"Migrated the database {self.database} ({self.file}).{copy}"
        if self.state == "unmigratable":
            return (
                f"The database {self.database} was not migrated: "
                + "; ".join(p["message"] for p in self.problems)
                + f". Its data is untouched.{copy}"
            )
        if self.state == "downgraded":
            return f"Took the database {self.database} back to the schema before the change."
        if self.state == "failed":
            return f"The database {self.database} could not be migrated: {self.error}"
        return f"The database {self.database} is up to date."


# --- pure ---------------------------------------------------------------------------------------


def touches_models(paths: list[str]) -> bool:
    """Whether a run wrote backend code that can define tables (models, or any backend module:
    a table class may live anywhere the routers import)."""
    return any(
        path.startswith("backend/") and path.endswith(".py") and not path.startswith(VERSIONS)
        for path in paths
    )


def _assigned(source: str, name: str) -> Any:
    for node in parse_python(source).body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        if any(isinstance(target, ast.Name) and target.id == name for target in targets):
            return ast.literal_eval(value)
    return None


def undo_target(migrations: dict[str, str]) -> str | None:
    """The revision to go back to when the migrations in `migrations` (path -> source) are
    undone: the `down_revision` of the first of them ("base" when it had none); None when there
    is none to undo."""
    revisions: dict[str, Any] = {}
    for path, source in migrations.items():
        if not path.startswith(VERSIONS) or not path.endswith(".py"):
            continue
        revision = _assigned(source, "revision")
        if isinstance(revision, str):
            revisions[revision] = _assigned(source, "down_revision")
    for down in revisions.values():
        if down is None:
            return "base"
        if isinstance(down, str) and down not in revisions:
            return down
    return None


def _table_line(source: str, table: str) -> int | None:
    """The line of the class that owns `table` (its `__tablename__`, or its name in lower case,
    as SQLModel names tables)."""
    lines = source.splitlines()
    for number, line in enumerate(lines, 1):
        if re.search(rf"__tablename__\s*=\s*['\"]{re.escape(table)}['\"]", line):
            return number
    for number, line in enumerate(lines, 1):
        found = re.match(r"\s*class\s+(\w+)\s*\(.*table\s*=\s*True", line)
        if found and found.group(1).lower() == table:
            return number
    return None


def problems_of(outcome: MigrationOutcome, sources: dict[str, str]) -> list[Problem]:
    """The outcome's trouble as problems: on the model file that owns each table (its class'
    line), else on backend/db.py."""
    found: list[Problem] = []
    entries = (
        outcome.problems
        if outcome.state == "unmigratable"
        else [{"table": "", "message": outcome.error or "unknown error"}]
        if outcome.state == "failed"
        else []
    )
    for entry in entries:
        path, line = "backend/db.py", 1
        for candidate, source in sorted(sources.items()):
            at = _table_line(source, entry["table"]) if entry["table"] else None
            if at is not None:
                path, line = candidate, at
                break
        copy = f" A copy of the database is in {outcome.backup}." if outcome.backup else ""
        found.append(
            Problem(
                path=path,
                line=line,
                severity=Severity.ERROR,
                code="unmigratable-schema-change"
                if outcome.state == "unmigratable"
                else "migration-failed",
                message=(
                    f"The database {outcome.database} was not migrated: {entry['message']}. "
                    f"Its data is untouched.{copy}"
                    if outcome.state == "unmigratable"
                    else f"The database {outcome.database} could not be migrated: "
                    f"{entry['message']}"
                ),
                source="migration",
            )
        )
    return found


# --- where the database is ----------------------------------------------------------------------


def target_of(root: Path, settings: Settings) -> Target | None:
    """Blocking: the database to migrate: the runtime the preview last ran with (or the one
    configured), if that runtime's database exists; None when there is none yet."""
    record = read_workspace_record(root)
    runtime = record.runtime if record is not None else None
    if runtime is None:
        runtime = "local" if settings.preview_runtime == "local" else "docker"
    kind = record.database if record is not None else settings.database
    if kind == "postgres":
        if runtime == "local":
            return None  # the user's own Postgres: they migrate it (the README says how)
        try:
            return "postgres" if on_postgres.has_database(root) else None
        except DockerException as error:
            raise EngineDown(f"no Docker engine answers ({error.__class__.__name__})") from None
    if runtime == "local":
        return "local" if (database.data_folder(root) / database.DATABASE_FILE).is_file() else None
    try:
        docker.from_env(timeout=30).volumes.get(database.data_volume(root))
    except NotFound:
        return None
    except DockerException as error:
        if record is None or record.runtime != "docker":
            return None  # no preview ran with docker here: no data volume to miss
        raise EngineDown(f"no Docker engine answers ({error.__class__.__name__})") from None
    return "docker"


def _where(root: Path, target: Target) -> str:
    if target == "postgres":
        return postgres.describe(root).location
    return database.describe(root, target).location


def _run(root: Path, settings: Settings, target: Target, argv: list[str]) -> dict[str, Any]:
    if target == "postgres":  # its copy is a pg_dump the step's runner keeps (on_postgres)
        return on_postgres.run_step(
            root, settings, [*argv, "/tmp"] if argv[0] == "migrate" else argv
        )
    if argv[0] == "migrate":  # where the step keeps its copies: beside the database
        argv = [*argv, runner.DOCKER_BACKUPS if target == "docker" else str(local_backups(root))]
    if target == "docker":
        return runner.run_in_docker(root, settings, argv)
    from server.preview.local_runtime import host_environment, install_backend

    python = install_backend(root, host_environment(root))
    url = f"sqlite:///{database.data_folder(root) / database.DATABASE_FILE}"
    return runner.run_locally(root, python, url, argv)


def local_backups(root: Path) -> Path:
    return database.data_folder(root) / "backups"


class EngineDown(Exception):
    """The preview ran with docker, and no engine answers now: its data volume is out of reach."""


PENDING = "migration-pending"  # in .stepforge/: the models changed and the database has not


def mark_pending(root: Path, pending: bool) -> None:
    """Blocking: remember (or forget) that the database lags behind the models, so the next
    preview start runs the step again (`pending_before_start`)."""
    meta = MetaFiles(root)
    if pending:
        meta.write(PENDING, "the app's models changed; the database is not migrated yet\n")
    else:
        meta.remove(PENDING)


def _step(root: Path, settings: Settings, argv: list[str]) -> MigrationOutcome | None:
    try:
        target = target_of(root, settings)
    except EngineDown as error:
        return MigrationOutcome(
            state="failed",
            database=_where(root, "docker"),
            error=f"{error}: start it; the next `stepforge preview start` migrates the data",
        )
    if target is None:
        return None
    where = _where(root, target)
    try:
        answer = _run(root, settings, target, argv)
    except (DockerException, OSError, ValueError, RuntimeError, StepForgeError) as error:
        answer = {"state": "failed", "error": f"{error.__class__.__name__}: {error}"}
    outcome = MigrationOutcome.from_answer(answer, where)
    if outcome.state == "failed":
        log.warning("migration step for %s failed: %s", root, outcome.error)
    if argv[0] == "migrate":
        mark_pending(root, outcome.state in ("failed", "unmigratable"))
    return outcome


async def migrate(root: Path, settings: Settings, message: str) -> MigrationOutcome | None:
    """Migrate the workspace's database to its models (None: it has no database yet)."""
    argv = ["migrate", message[:60] or "change"]
    return await anyio.to_thread.run_sync(_step, root, settings, argv)


async def downgrade_to(root: Path, settings: Settings, revision: str) -> MigrationOutcome | None:
    """Take the workspace's database back to `revision` ("base": before every migration);
    call it while the migrations after `revision` are still in backend/migrations/versions/."""
    return await anyio.to_thread.run_sync(_step, root, settings, ["downgrade", revision])


# --- the change flow's two calls ----------------------------------------------------------------


def _model_sources(root: Path) -> dict[str, str]:
    """Blocking: the backend's modules (outside the migrations), to place a problem on the model
    that owns its table."""
    from server.workspace.roles import role_folder

    backend = role_folder(root, "backend")
    sources = {}
    for path in sorted(backend.rglob("*.py")):
        relative = "backend/" + path.relative_to(backend).as_posix()
        if relative.startswith("backend/migrations/") or path.is_symlink():
            continue
        try:
            sources[relative] = path.read_text("utf-8", "replace")
        except OSError:
            continue
    return sources


async def after_run(
    session: WorkspaceSession, settings: Settings, paths: list[str], message: str
) -> tuple[MigrationOutcome | None, list[Problem]]:
    """After a run that wrote backend code: migrate the database; the new migration file is the
    run's (committed with it), and what could not be migrated comes back as problems on the
    model files. Nothing when the run touched no backend module or there is no database."""
    if not touches_models(paths):
        return None, []
    outcome = await migrate(session.root, settings, message)
    if outcome is None:
        return None, []
    if outcome.file is not None:
        session.wrote(outcome.file)
    problems: list[Problem] = []
    if outcome.state in ("unmigratable", "failed"):
        sources = await anyio.to_thread.run_sync(_model_sources, session.root)
        problems = problems_of(outcome, sources)
    log.info("%s", outcome.message())
    return outcome, problems


async def undo_change(root: Path, settings: Settings, paths: list[str]) -> MigrationOutcome | None:
    """Before the files of an undone change are reverted: take the database back over the
    migrations among `paths` (the change's files). A downgrade that fails stops the undo (its
    migration files are still needed to try again)."""

    def sources() -> dict[str, str]:
        found = {}
        for path in paths:
            if path.startswith(VERSIONS) and path.endswith(".py"):
                target = root / path
                if target.is_file() and not target.is_symlink():
                    found[path] = target.read_text("utf-8", "replace")
        return found

    revision = undo_target(await anyio.to_thread.run_sync(sources))
    if revision is None:
        return None
    outcome = await downgrade_to(root, settings, revision)
    if outcome is not None and outcome.state == "failed":
        raise StepForgeError(
            f"{outcome.message()}. Nothing was undone; fix the database (a copy is kept under "
            "backups/ beside it) and run `stepforge undo` again."
        )
    return outcome


async def pending_before_start(root: Path, settings: Settings) -> MigrationOutcome | None:
    """Before a preview starts: the step again, if the last one could not migrate the database
    (the engine was down, the change could not be migrated and the model was fixed by hand
    since). None when nothing was pending."""
    if not await anyio.to_thread.run_sync(lambda: MetaFiles(root).path(PENDING).is_file()):
        return None
    return await migrate(root, settings, "models changed")
