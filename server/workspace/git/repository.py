"""Running git for a workspace: the one way StepForge starts git for its history.

Every call runs through anyio (never blocking the event loop) with the tool environment (no
secret reaches git or the user's hooks), never prompts, and ignores the daemon's own GIT_DIR,
GIT_INDEX_FILE and GIT_WORK_TREE: a daemon started from inside a hook must still work on the
workspace's repository.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import anyio

from server.errors import ConfigurationError, StepForgeError
from server.tool_env import tool_environment

# When git knows no identity (a CI machine), commits are StepForge's; the user's identity wins.
FALLBACK_NAME = "StepForge"
FALLBACK_EMAIL = "stepforge@localhost"
# What git itself clears when it moves to another repository (its `local_repo_env`): a daemon
# started from a hook or an alias inherits them, and they would point git at the wrong repository.
_IGNORED_VARIABLES = (
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_CONFIG",
    "GIT_CONFIG_COUNT",
    "GIT_CONFIG_PARAMETERS",
    "GIT_DIR",
    "GIT_GRAFT_FILE",
    "GIT_IMPLICIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_NO_REPLACE_OBJECTS",
    "GIT_OBJECT_DIRECTORY",
    "GIT_PREFIX",
    "GIT_REPLACE_REF_BASE",
    "GIT_SHALLOW_FILE",
    "GIT_WORK_TREE",
)
GIT_MISSING = (
    "git is not installed (no `git` on PATH): StepForge keeps its history in git. Install git, "
    "or turn the setting git off (STEPFORGE_GIT=false, or initializationOptions.git: false)."
)
# The files git keeps while an operation is half done: a commit then would land in its middle.
_IN_PROGRESS = (
    ("rebase-merge", "a rebase"),
    ("rebase-apply", "a rebase (or `git am`)"),
    ("MERGE_HEAD", "a merge"),
    ("CHERRY_PICK_HEAD", "a cherry-pick"),
    ("REVERT_HEAD", "a revert"),
    ("sequencer", "a cherry-pick or revert sequence"),
)


class GitError(StepForgeError):
    """git failed where StepForge needed it (the message carries git's own words)."""


@dataclass(frozen=True)
class GitOutput:
    returncode: int
    stdout: bytes
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def text(self) -> str:
        return self.stdout.decode("utf-8", "replace")


def git_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in tool_environment().items() if k not in _IGNORED_VARIABLES}
    env["GIT_TERMINAL_PROMPT"] = "0"  # never wait for a password nobody types
    env.update(extra or {})
    return env


async def run_git(
    cwd: Path,
    *args: str,
    input: bytes | None = None,
    env: dict[str, str] | None = None,
    check: bool = True,
) -> GitOutput:
    """`git ARGS` in `cwd`; a failure raises GitError unless `check` is off, a missing git a
    ConfigurationError saying what to do."""
    environment = git_environment(env)
    try:
        completed = await anyio.run_process(
            ["git", *args], input=input, cwd=cwd, env=environment, check=False
        )
    except FileNotFoundError:  # no git, or no such folder (a few stats, on this path only)
        if shutil.which("git", path=environment.get("PATH")) is None:
            raise ConfigurationError(GIT_MISSING) from None
        raise GitError(f"git {args[0]} could not start: the folder {cwd} does not exist") from None
    output = GitOutput(
        completed.returncode, completed.stdout, completed.stderr.decode("utf-8", "replace")
    )
    if check and not output.ok:
        raise GitError(f"git {args[0]} failed in {cwd}: {output.stderr.strip() or output.text}")
    return output


@dataclass(frozen=True)
class Repository:
    """The git repository a workspace is in (its top level may be a parent folder)."""

    root: Path  # the workspace
    top: Path
    git_dir: Path

    async def git(
        self,
        *args: str,
        input: bytes | None = None,
        env: dict[str, str] | None = None,
        check: bool = True,
    ) -> GitOutput:
        return await run_git(self.root, *args, input=input, env=env, check=check)

    def operation_in_progress(self) -> str | None:
        """What half-done operation the repository is in (blocking, a few stats), or None."""
        for name, what in _IN_PROGRESS:
            if (self.git_dir / name).exists():
                return what
        return None

    async def identity_options(self) -> list[str]:
        """`-c user.name=... -c user.email=...` for what git lacks (its config or environment)."""
        found = await self.git("config", "--get-regexp", r"^user\.(name|email)$", check=False)
        keys = {line.split(" ", 1)[0] for line in found.text.splitlines()}
        options = []
        if "user.name" not in keys and not os.environ.get("GIT_AUTHOR_NAME"):
            options += ["-c", f"user.name={FALLBACK_NAME}"]
        if "user.email" not in keys and not os.environ.get("GIT_AUTHOR_EMAIL"):
            options += ["-c", f"user.email={FALLBACK_EMAIL}"]
        return options

    async def head(self) -> str | None:
        found = await self.git("rev-parse", "-q", "--verify", "HEAD^{commit}", check=False)
        return found.text.strip() or None if found.ok else None


async def find_repository(root: Path) -> Repository | None:
    """The repository around `root` (`root` itself, or a folder above it; `.git` a folder or, in
    a worktree, a file), or None when it is in none. GitError when git cannot tell (a repository
    git refuses, such as one owned by another user): never a new repository inside that one."""
    found = await run_git(root, "rev-parse", "--show-toplevel", "--absolute-git-dir", check=False)
    lines = found.text.splitlines()
    if found.ok and len(lines) >= 2:
        return Repository(root=root, top=Path(lines[0]), git_dir=Path(lines[1]))
    if "not a git repository" in found.stderr:
        return None
    raise GitError(
        f"git cannot use the repository around {root}: {found.stderr.strip() or found.text}"
    )


async def open_repository(root: Path) -> tuple[Repository, bool]:
    """The workspace's repository, made with `git init` when there is none (then True)."""
    repository = await find_repository(root)
    if repository is not None:
        return repository, False
    await run_git(root, "init", "-q")
    repository = await find_repository(root)
    if repository is None:
        raise GitError(f"git init in {root} made no repository")
    return repository, True
