"""Undo and repair around the user's own files, through the `stepforge` command and the real daemon
(issue 21): a conflict the user settled during a change is part of the change, undo says what the
files it kept now break, and a file in conflict never sends the healthy files that import it to
repair."""

from __future__ import annotations

import json

import pytest

from protocol.models import Problem
from server.change.undo import kept_breakage
from server.checks.project import Project
from server.repair.causes import cause_of
from tests.conftest import copy_app, daemon_env, run_cli
from tests.fake_groq import AppResponder, ScriptedApp
from tests.fake_groq.changes import MODIFICATIONS, REQUEST, favorites_responder

APP = ScriptedApp.fixture()
MODEL = "backend/models/task.py"
# What imports the task model in the scripted app: none of them is broken by itself.
MODEL_IMPORTERS = {
    "backend/routers/tasks.py",
    "backend/seed.py",
    "backend/services/stats.py",
    "backend/services/task_store.py",
}


def problem(path: str, line: int, message: str) -> Problem:
    return Problem(path=path, line=line, code="x", message=message, source="imports")


# --- the rule, on an in-memory project (milliseconds) ----------------------------------------------


def test_a_problem_comes_from_an_imported_file_by_its_line_or_its_names():
    project = Project(
        None,
        {
            "backend/models/task.py": "x = 1\n",
            "backend/routers/tasks.py": "import os\nfrom models.task import Task\n\nos.sep\n",
            "frontend/src/types/task.ts": "export const x = 1;\n",
            "frontend/src/pages/A.tsx": 'import { Task } from "../types/task";\nlet y = 2;\n',
        },
    )
    culprits = {"backend/models/task.py", "frontend/src/types/task.ts"}
    on_import = problem("backend/routers/tasks.py", 2, "`Task` is not defined in models.task")
    names_it = problem("backend/routers/tasks.py", 4, "Undefined name `Task`")
    unrelated = problem("backend/routers/tasks.py", 4, "`os.sepp` does not exist")
    ts_use = problem("frontend/src/pages/A.tsx", 2, "Cannot find name 'Task'.")
    assert cause_of(project, on_import, culprits) == "backend/models/task.py"
    assert cause_of(project, names_it, culprits) == "backend/models/task.py"
    assert cause_of(project, unrelated, culprits) is None
    assert cause_of(project, ts_use, culprits) == "frontend/src/types/task.ts"
    # A culprit's own problem is its own; a word that merely contains the name is not the name.
    assert cause_of(project, problem("backend/models/task.py", 1, "Task"), culprits) is None
    assert cause_of(project, problem("frontend/src/pages/A.tsx", 2, "TaskList"), culprits) is None
    breaks = kept_breakage(project, {"frontend/src/types/task.ts"}, [ts_use, unrelated])
    assert breaks == {"frontend/src/types/task.ts": [ts_use]}


# --- end to end -----------------------------------------------------------------------------------


@pytest.fixture
def responder() -> AppResponder:
    return favorites_responder(AppResponder(ScriptedApp.fixture()))


@pytest.mark.slow
def test_undo_restores_a_settled_conflict_and_says_what_a_kept_file_breaks(
    fake_groq, generated_once, workspace
):
    app = copy_app(generated_once, workspace)
    env = daemon_env(fake_groq)
    model = app / MODEL
    anchor = MODIFICATIONS[MODEL][0]  # where the change adds its field: the user adds one too
    assert anchor in model.read_text()
    mine = model.read_text().replace(anchor, anchor + "    starred: bool = False\n")
    model.write_text(mine)
    changed = run_cli(
        "change", REQUEST, "--workspace", str(app), "--no-repair", "--json", env=env, timeout=600
    )
    assert changed.returncode == 4, changed.stderr
    [conflict] = json.loads(changed.stdout)["conflicts"]
    assert conflict["path"] == MODEL and model.read_text() == mine
    # The user takes the change's version of the model, then edits the page the change added.
    settled = run_cli(
        "resolve", conflict["conflictId"], "--workspace", str(app), "--choice", "generated", env=env
    )
    assert settled.returncode == 0, settled.stderr
    assert "favorite: bool = False" in model.read_text()
    page = app / "frontend/src/pages/Favorites.tsx"
    page.write_text(page.read_text() + "// my tweak\n")

    undone = run_cli("undo", "--workspace", str(app), env=env)
    # The settled model is the change's and goes back to the user's version before the change;
    # the edited page is kept, and undo says that it now imports what the undo took away.
    assert model.read_text() == mine
    assert page.read_text().endswith("// my tweak\n")
    assert "kept frontend/src/pages/Favorites.tsx (you edited it); it now breaks:" in undone.stdout
    assert "fetchFavorites" in undone.stdout
    assert undone.returncode == 1, undone.stdout + undone.stderr
    history = json.loads((app / ".stepforge/history/0001.json").read_text())
    assert history["status"] == "undone"
    assert history["files"][MODEL]["resolved"] == "generated"
    state = json.loads((app / ".stepforge/state.json").read_text())
    assert not state["conflicts"]


@pytest.mark.slow
def test_a_file_in_conflict_does_not_send_its_importers_to_repair(fake_groq, responder, workspace):
    env = daemon_env(fake_groq)
    planned = run_cli("plan", "a task manager", "--workspace", str(workspace), env=env)
    assert planned.returncode == 0, planned.stderr
    notes = "# my notes, café\nNOTES = 1\n".encode("latin-1")  # not UTF-8, no `Task`
    (workspace / "backend/models").mkdir(parents=True, exist_ok=True)
    (workspace / MODEL).write_bytes(notes)
    generated = run_cli("generate", "--workspace", str(workspace), "--json", env=env, timeout=600)
    result = json.loads(generated.stdout)
    assert (workspace / MODEL).read_bytes() == notes  # the user's file, untouched
    assert [c["path"] for c in result["conflicts"]] == [MODEL]
    # Each importer was asked once, to be generated; never again to be rewritten around the
    # conflict (their only problems are the model's doing).
    assert {p: responder.calls_by_path.get(p) for p in MODEL_IMPORTERS} == dict.fromkeys(
        MODEL_IMPORTERS, 1
    )
    assert not set(result.get("repaired", [])) & MODEL_IMPORTERS
    pointed = [p for p in result["problems"] if p["path"] in MODEL_IMPORTERS]
    assert pointed, "the importers' problems are reported"
    assert all(f"caused by {MODEL}, which is in conflict" in p["message"] for p in pointed)
