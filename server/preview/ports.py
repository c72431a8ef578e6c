"""Port pairs for previews: 3002/8002 for the first project, then 3003/8003, and so on.

A port is free only if nothing listens on it, on 127.0.0.1 or on all interfaces. The probe sets
SO_REUSEADDR, or a port freed seconds ago (in TIME_WAIT) would look busy. A probe cannot hold the
port: a program outside StepForge may still take it before the preview binds it, so a start whose
bind fails tries the next pair (at most PORT_ATTEMPTS pairs).
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Callable, Collection

from protocol.errors import ErrorCode
from server.errors import StepForgeError

FRONTEND_BASE = 3002
BACKEND_BASE = 8002
MAX_PAIRS = 100
PORT_ATTEMPTS = 5
# What Docker says when a published port is taken (by a process, or by another container).
_DOCKER_PORT_TAKEN = ("address already in use", "port is already allocated")


def port_is_free(port: int) -> bool:
    for host in ("127.0.0.1", "0.0.0.0"):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError:
                return False
    return True


def choose_pair(
    remembered: tuple[int, int] | None,
    reserved: Collection[int],
    is_free: Callable[[int], bool] = port_is_free,
) -> tuple[int, int]:
    """The workspace's remembered pair if it is still free, else the first free pair not reserved
    by another running preview."""

    def usable(pair: tuple[int, int]) -> bool:
        return all(port not in reserved and is_free(port) for port in pair)

    if remembered is not None and usable(remembered):
        return remembered
    for offset in range(MAX_PAIRS):
        pair = (FRONTEND_BASE + offset, BACKEND_BASE + offset)
        if usable(pair):
            return pair
    raise StepForgeError(
        f"No free port pair between {FRONTEND_BASE}/{BACKEND_BASE} and "
        f"{FRONTEND_BASE + MAX_PAIRS - 1}/{BACKEND_BASE + MAX_PAIRS - 1}: stop some previews.",
        code=ErrorCode.PREVIEW_FAILED,
    )


def is_port_conflict(error: BaseException) -> bool:
    """Whether a start failed because one of its ports was taken after it was chosen."""
    if isinstance(error, OSError) and error.errno == errno.EADDRINUSE:
        return True
    text = str(error).lower()
    return any(phrase in text for phrase in _DOCKER_PORT_TAKEN)
