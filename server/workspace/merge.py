"""Three-way merges with `git merge-file --diff3` (git is GPL, but we run it, we do not link it).

merge3 on PyPI is GPL and diff-match-patch lost user edits in a trial, so neither is used.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from server.errors import ConfigurationError
from server.tool_env import tool_environment


@dataclass(frozen=True)
class MergeResult:
    content: bytes  # with diff3 conflict markers when `conflicts` > 0
    conflicts: int

    @property
    def clean(self) -> bool:
        return self.conflicts == 0


def merge3(base: bytes, mine: bytes, theirs: bytes) -> MergeResult:
    """Merge `mine` (the user's file) and `theirs` (the new generation) from their common `base`.
    Blocking: async callers run it in a worker thread."""
    git = shutil.which("git")
    if git is None:
        raise ConfigurationError(
            "git is not installed: StepForge needs `git merge-file` to merge edits."
        )
    with tempfile.TemporaryDirectory(prefix="stepforge-merge-") as folder:
        paths = []
        for name, data in (("mine", mine), ("base", base), ("generated", theirs)):
            path = Path(folder) / name
            path.write_bytes(data)
            paths.append(str(path))
        completed = subprocess.run(
            [
                git,
                "merge-file",
                "-p",
                "--diff3",
                "-L",
                "yours",
                "-L",
                "base",
                "-L",
                "generated",
                *paths,
            ],
            cwd=folder,  # no repository around it whose config git would read
            env=tool_environment(),
            capture_output=True,
            check=False,
        )
    if completed.returncode < 0 or completed.returncode > 127:
        raise RuntimeError(
            f"git merge-file failed: {completed.stderr.decode(errors='replace').strip()}"
        )
    return MergeResult(content=completed.stdout, conflicts=completed.returncode)
