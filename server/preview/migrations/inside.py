"""The migration step as it runs where the app's code runs (the backend's sandbox container, or
the local runtime's environment when the user chose it): never imported by the daemon for its
`main`, which imports the generated models. The daemon passes this file's source to
`python -c` in the backend folder; what it finds comes back as one JSON line on stdout.

`migrate MESSAGE BACKUPS`: bring the database to the migrations it lacks, compare it with the
models (Alembic's autogenerate), and when they differ keep a copy of the database, then either
write and apply a migration, or report why it cannot be done automatically. The new migration
is written outside the backend folder, applied, and only then moved into
`migrations/versions/`: `uvicorn --reload` restarts the app when it appears, on a database that
has it already.
`downgrade REVISION`: undo the migrations after REVISION (`base`: all of them).

The pure part (`describe_*`, `unmigratable`) imports only the standard library, so the daemon's
tests import it without the app's packages.
"""

from __future__ import annotations

import json
import sys
from typing import Any

MARKER = "STEPFORGE-MIGRATION "
VERSION_TABLE = "alembic_version"


# --- pure: which differences cannot be migrated automatically --------------------------------


def unmigratable(operations: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The differences (as `describe_difference` gives them) that a migration cannot make
    without losing or inventing data, each with what the user can do instead."""
    problems: list[dict[str, str]] = []
    removed: dict[str, list[str]] = {}
    added: dict[str, list[dict[str, Any]]] = {}
    for operation in operations:
        if operation["op"] == "remove_column":
            removed.setdefault(operation["table"], []).append(operation["column"])
        elif operation["op"] == "add_column":
            added.setdefault(operation["table"], []).append(operation)
    renamed: set[tuple[str, str]] = set()
    for table, columns in removed.items():
        for old, new in zip(columns, added.get(table, []), strict=False):
            renamed |= {(table, old), (table, new["column"])}
            problems.append(
                {
                    "table": table,
                    "column": new["column"],
                    "kind": "rename",
                    "message": (
                        f"`{table}.{old}` seems renamed to `{table}.{new['column']}`: a migration "
                        f"cannot tell a rename from a removal, and removing `{old}` would delete "
                        f"its values. Keep the name `{old}`, or write the rename yourself "
                        "(`op.alter_column(..., new_column_name=...)` in a migration under "
                        "backend/migrations/versions/)"
                    ),
                }
            )
    for operation in operations:
        table, column = operation.get("table", ""), operation.get("column", "")
        if (table, column) in renamed:
            continue
        kind = operation["op"]
        if kind == "add_column" and not operation["nullable"] and not operation["default"]:
            problems.append(
                {
                    "table": table,
                    "column": column,
                    "kind": "required-without-default",
                    "message": (
                        f"`{table}.{column}` is a new required field without a default: the "
                        f"rows already in `{table}` have no value for it. Give it a default "
                        f"(`{column}: {operation['python_type']} = ...`) or make it optional "
                        f"(`{column}: {operation['python_type']} | None = None`)"
                    ),
                }
            )
        elif kind == "remove_column":
            problems.append(
                {
                    "table": table,
                    "column": column,
                    "kind": "removed-column",
                    "message": (
                        f"`{table}.{column}` is gone from the models: removing the column would "
                        f"delete its values. Keep the field, or remove the column yourself in a "
                        "migration under backend/migrations/versions/"
                    ),
                }
            )
        elif kind == "remove_table":
            problems.append(
                {
                    "table": table,
                    "column": "",
                    "kind": "removed-table",
                    "message": (
                        f"the table `{table}` is gone from the models: dropping it would delete "
                        "its rows. Keep the model, or drop the table yourself in a migration "
                        "under backend/migrations/versions/"
                    ),
                }
            )
        elif kind == "modify_nullable" and operation.get("new") is False:
            problems.append(
                {
                    "table": table,
                    "column": column,
                    "kind": "now-required",
                    "message": (
                        f"`{table}.{column}` became required: rows that have no value for it "
                        "would break. Keep it optional, or give it a default and fill the "
                        "empty rows in a migration under backend/migrations/versions/"
                    ),
                }
            )
    return problems


def describe_difference(difference: Any, defaults: dict[tuple[str, str], bool]) -> list[dict]:
    """One entry of Alembic's `compare_metadata` as plain dicts (a modification is a list of
    them). `defaults`: (table, column) -> whether the model gives the column a value of its own
    (a scalar default the migration turns into a server default)."""
    if isinstance(difference, list):
        return [entry for item in difference for entry in describe_difference(item, defaults)]
    kind = difference[0]
    if kind in ("add_table", "remove_table"):
        return [{"op": kind, "table": difference[1].name}]
    if kind in ("add_column", "remove_column"):
        table, column = difference[2], difference[3]
        return [
            {
                "op": kind,
                "table": table,
                "column": column.name,
                "nullable": bool(column.nullable),
                "default": column.server_default is not None
                or defaults.get((table, column.name), False),
                "python_type": _python_type(column),
            }
        ]
    if kind.startswith("modify_"):
        return [
            {
                "op": kind,
                "table": difference[2],
                "column": difference[3],
                "old": _plain(difference[5]),
                "new": _plain(difference[6]),
            }
        ]
    name = getattr(difference[1], "name", None) if len(difference) > 1 else None
    return [
        {
            "op": kind,
            "table": getattr(getattr(difference[1], "table", None), "name", ""),
            "name": name,
        }
    ]


def _plain(value: Any) -> Any:
    return value if isinstance(value, (bool, int, float, str)) or value is None else str(value)


def _python_type(column: Any) -> str:
    try:
        name = column.type.python_type.__name__
        return "str" if name == "object" else name
    except (NotImplementedError, AttributeError):
        return "str"


# --- impure: runs beside the app's code -------------------------------------------------------


def _emit(result: dict[str, Any]) -> None:
    print(MARKER + json.dumps(result), flush=True)


def _scalar_defaults(metadata: Any) -> dict[tuple[str, str], Any]:
    """(table, column) -> the model's scalar default (`favorite: bool = False`)."""
    found = {}
    for table in metadata.sorted_tables:
        for column in table.columns:
            default = column.default
            if default is not None and getattr(default, "is_scalar", False):
                found[(table.name, column.name)] = default.arg
    return found


def _config(temporary: str | None = None) -> Any:
    from alembic.config import Config

    config = Config("alembic.ini")
    if temporary is not None:
        config.set_main_option("version_locations", f"%(here)s/migrations/versions:{temporary}")
    return config


def _backup(engine: Any, folder: str, label: str) -> str | None:
    """A copy of a SQLite database (SQLite's own online backup: consistent while the app runs);
    None for another database (the report says so)."""
    import os
    import sqlite3
    import time

    if engine.url.get_backend_name() != "sqlite" or not engine.url.database:
        return None
    os.makedirs(folder, mode=0o700, exist_ok=True)
    target = os.path.join(folder, f"app-{time.strftime('%Y%m%d-%H%M%S')}-before-{label}.db")
    with sqlite3.connect(engine.url.database) as source, sqlite3.connect(target) as copy:
        source.backup(copy)
    return target


def migrate(message: str, backups: str) -> dict[str, Any]:
    import os
    import shutil
    import tempfile
    import time

    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy import inspect

    sys.path.insert(0, os.getcwd())
    import main  # noqa: F401  (its routers import every model)
    from db import engine
    from sqlmodel import SQLModel

    metadata = SQLModel.metadata
    config = _config()
    head = ScriptDirectory.from_config(config).get_current_head()
    with engine.connect() as connection:
        existing = set(inspect(connection).get_table_names())
        current = MigrationContext.configure(connection).get_current_revision()
    wanted = {table.name for table in metadata.sorted_tables}
    if not existing & wanted and VERSION_TABLE not in existing:
        return {"state": "fresh"}  # init_db makes it from the models and marks it up to date
    if current != head:
        command.upgrade(config, "head")  # the migrations it lacks, first
    defaults = _scalar_defaults(metadata)
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "render_as_batch": True}
        )
        differences = [
            entry
            for difference in compare_metadata(context, metadata)
            for entry in describe_difference(difference, {key: True for key in defaults})
            if entry.get("table") != VERSION_TABLE
        ]
    if not differences:
        return {"state": "current", "revision": head}
    problems = unmigratable(differences)
    backup = _backup(engine, backups, "unmigratable" if problems else "migration")
    if problems:
        return {
            "state": "unmigratable",
            "problems": problems,
            "backup": backup,
            "operations": differences,
        }

    def with_server_defaults(_context: Any, _revision: Any, directives: Any) -> None:
        # A required column with a model default: the rows already there get that value.
        from sqlalchemy import literal
        from sqlalchemy.schema import DefaultClause
        from sqlalchemy.sql import text

        for table_ops in directives[0].upgrade_ops.ops:
            for operation in getattr(table_ops, "ops", []):
                column = getattr(operation, "column", None)
                key = (getattr(operation, "table_name", ""), getattr(column, "name", ""))
                if column is None or column.server_default is not None or key not in defaults:
                    continue
                value = literal(defaults[key], column.type).compile(
                    dialect=engine.dialect, compile_kwargs={"literal_binds": True}
                )
                column.server_default = DefaultClause(text(str(value)))

    temporary = tempfile.mkdtemp(prefix="stepforge-migration-")
    config = _config(temporary)
    script = command.revision(
        config,
        message=message,
        autogenerate=True,
        version_path=temporary,
        process_revision_directives=with_server_defaults,
    )
    assert script is not None and not isinstance(script, list)
    began = time.monotonic()
    command.upgrade(config, "head")
    applied_in = round(time.monotonic() - began, 3)
    versions = os.path.join("migrations", "versions")
    os.makedirs(versions, exist_ok=True)
    target = os.path.join(versions, os.path.basename(script.path))
    shutil.move(script.path, target)
    return {
        "state": "migrated",
        "revision": script.revision,
        "previous": head,
        "file": "backend/" + target.replace(os.sep, "/"),
        "operations": differences,
        "backup": backup,
        "applied_seconds": applied_in,
    }


def downgrade(revision: str) -> dict[str, Any]:
    import os

    from alembic import command
    from alembic.migration import MigrationContext

    sys.path.insert(0, os.getcwd())
    from db import engine

    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    if current is None and revision == "base":
        return {"state": "current", "revision": None}
    command.downgrade(_config(), revision)
    return {"state": "downgraded", "revision": revision, "previous": current}


def run(argv: list[str]) -> int:
    try:
        if argv[0] == "migrate":
            _emit(migrate(argv[1], argv[2]))
        elif argv[0] == "downgrade":
            _emit(downgrade(argv[1]))
        else:
            raise SystemExit(f"unknown command {argv[0]}")
    except Exception as error:  # reported to the daemon, which says it in the user's terms
        import traceback

        traceback.print_exc()
        _emit({"state": "failed", "error": f"{error.__class__.__name__}: {error}"})
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
