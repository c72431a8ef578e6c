"""The app's database: the one way backend code reaches it.

- `engine`: from the DATABASE_URL environment variable (the preview sets it to a SQLite file
  outside the source folders, or a Postgres); without it, `app.db` beside this file.
- `get_session`: a FastAPI dependency, `session: Session = Depends(get_session)`. It does not
  commit: a handler that changes rows calls `session.commit()` itself.
- `init_db()`: creates the tables of every imported `SQLModel, table=True` class (main.py calls
  it at startup, after the routers and so the models are imported), then runs `seed(session)`
  of `seed.py`, if there is one, once: on a database that held none of the app's tables.

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


def init_db() -> None:
    seed = _seed_function()
    try:
        existing = set(inspect(engine).get_table_names())
        SQLModel.metadata.create_all(engine)
    except SQLAlchemyError as error:
        where = engine.url.render_as_string(hide_password=True)
        raise RuntimeError(f"The database {where} cannot be used: {error}") from error
    wanted = {table.name for table in SQLModel.metadata.sorted_tables}
    if seed is not None and wanted and not existing & wanted:
        # A new (or just reset) database: seeded once, so a dashboard has something to show.
        with Session(engine) as session:
            seed(session)
            session.commit()
