"""Who owns a preview: a process, named by pid and start time so that a reused pid is not
mistaken for the original owner."""

from __future__ import annotations

import os
from pathlib import Path


def _start_time(pid: int) -> str | None:
    """The start time of a live process (a zombie counts as dead), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces; the fields after its closing parenthesis do not.
    fields = stat.rsplit(")", 1)[1].split()
    return None if fields[0] in ("Z", "X") else fields[19]


def process_identity(pid: int) -> str | None:
    start = _start_time(pid)
    return f"{pid}:{start}" if start is not None else None


def current_owner() -> str:
    identity = process_identity(os.getpid())
    assert identity is not None
    return identity


def is_alive(identity: str) -> bool:
    pid, _, _ = identity.partition(":")
    return pid.isdigit() and process_identity(int(pid)) == identity
