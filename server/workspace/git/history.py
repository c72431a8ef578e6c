"""StepForge's commits from `git log` (by their trailer), newest first."""

from __future__ import annotations

from server.workspace.git.repository import GitError, Repository
from server.workspace.git.trailers import LOG_FORMAT, RUN_TRAILER, RunCommit, parse_log

MAX_COMMITS = 500


async def run_commits(repository: Repository, limit: int = MAX_COMMITS) -> list[RunCommit]:
    """StepForge's commits of this workspace on the current branch (paths relative to it)."""
    found = await repository.git(
        "log",
        f"--format={LOG_FORMAT}",
        "--name-status",
        "--no-renames",
        "--relative",
        "-E",
        f"--grep=^{RUN_TRAILER}: ",
        f"-n{limit}",
        "HEAD",
        # Only the commits touching this workspace: a repository around it may hold others.
        "--",
        ".",
        check=False,
    )
    if not found.ok:  # a branch with no commit yet has no log (asked only then: one git less)
        if await repository.head() is None:
            return []
        raise GitError(f"git log failed in {repository.root}: {found.stderr.strip()}")
    return parse_log(found.text)


async def file_at(repository: Repository, commit: str, path: str) -> bytes | None:
    """`path` (workspace-relative) as `commit` has it, or None where it has no such file."""
    found = await repository.git("show", f"{commit}:./{path}", check=False)
    return found.stdout if found.ok else None
