"""A database the app cannot use is named from the backend's log (pure logic of
server.preview.database)."""

from __future__ import annotations

from server.preview.database import database_error

LOG = [
    "INFO:     Started server process [7]",
    "Traceback (most recent call last):",
    '  File "/workspace/backend/db.py", line 80, in init_db',
    "sqlalchemy.exc.DatabaseError: (sqlite3.DatabaseError) file is not a database",
    "RuntimeError: The database sqlite:////data/app.db cannot be used: file is not a database. "
    "It was left as it is: fix or restore it, or point DATABASE_URL at another database",
    "ERROR:    Application startup failed. Exiting.",
]


def test_the_backends_database_error_names_the_database():
    found = database_error(LOG)
    assert found is not None
    assert found.startswith("The database sqlite:////data/app.db cannot be used: file is not")
    assert "It was left as it is" in found


def test_a_migration_error_is_one_too_and_the_last_one_counts():
    migrated = "RuntimeError: The database postgresql://app:***@db/app cannot be migrated: x"
    assert database_error([*LOG, migrated]) == (
        "The database postgresql://app:***@db/app cannot be migrated: x"
    )


def test_other_errors_are_not_database_errors():
    assert database_error(["RuntimeError: something else", "INFO: ok"]) is None
    assert database_error([]) is None
