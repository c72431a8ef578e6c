"""The commit of one run: only the paths StepForge wrote, the user's index and edits untouched.

The commit is made from a temporary index (HEAD plus StepForge's paths), so what the user staged
stays staged, their other edits stay uncommitted, and a hook that refuses the commit leaves the
real index exactly as it was. After the commit the real index takes StepForge's paths from the new
HEAD, as `git commit --only` does. The user's hooks run (`git commit`, never `commit-tree`).
"""

from __future__ import annotations

import os
import secrets
import shutil
from dataclasses import dataclass

import anyio

from server.workspace.git.record import RunRecord
from server.workspace.git.repository import Repository
from server.workspace.git.trailers import RUN_TRAILER, format_trailers

SHOWN_PATHS = 12


@dataclass(frozen=True)
class CommitOutcome:
    sha: str | None
    message: str  # what happened, in the user's terms
    warning: bool = False


def _listing(label: str, paths: list[str]) -> list[str]:
    if not paths:
        return []
    lines = [f"{label} ({len(paths)}):"]
    lines += [f"  {p}" for p in paths[:SHOWN_PATHS]]
    if len(paths) > SHOWN_PATHS:
        lines.append(f"  and {len(paths) - SHOWN_PATHS} more")
    return lines


def commit_message(run: RunRecord, number: int) -> str:
    """The run's message: what ran, the files it wrote, merged, failed and left in conflict, and
    the `StepForge-Run: KIND N` trailer history and undo read (pure)."""
    request = " ".join((run.request or "").split())
    if run.subject:
        subject = run.subject
    else:
        subject = f"StepForge {run.job} {number}" + (f": {request}" if request else "")
    if len(subject) > 72:
        subject = subject[:69] + "..."
    body: list[str] = []
    if request and len(request) > 40:
        body += ["Request:", f"  {request}", ""]
    body += run.body
    body += _listing("Written", sorted(run.written - run.merged))
    body += _listing(
        "Merged with your uncommitted edits (they ride along in these files)", sorted(run.merged)
    )
    body += _listing("Removed", sorted(run.removed))
    body += _listing("Failed, not written", [f"{p}: {r}" for p, r in sorted(run.failed.items())])
    body += _listing("In conflict, not committed (your file is unchanged)", sorted(run.conflicts))
    trailers = {RUN_TRAILER: f"{run.job} {number}", **run.trailers}
    parts = [subject, "\n".join(body).strip(), format_trailers(trailers)]
    return "\n\n".join(p for p in parts if p) + "\n"


async def _existing(repository: Repository, paths: list[str]) -> tuple[list[str], list[str]]:
    def split() -> tuple[list[str], list[str]]:
        there = [p for p in paths if os.path.lexists(repository.root / p)]
        return there, [p for p in paths if p not in there]

    return await anyio.to_thread.run_sync(split)


async def _not_ignored(repository: Repository, paths: list[str]) -> list[str]:
    """Paths the user's .gitignore does not exclude (tracked files never count as ignored)."""
    if not paths:
        return []
    found = await repository.git(
        "check-ignore", "-z", "--stdin", input="\0".join(paths).encode() + b"\0", check=False
    )
    ignored = set(found.text.split("\0")) if found.returncode == 0 else set()
    return [p for p in paths if p not in ignored]


async def commit_paths(repository: Repository, paths: list[str], message: str) -> str | None:
    """Commit exactly `paths` (as they are on disk; a missing one as a removal) with the user's
    hooks. The new commit's id, or None when nothing differs from HEAD. GitError when git or a
    hook refuses (the real index is then untouched)."""
    index = repository.git_dir / f"stepforge-index-{os.getpid()}-{secrets.token_hex(4)}"
    real_index = repository.git_dir / "index"
    env = {"GIT_INDEX_FILE": str(index)}
    head = await repository.head()
    try:
        if head is not None and await anyio.to_thread.run_sync(real_index.exists):
            # A copy keeps the stat data: git need not re-read every tracked file. It keeps the
            # index's own mtime too (copy2): git trusts an entry's stat data only when the file is
            # older than the index, so a fresh mtime would hide a same-size edit made in the
            # second of the last commit ("racy git"). `--reset`, not `-m`: a one-tree `-m`
            # refuses an entry whose file changed since it was staged ("not uptodate"), and
            # nothing here touches the working tree.
            await anyio.to_thread.run_sync(shutil.copy2, real_index, index)
            await repository.git("read-tree", "--reset", "HEAD", env=env)
        elif head is not None:
            await repository.git("read-tree", "HEAD", env=env)
        else:
            await repository.git("read-tree", "--empty", env=env)
        present, missing = await _existing(repository, paths)
        present = await _not_ignored(repository, present)
        if present:
            await repository.git("add", "--", *present, env=env)
        if missing:
            await repository.git(
                "rm", "-q", "--cached", "--ignore-unmatch", "--", *missing, env=env
            )
        if await _nothing_staged(repository, head, paths, env):
            return None
        identity = await repository.identity_options()
        await repository.git(*identity, "commit", "-q", "-F", "-", input=message.encode(), env=env)
    finally:
        for leftover in (index, index.with_name(index.name + ".lock")):
            await anyio.to_thread.run_sync(_unlink_quietly, leftover)
    sha = await repository.head()
    # The real index follows HEAD for StepForge's paths only (what `commit --only` does).
    committed = [p for p in paths if p]
    if committed:
        await repository.git("reset", "-q", "--", *committed, check=False)
    return sha


async def _nothing_staged(
    repository: Repository, head: str | None, paths: list[str], env: dict[str, str]
) -> bool:
    if head is None:  # a first commit: anything in the index is new
        listed = await repository.git("ls-files", "-z", env=env)
        return not listed.stdout
    differs = await repository.git(
        "diff", "--cached", "--quiet", "HEAD", "--", *paths, env=env, check=False
    )
    return differs.returncode == 0


def _unlink_quietly(path: os.PathLike[str]) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
