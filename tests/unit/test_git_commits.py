"""StepForge's commits with a real git in temporary folders: only StepForge's paths, the user's
index and edits untouched, the message and trailers history and undo read, the revert's merge."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import anyio
import pytest

from server.workspace.git.commits import commit_message
from server.workspace.git.history import run_commits
from server.workspace.git.ignore import committable, with_missing_lines
from server.workspace.git.record import RunRecord
from server.workspace.git.recorder import GitRecorder
from server.workspace.git.repository import FALLBACK_EMAIL, find_repository
from server.workspace.git.revert import RevertOutcome, revert_file
from server.workspace.git.trailers import last_undoable_change, parse_run

IDENTITY = {
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_CONFIG_NOSYSTEM": "1",
}


@pytest.fixture(autouse=True)
def _no_global_git_config(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in IDENTITY.items():
        monkeypatch.setenv(key, value)
    for key in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_DIR", "GIT_INDEX_FILE"):
        monkeypatch.delenv(key, raising=False)


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, check=True, capture_output=True, text=True
    ).stdout


def user_repository(root: Path) -> Path:
    """A repository with a commit of its own, an uncommitted edit and a staged file."""
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q")
    git(root, "config", "user.name", "Ada")
    git(root, "config", "user.email", "ada@example.com")
    (root / "mine.txt").write_text("mine\n")
    (root / "app.py").write_text("print('v1')\n")
    git(root, "add", ".")
    git(root, "commit", "-qm", "my start")
    (root / "mine.txt").write_text("mine, edited\n")  # uncommitted
    (root / "staged.txt").write_text("staged\n")
    git(root, "add", "staged.txt")
    return root


def finish(root: Path, run: RunRecord, enabled: bool = True) -> Any:
    warnings: list[str] = []

    async def main() -> Any:
        return await GitRecorder(enabled, warnings.append).run_finished(root, run)

    outcome = anyio.run(main)
    finish.warnings = warnings  # type: ignore[attr-defined]
    return outcome


def test_a_run_commits_only_its_paths_and_leaves_the_index_and_edits_alone(tmp_path):
    root = user_repository(tmp_path / "app")
    (root / "app.py").write_text("print('v2')\n")
    (root / "new.py").write_text("x = 1\n")
    (root / ".stepforge").mkdir()
    (root / ".stepforge/plan.json").write_text("{}\n")
    (root / ".stepforge/state.json").write_text("{}\n")
    run = RunRecord("generate", request="a task manager")
    for path in ("app.py", "new.py", ".stepforge/plan.json", ".stepforge/state.json"):
        run.wrote(path)
    outcome = finish(root, run)
    assert outcome.sha and not outcome.warning, outcome
    changed = git(root, "show", "--name-only", "--format=", "HEAD").split()
    assert sorted(changed) == [".gitignore", ".stepforge/plan.json", "app.py", "new.py"]
    # The user's staged file is still staged and not committed, their edit still uncommitted.
    status = git(root, "status", "--porcelain").splitlines()
    assert "A  staged.txt" in status and " M mine.txt" in status
    assert (root / "mine.txt").read_text() == "mine, edited\n"
    assert not any(line.endswith(("app.py", "new.py")) for line in status)
    message = git(root, "log", "-1", "--format=%B")
    assert message.startswith("StepForge generate 1: a task manager")
    assert "StepForge-Run: generate 1" in message
    assert git(root, "log", "-1", "--format=%an").strip() == "Ada"  # the user's identity wins


def test_a_folder_without_git_gets_one_with_a_gitignore_and_a_fallback_identity(tmp_path):
    root = tmp_path / "fresh"
    root.mkdir()
    (root / "page.tsx").write_text("export {}\n")
    run = RunRecord("plan")
    run.wrote("page.tsx")
    outcome = finish(root, run)
    assert outcome.sha
    assert git(root, "log", "-1", "--format=%ae").strip() == FALLBACK_EMAIL
    ignore = (root / ".gitignore").read_text()
    assert "node_modules/" in ignore and "!.stepforge/plan.json" in ignore
    assert sorted(git(root, "show", "--name-only", "--format=", "HEAD").split()) == [
        ".gitignore",
        "page.tsx",
    ]


def test_a_users_gitignore_is_only_appended_to():
    mine = "secrets/\nnode_modules/\n"
    text = with_missing_lines(mine)
    assert text is not None and text.startswith(mine)
    assert text.count("node_modules/") == 1 and "dist/" in text
    assert with_missing_lines(text) is None


def test_nothing_private_under_stepforge_is_committable():
    assert committable(".stepforge/plan.json")
    assert not committable(".stepforge/state.json")
    assert not committable(".stepforge/baselines/ab/cd")
    assert not committable("../outside.txt") and not committable(".git/config")


def test_no_commit_in_the_middle_of_a_rebase(tmp_path):
    root = user_repository(tmp_path / "app")
    (root / ".git/rebase-merge").mkdir()
    (root / "app.py").write_text("print('v2')\n")
    run = RunRecord("regenerate")
    run.wrote("app.py")
    outcome = finish(root, run)
    assert outcome.warning and outcome.sha is None
    assert "in the middle of a rebase" in outcome.message and "no commit" in outcome.message
    assert finish.warnings == [outcome.message]  # type: ignore[attr-defined]
    assert git(root, "log", "--format=%s").splitlines() == ["my start"]
    assert (root / "app.py").read_text() == "print('v2')\n"


def test_a_failing_pre_commit_hook_is_reported_and_the_index_untouched(tmp_path):
    root = user_repository(tmp_path / "app")
    hook = root / ".git/hooks/pre-commit"
    hook.write_text("#!/bin/sh\necho 'lint failed: no' >&2\nexit 1\n")
    hook.chmod(0o755)
    index_before = (root / ".git/index").read_bytes()
    (root / "app.py").write_text("print('v2')\n")
    run = RunRecord("change", request="x", number=4)
    run.wrote("app.py")
    outcome = finish(root, run)
    assert outcome.warning and "lint failed: no" in outcome.message
    assert "files are written" in outcome.message
    assert git(root, "log", "--format=%s").splitlines() == ["my start"]
    assert (root / ".git/index").read_bytes() == index_before
    assert not list((root / ".git").glob("stepforge-index-*"))


def test_git_off_makes_no_commit(tmp_path):
    root = tmp_path / "off"
    root.mkdir()
    (root / "a.py").write_text("a\n")
    run = RunRecord("generate")
    run.wrote("a.py")
    assert finish(root, run, enabled=False) is None
    assert not (root / ".git").exists()


def test_history_reads_runs_and_undo_finds_the_change_with_its_parts(tmp_path):
    root = user_repository(tmp_path / "app")
    for job, number, part_of, text in (
        ("change", 1, None, "one"),
        ("resolve", 1, "change 1", "two"),
        ("generate", 1, None, "three"),
    ):
        (root / "app.py").write_text(text + "\n")
        run = RunRecord(job, number=number)
        if part_of:
            run.trailers["StepForge-Part-Of"] = part_of
        run.wrote("app.py")
        assert finish(root, run).sha

    async def commits() -> list:
        repository = await find_repository(root)
        assert repository is not None
        return await run_commits(repository)

    found = anyio.run(commits)
    assert [c.run for c in found] == ["generate 1", "resolve 1", "change 1"]
    assert found[0].files == {"app.py": "modified"}
    group = last_undoable_change(found)
    assert group is not None and [c.run for c in group] == ["change 1", "resolve 1"]
    assert parse_run("change 12") == ("change", 12) and parse_run("nope") is None


def test_the_message_says_what_ran():
    run = RunRecord("change", request="add a favorites page")
    run.wrote("a.tsx")
    run.wrote("b.py", merged=True)
    run.conflict("c.py")
    run.fail("d.py", "the model gave up")
    message = commit_message(run, 3)
    assert message.splitlines()[0] == "StepForge change 3: add a favorites page"
    assert "Merged with your uncommitted edits" in message and "  b.py" in message
    assert "In conflict, not committed" in message and "  c.py" in message
    assert "d.py: the model gave up" in message
    assert message.rstrip().endswith("StepForge-Run: change 3")


def test_the_revert_keeps_later_edits_with_gits_merge():
    before = b"a\nb\nc\nd\ne\nf\n"
    after = b"a\nB\nc\nd\ne\nf\n"
    assert revert_file(before, after, after).content == before
    merged = revert_file(before, after, b"a\nB\nc\nd\ne\nf\nmine\n")
    assert merged.outcome is RevertOutcome.MERGED and merged.content == before + b"mine\n"
    conflict = revert_file(before, after, b"a\nMINE\nc\nd\ne\nf\n")
    assert conflict.outcome is RevertOutcome.CONFLICT and conflict.content is None
    assert revert_file(None, b"new\n", b"new\n").content is None  # added: removed again
    assert revert_file(None, b"new\n", b"new, mine\n").outcome is RevertOutcome.KEPT


def test_a_workspace_inside_a_bigger_repository_commits_and_reads_only_its_own_paths(tmp_path):
    outer = user_repository(tmp_path / "monorepo")
    workspaces = [outer / "apps/one", outer / "apps/two"]
    for root in workspaces:
        root.mkdir(parents=True)
        (root / "app.py").write_text(f"print({root.name!r})\n")
        run = RunRecord("generate")
        run.wrote("app.py")
        outcome = finish(root, run)
        assert outcome.sha and not outcome.warning, outcome
        assert sorted(git(outer, "show", "--name-only", "--format=", "HEAD").split()) == [
            f"apps/{root.name}/.gitignore",
            f"apps/{root.name}/app.py",
        ]
    assert not (workspaces[0] / ".git").exists()  # the enclosing repository, no nested one
    status = git(outer, "status", "--porcelain").splitlines()
    assert "A  staged.txt" in status and " M mine.txt" in status

    async def history(root: Path) -> list:
        repository = await find_repository(root)
        assert repository is not None and repository.top == outer
        return await run_commits(repository)

    # Each workspace reads its own commits, paths relative to it, numbered on its own.
    [one] = anyio.run(history, workspaces[0])
    assert one.run == "generate 1" and one.files == {".gitignore": "added", "app.py": "added"}
    assert [c.run for c in anyio.run(history, workspaces[1])] == ["generate 1"]


def test_a_worktree_whose_git_is_a_file_gets_the_commit_on_its_own_branch(tmp_path):
    main = user_repository(tmp_path / "main")
    main_head = git(main, "rev-parse", "HEAD").strip()
    tree = tmp_path / "tree"
    git(main, "worktree", "add", "-q", "-b", "side", str(tree))
    assert (tree / ".git").is_file()
    (tree / "staged.txt").write_text("staged in the worktree\n")
    git(tree, "add", "staged.txt")
    (tree / "app.py").write_text("print('v2')\n")
    run = RunRecord("regenerate")
    run.wrote("app.py")
    outcome = finish(tree, run)
    assert outcome.sha and not outcome.warning, outcome
    assert git(tree, "rev-parse", "side").strip() == outcome.sha
    assert git(main, "rev-parse", "HEAD").strip() == main_head
    assert git(tree, "show", "--name-only", "--format=", "HEAD").split() == [".gitignore", "app.py"]
    assert "A  staged.txt" in git(tree, "status", "--porcelain").splitlines()
    assert not list((main / ".git").rglob("stepforge-index-*"))


def test_without_git_on_the_path_the_run_is_told_and_nothing_is_made(tmp_path, monkeypatch):
    root = tmp_path / "app"
    root.mkdir()
    (root / "a.py").write_text("a\n")
    monkeypatch.setenv("PATH", str(tmp_path / "no-programs-here"))
    run = RunRecord("generate")
    run.wrote("a.py")
    outcome = finish(root, run)
    assert outcome.warning and outcome.sha is None
    assert "git is not installed" in outcome.message and "STEPFORGE_GIT=false" in outcome.message
    assert not (root / ".git").exists() and (root / "a.py").read_text() == "a\n"


def test_a_file_edited_after_it_was_staged_stays_staged_and_edited(tmp_path):
    root = user_repository(tmp_path / "app")
    (root / "staged.txt").write_text("staged, then edited again\n")  # `AM` in git status
    index_before = git(root, "ls-files", "-s", "staged.txt")
    (root / "app.py").write_text("print('v2')\n")
    run = RunRecord("undo")
    run.wrote("app.py")
    outcome = finish(root, run)
    assert outcome.sha and not outcome.warning, outcome
    assert git(root, "show", "--name-only", "--format=", "HEAD").split() == [".gitignore", "app.py"]
    assert "AM staged.txt" in git(root, "status", "--porcelain").splitlines()
    assert git(root, "ls-files", "-s", "staged.txt") == index_before
    assert (root / "staged.txt").read_text() == "staged, then edited again\n"


def test_the_derived_files_are_the_ones_the_checks_write():
    from server.checks.api_types import TYPES_FILE
    from server.workspace.git.recorder import DERIVED_FILES

    assert TYPES_FILE in DERIVED_FILES
