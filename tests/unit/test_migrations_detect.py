"""Which schema differences a migration can make without losing or inventing data, where the
report goes, and what undo goes back to (pure logic of server.preview.migrations)."""

from __future__ import annotations

from types import SimpleNamespace

from server.preview.migrations import (
    MigrationOutcome,
    problems_of,
    touches_models,
    undo_target,
)
from server.preview.migrations.inside import MARKER, describe_difference, unmigratable
from server.preview.migrations.runner import result_of


def add(table: str, column: str, nullable: bool, default: bool = False, kind: str = "int"):
    return {
        "op": "add_column",
        "table": table,
        "column": column,
        "nullable": nullable,
        "default": default,
        "python_type": kind,
    }


def remove(table: str, column: str):
    return {**add(table, column, True), "op": "remove_column"}


def kinds(operations) -> list[tuple[str, str]]:
    return [(p["kind"], p["column"]) for p in unmigratable(operations)]


def test_optional_fields_and_fields_with_a_default_migrate():
    assert unmigratable([add("task", "note", nullable=True)]) == []
    assert unmigratable([add("task", "pinned", nullable=False, default=True)]) == []
    assert unmigratable([{"op": "add_table", "table": "tag"}]) == []
    assert unmigratable([{"op": "modify_nullable", "table": "task", "column": "due",
                          "old": False, "new": True}]) == []  # fmt: skip


def test_a_required_field_without_a_default_is_refused_with_what_to_do():
    [problem] = unmigratable([add("task", "priority", nullable=False, kind="int")])
    assert problem["kind"] == "required-without-default"
    assert "`task.priority`" in problem["message"]
    assert "`priority: int = ...`" in problem["message"]
    assert "`priority: int | None = None`" in problem["message"]


def test_a_removed_and_an_added_column_of_one_table_look_like_a_rename():
    found = kinds([remove("task", "title"), add("task", "name", nullable=False, kind="str")])
    assert found == [("rename", "name")]  # reported once, as a rename, not three times
    [problem] = unmigratable([remove("task", "title"), add("task", "name", nullable=True)])
    assert "`task.title` seems renamed to `task.name`" in problem["message"]


def test_removals_would_delete_data_and_are_refused():
    assert kinds([remove("task", "due")]) == [("removed-column", "due")]
    [problem] = unmigratable([{"op": "remove_table", "table": "project"}])
    assert problem["kind"] == "removed-table" and "`project`" in problem["message"]
    # A removal in one table and an addition in another are no rename.
    found = kinds([remove("task", "due"), add("project", "color", nullable=True)])
    assert found == [("removed-column", "due")]


def test_a_column_that_becomes_required_is_refused():
    change = {"op": "modify_nullable", "table": "task", "column": "due", "old": True, "new": False}
    assert kinds([change]) == [("now-required", "due")]


def test_alembic_differences_become_plain_entries():
    column = SimpleNamespace(
        name="pinned",
        nullable=False,
        server_default=None,
        type=SimpleNamespace(python_type=bool),
    )
    [entry] = describe_difference(("add_column", None, "task", column), {("task", "pinned"): True})
    assert entry == add("task", "pinned", nullable=False, default=True, kind="bool")
    [entry] = describe_difference(("add_column", None, "task", column), {})
    assert entry["default"] is False
    modified = [("modify_nullable", None, "task", "due", {}, True, False)]
    assert describe_difference(modified, {}) == [
        {"op": "modify_nullable", "table": "task", "column": "due", "old": True, "new": False}
    ]
    table = SimpleNamespace(name="tag")
    assert describe_difference(("add_table", table), {}) == [{"op": "add_table", "table": "tag"}]


def test_the_steps_answer_is_its_last_marked_line():
    output = f'Generating x ...\n{MARKER}{{"state": "current"}}\nnoise\n'
    assert result_of(output) == {"state": "current"}
    assert result_of("Traceback ...\n") is None


def test_undo_goes_back_to_the_first_added_migrations_parent():
    first = 'revision = "b2"\ndown_revision: str | None = "a1"\n'
    second = 'revision: str = "c3"\ndown_revision = "b2"\n'
    paths = {
        "backend/migrations/versions/c3_second.py": second,
        "backend/migrations/versions/b2_first.py": first,
        "backend/models/task.py": 'revision = "zz"\ndown_revision = None\n',
    }
    assert undo_target(paths) == "a1"
    only = {"backend/migrations/versions/a1_first.py": 'revision = "a1"\ndown_revision = None\n'}
    assert undo_target(only) == "base"
    assert undo_target({"backend/models/task.py": "x = 1\n"}) is None


def test_only_backend_modules_outside_the_migrations_call_for_one():
    assert touches_models(["backend/models/task.py"])
    assert touches_models(["frontend/src/App.tsx", "backend/routers/tasks.py"])
    assert not touches_models(["frontend/src/App.tsx", "backend/requirements.txt"])
    assert not touches_models(["backend/migrations/versions/a1_x.py"])


def test_an_unmigratable_change_is_a_problem_on_the_model_that_owns_the_table():
    outcome = MigrationOutcome(
        state="unmigratable",
        database="docker volume stepforge-data-x",
        backup="/data/backups/app-before-unmigratable.db",
        problems=[{"table": "task", "column": "priority", "kind": "k", "message": "give it one"}],
    )
    sources = {
        "backend/models/project.py": "class Project(SQLModel, table=True):\n    pass\n",
        "backend/models/task.py": "from x import y\n\n\nclass Task(TaskCreate, table=True):\n",
    }
    [problem] = problems_of(outcome, sources)
    assert (problem.path, problem.line, problem.source) == (
        "backend/models/task.py",
        4,
        "migration",
    )
    assert problem.code == "unmigratable-schema-change"
    assert "give it one" in problem.message and "Its data is untouched" in problem.message
    assert "/data/backups/app-before-unmigratable.db" in problem.message
    named = {
        "backend/models/tasks.py": 'class Job(SQLModel, table=True):\n    __tablename__ = "task"\n'
    }
    assert problems_of(outcome, named)[0].line == 2
    assert problems_of(outcome, {})[0].path == "backend/db.py"
    assert problems_of(MigrationOutcome(state="migrated", database="d"), sources) == []


def test_a_database_left_behind_is_remembered_for_the_next_start(tmp_path):
    from server.preview.migrations import PENDING, mark_pending

    mark_pending(tmp_path, False)  # nothing to forget: fine
    mark_pending(tmp_path, True)
    assert (tmp_path / ".stepforge" / PENDING).is_file()
    mark_pending(tmp_path, False)
    assert not (tmp_path / ".stepforge" / PENDING).exists()
