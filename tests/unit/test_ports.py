"""Port pairs: the choice (pure), a port taken after it was chosen, and the reservation in the
user's preview index, which must hold across processes started at the same moment."""

from __future__ import annotations

import errno
import multiprocessing
import time
from pathlib import Path

import pytest

from server.errors import StepForgeError
from server.preview.owner import current_owner
from server.preview.ports import choose_pair, is_port_conflict
from server.preview.records import PreviewIndex, PreviewRecord
from server.preview.service import last_lines


def always_free(port: int) -> bool:
    return True


def planned(workspace: str, owner: str | None = None, started: float = 1.0) -> PreviewRecord:
    return PreviewRecord(
        workspace=workspace,
        frontend_port=0,
        backend_port=0,
        runtime="docker",
        running=True,
        owner=owner,
        started=started,
    )


# --- the choice ------------------------------------------------------------------------------------


def test_the_first_pair_when_nothing_is_taken():
    assert choose_pair(None, set(), always_free) == (3002, 8002)


def test_a_remembered_pair_is_kept_while_it_is_free():
    assert choose_pair((3007, 8007), set(), always_free) == (3007, 8007)
    assert choose_pair((3007, 8007), {8007}, always_free) == (3002, 8002)


def test_a_pair_is_skipped_when_either_port_is_reserved_or_busy():
    assert choose_pair(None, {3002}, always_free) == (3003, 8003)
    assert choose_pair(None, set(), lambda port: port not in (8002, 3003)) == (3004, 8004)


def test_no_free_pair_is_a_clear_error():
    with pytest.raises(StepForgeError, match=r"No free port pair .* stop some previews"):
        choose_pair(None, set(), lambda port: False)


def test_a_port_taken_meanwhile_is_recognised_in_both_runtimes():
    assert is_port_conflict(OSError(errno.EADDRINUSE, "Address already in use"))
    docker_says = (
        '500 Server Error: Internal Server Error ("driver failed programming external '
        "connectivity on endpoint stepforge-backend-0123: Error starting userland proxy: listen "
        'tcp4 127.0.0.1:8002: bind: address already in use")'
    )
    assert is_port_conflict(Exception(docker_says))
    assert is_port_conflict(Exception("Bind for 127.0.0.1:3002 failed: port is already allocated"))
    assert not is_port_conflict(OSError(errno.EACCES, "Permission denied"))
    assert not is_port_conflict(StepForgeError("npm install of the frontend failed (exit 1)"))


# --- the reservation -------------------------------------------------------------------------------


def test_a_reservation_holds_its_pair_until_it_is_released(tmp_path: Path):
    index = PreviewIndex(tmp_path)
    first = index.reserve(planned("/a", started=1.0), None, is_free=always_free)
    second = index.reserve(planned("/b"), None, is_free=always_free)
    assert (first.frontend_port, first.backend_port) == (3002, 8002)
    assert (second.frontend_port, second.backend_port) == (3003, 8003)
    # A workspace's own entry never blocks it; ports a failed attempt could not bind are avoided.
    again = index.reserve(planned("/a", started=2.0), (3002, 8002), {3002}, is_free=always_free)
    assert (again.frontend_port, again.backend_port) == (3004, 8004)
    # Releasing the earlier attempt leaves the later one's entry alone.
    index.release(first)
    assert {r.workspace: r.frontend_port for r in index.all()} == {"/a": 3004, "/b": 3003}
    index.release(again)
    third = index.reserve(planned("/c"), None, is_free=always_free)
    assert third.frontend_port == 3002  # freed pairs are taken again: no drift


def test_a_start_whose_daemon_died_before_starting_anything_holds_no_pair(tmp_path: Path):
    index = PreviewIndex(tmp_path)
    dead = multiprocessing.get_context("fork").Process(target=time.sleep, args=(0,))
    dead.start()
    dead.join()
    index.reserve(planned("/alive", owner=current_owner()), None, is_free=always_free)
    died = index.reserve(planned("/died", owner=f"{dead.pid}:0"), None, is_free=always_free)
    assert died.frontend_port == 3003
    latest = index.reserve(planned("/new"), None, is_free=always_free)
    assert latest.frontend_port == 3003  # the dead start's pair is free again
    assert {r.workspace for r in index.all()} == {"/alive", "/new"}


def _reserve_at_once(folder: str, workspace: str, barrier, results) -> None:
    barrier.wait()
    record = PreviewIndex(Path(folder)).reserve(planned(workspace), None, is_free=always_free)
    results.put((record.frontend_port, record.backend_port))


def test_processes_reserving_at_the_same_moment_get_different_pairs(tmp_path: Path):
    context = multiprocessing.get_context("fork")
    count = 8
    barrier = context.Barrier(count)
    results = context.Queue()
    workers = [
        context.Process(target=_reserve_at_once, args=(str(tmp_path), f"/w{i}", barrier, results))
        for i in range(count)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
        assert worker.exitcode == 0
    pairs = [results.get(timeout=5) for _ in range(count)]
    assert sorted(pairs) == [(3002 + i, 8002 + i) for i in range(count)]
    assert len(PreviewIndex(tmp_path).all()) == count


# --- logs: lines in all ----------------------------------------------------------------------------


def tail(frontend: int, backend: int) -> list:
    return [("frontend", f"f{i}") for i in range(frontend)] + [
        ("backend", f"b{i}") for i in range(backend)
    ]


def test_log_lines_are_counted_in_all_and_shared_between_the_roles():
    assert last_lines(tail(10, 10), 4) == [
        ("frontend", "f8"),
        ("frontend", "f9"),
        ("backend", "b8"),
        ("backend", "b9"),
    ]
    assert len(last_lines(tail(10, 10), 5)) == 5
    # A quiet role's share goes to the other.
    assert last_lines(tail(1, 10), 4) == [
        ("frontend", "f0"),
        ("backend", "b7"),
        ("backend", "b8"),
        ("backend", "b9"),
    ]
    assert [line for _, line in last_lines(tail(10, 0), 3)] == ["f7", "f8", "f9"]
    assert last_lines(tail(2, 1), 200) == tail(2, 1)
    assert last_lines([], 10) == []
