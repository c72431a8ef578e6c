"""Run finished -> one commit: the hook point between StepForge's runs and git.

A run collects what it wrote (`RunRecord`); when it ends, the recorder commits exactly those paths
on the current branch, making the repository (and its .gitignore) first where there is none. It
never commits in the middle of a rebase, merge, cherry-pick or revert, never anything private
under `.stepforge/` or a file holding a secret StepForge knows, and reports a hook that refused
the commit: in all three cases the files stay written and the user is told.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

import anyio

from server.errors import ConfigurationError
from server.logs import holds_secret
from server.workspace.git.commits import CommitOutcome, commit_message, commit_paths
from server.workspace.git.history import run_commits
from server.workspace.git.ignore import GITIGNORE, committable, ensure_gitignore
from server.workspace.git.record import COMMITTED_JOBS, RunRecord
from server.workspace.git.repository import GitError, open_repository
from server.workspace.git.trailers import next_number

log = logging.getLogger(__name__)

# Files StepForge derives instead of asking the LLM for (the backend's API as TypeScript types,
# server.checks.api_types.TYPES_FILE): the frontend imports them, so a clone must have them; they
# ride along with any run's commit when they exist (unchanged ones add nothing to it).
DERIVED_FILES = ("frontend/src/api/schema.d.ts",)


def _holding_secrets(root: Path, paths: list[str]) -> list[str]:
    """Blocking: the paths whose bytes contain a secret StepForge knows (the API key)."""
    found = []
    for path in paths:
        try:
            data = (root / path).read_bytes()
        except OSError:
            continue
        if holds_secret(data.decode("utf-8", "replace")):
            found.append(path)
    return found


class GitRecorder:
    def __init__(self, enabled: bool, warn: Callable[[str], None] | None = None) -> None:
        self.enabled = enabled
        self._warn = warn

    def _warning(self, message: str) -> CommitOutcome:
        log.warning("%s", message)
        if self._warn is not None:
            self._warn(message)
        return CommitOutcome(sha=None, message=message, warning=True)

    async def run_finished(self, root: Path, run: RunRecord) -> CommitOutcome | None:
        """Commit what `run` wrote; None when there is nothing to commit or git is off."""
        if not self.enabled or run.job not in COMMITTED_JOBS:
            return None
        paths = sorted(p for p in run.paths() if committable(p))
        if not paths:
            return None
        paths = sorted({*paths, *(p for p in DERIVED_FILES if (root / p).is_file())})
        what = f"this {run.job}"
        started = time.monotonic()
        try:
            repository, created = await open_repository(root)
            if await anyio.to_thread.run_sync(ensure_gitignore, root) or created:
                paths = sorted({*paths, GITIGNORE})
            busy = await anyio.to_thread.run_sync(repository.operation_in_progress)
            if busy is not None:
                return self._warning(
                    f"The repository {repository.top} is in the middle of {busy}: StepForge made "
                    f"no commit for {what}. Its files are written; finish it (or abort it), then "
                    "commit them yourself."
                )
            secret = await anyio.to_thread.run_sync(_holding_secrets, root, paths)
            if secret:
                paths = [p for p in paths if p not in secret]
                self._warning(
                    f"Not committed because they contain the API key: {', '.join(secret)}. "
                    "Remove the key from them."
                )
            number = run.number or next_number(await run_commits(repository), run.job)
            message = commit_message(run, number)
            sha = await commit_paths(repository, paths, message)
        except GitError as error:
            return self._warning(
                f"git refused StepForge's commit of {what} (a hook of your repository, or git "
                f"itself): {error.message}\nThe files are written; commit them yourself once "
                "that is fixed."
            )
        except ConfigurationError as error:
            return self._warning(error.message)
        log.info(
            "git commit of %s (%d paths): %.0f ms",
            what,
            len(paths),
            1000 * (time.monotonic() - started),
        )
        if sha is None:
            return CommitOutcome(sha=None, message=f"Nothing new to commit for {what}.")
        return CommitOutcome(sha=sha, message=f"Committed {sha[:10]}: {message.splitlines()[0]}")
