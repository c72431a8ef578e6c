"""Alembic's environment: the app's tables (every `SQLModel, table=True` class the routers
import) against the database of db.py. Batch mode, so SQLite can alter a table (it copies it).

Part of StepForge's app template.
"""

import sys
from pathlib import Path

from alembic import context
from sqlmodel import SQLModel

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the backend folder

import main  # noqa: E402,F401  (its routers import every model)
from db import engine  # noqa: E402


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    with engine.connect() as connection:
        _run(connection)


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("Offline (--sql) migrations are not supported: run them against DATABASE_URL.")
run_migrations_online()
