"""The app's database: the one way backend code reaches it.

- `engine`: from the DATABASE_URL environment variable (the preview sets it to a SQLite file
  outside the source folders, or a Postgres); without it, `app.db` beside this file.
- `get_session`: a FastAPI dependency, `session: Session = Depends(get_session)`. It does not
  commit: a handler that changes rows calls `session.commit()` itself.
- `init_db()`: brings the database up to the models (main.py calls it at startup, after the
  routers and so the models are imported): the migrations of `migrations/versions/` not applied
  yet (Alembic; StepForge writes them when a change alters a table), then the tables of every
  imported `SQLModel, table=True` class that do not exist yet. A new database gets its tables
  at once and is marked as up to date with the migrations. Then `seed(session)` of `seed.py`, if
  there is one, runs once: on a database that held none of the app's tables.

Part of StepForge's app template.
"""

import importlib
import importlib.util
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, SQLModel, create_engine

DEFAULT_URL = f"sqlite:///{Path(__file__).resolve().with_name('app.db')}"
DATABASE_URL = os.environ.get("DATABASE_URL") or DEFAULT_URL

# SQLite objects belong to the thread that made them; FastAPI runs sync handlers in a pool.
_connect_args = {"check_same_thread": False} if DATABASE_URL.startswith("sqlite") else {}
engine = create_engine(DATABASE_URL, connect_args=_connect_args)


def get_session() -> Iterator[Session]:
    with Session(engine) as session:
        yield session


def _seed_function() -> Callable[[Session], None] | None:
    """`seed` of seed.py, if the app has one (imported before the tables are created, so the
    models it imports have tables too)."""
    if importlib.util.find_spec("seed") is None:
        return None
    return getattr(importlib.import_module("seed"), "seed", None)


MIGRATIONS = Path(__file__).resolve().with_name("migrations")


def _has_migrations() -> bool:
    versions = MIGRATIONS / "versions"
    return versions.is_dir() and any(versions.glob("*.py"))


def _migrate(command_name: str) -> None:
    # Imported only when there are migrations: an app without any starts as fast as before.
    from alembic import command
    from alembic.config import Config

    getattr(command, command_name)(Config(str(MIGRATIONS.with_name("alembic.ini"))), "head")


def init_db() -> None:
    seed = _seed_function()
    where = engine.url.render_as_string(hide_password=True)
    wanted = {table.name for table in SQLModel.metadata.sorted_tables}
    try:
        existing = set(inspect(engine).get_table_names())
        fresh = not existing & wanted and "alembic_version" not in existing
        migrated = _has_migrations()
        if migrated and not fresh:
            _migrate("upgrade")  # the schema changes since this database was made
        SQLModel.metadata.create_all(engine)  # new tables only: it never alters one
        if migrated and fresh:
            _migrate("stamp")  # made from today's models: every migration is in it already
    except SQLAlchemyError as error:
        # One line that names the database (the log's reader, and StepForge's status, need it);
        # nothing is deleted or made anew over it.
        reason = str(getattr(error, "orig", None) or error).splitlines()[0]
        raise RuntimeError(
            f"The database {where} cannot be used: {reason}. It was left as it is: fix or "
            "restore it, or point DATABASE_URL at another database"
        ) from error
    except Exception as error:
        if error.__class__.__module__.startswith("alembic"):
            raise RuntimeError(
                f"The database {where} cannot be migrated to the app's models: {error}. "
                "Its data is untouched; see backend/migrations/versions/"
            ) from error
        raise
    if seed is not None and wanted and not existing & wanted:
        # A new (or just reset) database: seeded once, so a dashboard has something to show.
        with Session(engine) as session:
            seed(session)
            session.commit()
