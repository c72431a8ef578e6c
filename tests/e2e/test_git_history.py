"""Every StepForge run is one git commit of only its own paths, through the `stepforge` command:
the user's commits, staged changes and uncommitted edits are left as they were, undo is a revert
that keeps the user's later edits (or reports the conflict), `git: false` makes no commit, and a
failing hook of the user's is reported, never silently skipped.

One change is made for the whole module (on a copy of the session's generated app); each test
undoes it in a copy of its own. What is pure git (a rebase in progress, identities, worktrees, a
workspace inside a bigger repository) is proven in tests/unit/test_git_commits.py.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import copy_app, daemon_env, run_cli
from tests.fake_groq import AppResponder, FakeGroq, ScriptedApp
from tests.fake_groq.changes import MODIFICATIONS, NEW_FILES, REQUEST, favorites_responder

# The module's first test waits for the session's generated app and the module's change: minutes
# on a loaded machine, about a minute on a quiet one.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
TOUCHED = {*NEW_FILES, *MODIFICATIONS}
# Files a change may write besides its planned ones: the plan, the registries, the manifests.
BESIDE = {
    ".stepforge/plan.json",
    "frontend/src/api/schema.d.ts",  # the derived API types ride along with any run
    "frontend/src/routes.tsx",
    "backend/router_registry.py",
    "frontend/package.json",
    "backend/requirements.txt",
    "backend/pyproject.toml",
}


@pytest.fixture
def responder() -> AppResponder:
    return favorites_responder(AppResponder(ScriptedApp.fixture()))


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, check=True, capture_output=True, text=True
    ).stdout


def commits(root: Path) -> list[str]:
    return git(root, "log", "--format=%H").split()


def files_of(root: Path, commit: str = "HEAD") -> set[str]:
    return set(git(root, "show", "--name-only", "--format=", commit).split())


def users_work(root: Path) -> dict[str, bytes]:
    """A commit of the user's own, an uncommitted edit and a staged file."""
    git(root, "config", "user.name", "Ada")
    git(root, "config", "user.email", "ada@example.com")
    (root / "NOTES.md").write_text("my notes\n")
    git(root, "add", "NOTES.md")
    git(root, "commit", "-qm", "my notes")
    (root / "NOTES.md").write_text("my notes, still being written\n")
    (root / "staged.txt").write_text("staged, not committed\n")
    git(root, "add", "staged.txt")
    return {"NOTES.md": (root / "NOTES.md").read_bytes()}


def assert_users_work_kept(root: Path, edits: dict[str, bytes]) -> None:
    status = git(root, "status", "--porcelain").splitlines()
    assert "A  staged.txt" in status and " M NOTES.md" in status, status
    for path, data in edits.items():
        assert (root / path).read_bytes() == data


@dataclass(frozen=True)
class Changed:
    root: Path  # the app after the change: tests copy it, never change it
    generated_subjects: list[str]  # the log as plan and generate left it
    start: list[str]  # the commits before the change (the user's own on top)
    edits: dict[str, bytes]
    result: subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def changed_once(generated_once: Path, tmp_path_factory: pytest.TempPathFactory) -> Changed:
    """The generated app with the user's own work, then the favorites change (one for the
    module: the change is what costs, undo is cheap)."""
    root = copy_app(generated_once, tmp_path_factory.mktemp("changed") / "project")
    subjects = git(root, "log", "--format=%s").splitlines()
    edits = users_work(root)
    start = commits(root)
    with FakeGroq(favorites_responder(AppResponder(ScriptedApp.fixture()))) as fake:
        result = run_cli(
            "change",
            REQUEST,
            "--workspace",
            str(root),
            "--no-repair",
            "--json",
            env=daemon_env(fake),
            timeout=600,
        )
    return Changed(root, subjects, start, edits, result)


def test_plan_generate_and_change_are_one_commit_each_of_stepforges_paths(changed_once):
    root = changed_once.root
    # The generated app got its repository with the plan's and the generate's commits.
    assert changed_once.generated_subjects == [
        "StepForge generate 1",
        "StepForge plan 1: a task manager",
    ]
    assert "!.stepforge/plan.json" in (root / ".gitignore").read_text()
    generate_commit = changed_once.start[1]  # under the user's own commit
    assert not any(
        p.startswith(".stepforge/") and p != ".stepforge/plan.json"
        for p in files_of(root, generate_commit)
    )
    assert changed_once.result.returncode == 0, changed_once.result.stderr
    assert json.loads(changed_once.result.stdout)["commit"]["sha"] == commits(root)[0]
    assert commits(root)[1:] == changed_once.start  # exactly one commit
    touched = files_of(root)
    assert TOUCHED <= touched <= TOUCHED | BESIDE, touched - TOUCHED - BESIDE
    message = git(root, "log", "-1", "--format=%B")
    assert message.startswith(f"StepForge change 1: {REQUEST[:40]}")
    assert "StepForge-Run: change 1" in message
    assert_users_work_kept(root, changed_once.edits)


def test_undo_is_one_revert_commit_that_keeps_the_users_uncommitted_edit(
    changed_once, workspace, fake_groq
):
    app = copy_app(changed_once.root, workspace)
    env = daemon_env(fake_groq)
    # The user edits a file of the change (uncommitted); undo takes the change back around it.
    types_file = app / "frontend/src/types/task.ts"
    before_change = git(app, "show", f"{changed_once.start[0]}:frontend/src/types/task.ts")
    types_file.write_text(types_file.read_text() + "// mine\n")
    undone = run_cli("undo", "--workspace", str(app), "--json", env=env)
    assert undone.returncode == 0, undone.stderr
    result = json.loads(undone.stdout)
    assert commits(app)[2:] == changed_once.start and result["commit"]["sha"] == commits(app)[0]
    message = git(app, "log", "-1", "--format=%B")
    assert message.startswith('Revert "StepForge change 1')
    assert f"StepForge-Reverts: {commits(app)[1]}" in message
    assert files_of(app) <= TOUCHED | BESIDE
    assert types_file.read_text() == before_change + "// mine\n"  # git's merge kept the line
    # The merged file is committed as merged: the user's line rides along, and the message says so.
    assert git(app, "show", "HEAD:frontend/src/types/task.ts") == before_change + "// mine\n"
    assert (
        "Merged with your uncommitted edits" in message and "frontend/src/types/task.ts" in message
    )
    for path in NEW_FILES:
        assert not (app / path).exists()
    assert_users_work_kept(app, changed_once.edits)
    history = json.loads(run_cli("history", "--workspace", str(app), "--json", env=env).stdout)
    kinds = [(e["kind"], e["status"]) for e in history["entries"]]
    assert kinds == [
        ("plan", "applied"),
        ("generate", "applied"),
        ("change", "undone"),
        ("undo", "applied"),
    ]


def test_undo_reports_a_conflict_with_a_committed_edit_and_keeps_it(
    changed_once, workspace, fake_groq
):
    app = copy_app(changed_once.root, workspace)
    model = app / "backend/models/task.py"
    _, replace = MODIFICATIONS["backend/models/task.py"]
    mine = model.read_text().replace(replace, replace + "    # mine, on the change's line\n")
    model.write_text(mine)
    git(app, "commit", "-qm", "my edit on top of the change", "--", "backend/models/task.py")
    undone = run_cli("undo", "--workspace", str(app), "--json", env=daemon_env(fake_groq))
    result = json.loads(undone.stdout)
    [conflict] = result["conflicts"]
    assert conflict["path"] == "backend/models/task.py"
    assert model.read_text() == mine  # never overwritten
    assert "backend/models/task.py" not in files_of(app)
    assert "in conflict with your edits" in result["message"]


def test_a_failing_hook_is_reported_and_the_undo_stays_written(changed_once, workspace, fake_groq):
    app = copy_app(changed_once.root, workspace)
    hook = app / ".git/hooks/pre-commit"
    hook.write_text("#!/bin/sh\necho 'my linter says no' >&2\nexit 1\n")
    hook.chmod(0o755)
    before = commits(app)
    undone = run_cli("undo", "--workspace", str(app), env=daemon_env(fake_groq))
    assert undone.returncode == 0, undone.stderr
    for path in NEW_FILES:  # the undo is done, only its commit is missing
        assert not (app / path).exists()
    assert commits(app) == before
    assert "my linter says no" in undone.stderr and "files are written" in undone.stderr
    assert_users_work_kept(app, changed_once.edits)


def test_git_off_makes_no_repository_and_history_says_it_needs_git(fake_groq, workspace):
    env = daemon_env(fake_groq, STEPFORGE_GIT="false")
    planned = run_cli("plan", "a task manager", "--workspace", str(workspace), env=env)
    assert planned.returncode == 0, planned.stderr
    assert not (workspace / ".git").exists() and not (workspace / ".gitignore").exists()
    history = run_cli("history", "--workspace", str(workspace), env=env)
    assert history.returncode != 0 and "setting git is off" in history.stderr
