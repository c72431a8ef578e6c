"""A preview start that fails leaves nothing behind, and starts at the same moment never collide,
through the real CLI and daemon (Docker runtime): a read-only workspace is refused before anything
runs and holds no ports, a folder without an app is refused before anything is created, two
projects started at once both run on different pairs, and `preview logs` counts lines in all and
says when no preview runs."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from protocol.models import PreviewStartParams
from server.config import load_settings
from server.preview.local_runtime import MARKER
from server.preview.ports import choose_pair, port_is_free
from server.preview.records import PreviewIndex
from server.preview.service import PreviewService
from server.progress import NoProgress
from server.template import template_bytes, template_paths
from tests.conftest import (
    REPO,
    base_env,
    daemon_env,
    docker_ready,
    require_docker,
    run_cli,
)

pytestmark = pytest.mark.slow


def template_app(folder: Path) -> Path:
    """The app template as StepForge lays it out (a real Vite frontend and FastAPI backend with
    its health endpoint): all a preview needs, without generating pages first."""
    for relative in template_paths():
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(template_bytes(relative))
    return folder


def containers_of(workspace: Path) -> list:
    return docker.from_env().containers.list(
        all=True, filters={"label": f"stepforge.workspace={workspace}"}
    )


def processes_of(workspace: Path) -> list[int]:
    """Live processes StepForge started for `workspace` (the marker in their environment)."""
    marker = f"{MARKER}={workspace}".encode()
    found = []
    for pid in (int(p) for p in os.listdir("/proc") if p.isdigit()):
        with contextlib.suppress(OSError):
            if marker in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
                found.append(pid)
    return found


def indexed_workspaces() -> set[str]:
    return {record.workspace for record in PreviewIndex().all()}


def reserved_ports() -> set[int]:
    return {p for r in PreviewIndex().all() for p in (r.frontend_port, r.backend_port)}


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """`folder` read-only for the daemon: a read-only bind mount over it when we are root (root
    ignores permission bits), else its permission bits."""
    if os.geteuid() == 0:
        subprocess.run(["mount", "--bind", str(folder), str(folder)], check=True)
        try:
            subprocess.run(["mount", "-o", "remount,bind,ro", str(folder)], check=True)
            yield
        finally:
            subprocess.run(["umount", str(folder)], check=True)
        return
    folders = [folder, *(p for p in folder.rglob("*") if p.is_dir() and not p.is_symlink())]
    modes = {p: p.stat().st_mode for p in folders}
    for path in folders:
        path.chmod(0o555)
    try:
        yield
    finally:
        for path, mode in modes.items():
            path.chmod(mode)


def pair_of(result: dict) -> tuple[int, int]:
    return (
        int(result["frontendUrl"].rsplit(":", 1)[1]),
        int(result["backendUrl"].rsplit(":", 1)[1]),
    )


def test_a_failed_start_leaves_nothing_and_starts_at_once_never_collide(tmp_path, fake_groq):
    require_docker()
    readonly, first, second = (template_app(tmp_path / name) for name in ("ro", "one", "two"))
    env = daemon_env(fake_groq)
    held_before = reserved_ports()

    # A workspace where the preview cannot record what it runs: refused before anything runs.
    with read_only(readonly):
        failed = run_cli("preview", "start", "--workspace", str(readonly), env=env)
    assert failed.returncode == 1, failed.stderr
    assert f"cannot write to {readonly}/.stepforge: " in failed.stderr, failed.stderr
    assert "Traceback" not in failed.stderr and ".tmp" not in failed.stderr
    assert containers_of(readonly) == [] and processes_of(readonly) == []
    assert str(readonly) not in indexed_workspaces()  # the pair it reserved is free again
    # What a start gets now if the failed one holds nothing (probed now: other programs' ports
    # are not the failed start's doing).
    expected = choose_pair(None, held_before)

    # Two projects started at the same moment, by two daemons: both run, on different pairs, the
    # first of them the first free pair (the one the failed start had): nothing drifted.
    starts = [
        subprocess.Popen(
            [sys.executable, "-m", "server", "preview", "start", "--workspace", str(w), "--json"],
            env=env,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in (first, second)
    ]
    try:
        outputs = [start.communicate(timeout=180) for start in starts]
        for start, (_, stderr) in zip(starts, outputs, strict=True):
            assert start.returncode == 0, stderr
        pairs = {pair_of(json.loads(stdout)) for stdout, _ in outputs}
        # (On a shared machine another program may free a lower pair, or take this one, meanwhile:
        # only a pair still free and skipped would be drift.)
        assert len(pairs) == 2
        assert min(pairs) <= expected or not all(map(port_is_free, expected)), (pairs, expected)

        # `--lines` counts lines in all, both roles shown.
        logs = run_cli(
            "preview", "logs", "--workspace", str(first), "--lines", "3", "--json", env=env
        )
        lines = json.loads(logs.stdout)["lines"]
        assert len(lines) == 3 and {line["role"] for line in lines} == {"frontend", "backend"}
    finally:
        stops = [
            subprocess.Popen(
                [sys.executable, "-m", "server", "preview", "stop", "--workspace", str(w)],
                env=env,
                cwd=REPO,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for w in (first, second)
        ]
        for stop in stops:
            stop.wait(120)
    assert containers_of(first) == [] and containers_of(second) == []
    assert not {str(first), str(second)} & indexed_workspaces()


def test_a_folder_without_an_app_is_refused_before_anything_is_created(fake_groq, workspace):
    env = daemon_env(fake_groq)
    (workspace / "notes.txt").write_text("not an app yet\n")
    done = run_cli("preview", "start", "--workspace", str(workspace), env=env)
    assert done.returncode == 1
    assert f"No app here: {workspace} has no frontend/package.json" in done.stderr
    assert "stepforge new" in done.stderr and "cp:" not in done.stderr
    assert sorted(p.name for p in workspace.iterdir()) == ["notes.txt"]
    if docker_ready() is None:
        assert containers_of(workspace) == []
    assert str(workspace) not in indexed_workspaces()

    logs = run_cli("preview", "logs", "--workspace", str(workspace), env=env)
    assert logs.returncode == 0 and logs.stdout == ""
    assert f"no preview runs for {workspace}" in logs.stderr
    assert sorted(p.name for p in workspace.iterdir()) == ["notes.txt"]


async def test_a_port_taken_after_it_was_chosen_moves_the_start_to_the_next_pair(
    tmp_path, monkeypatch
):
    """Another program binds the chosen backend port between the choice and the start (the race
    the probe cannot close): the real Docker start fails to publish it, and the start goes on
    with the next pair instead of failing with "address already in use"."""
    require_docker()
    app = template_app(tmp_path / "app")
    settings, _ = load_settings(None, base_env())
    index = PreviewIndex(tmp_path / "state")
    squatters: list[socket.socket] = []
    reserve = PreviewIndex.reserve

    def reserve_then_lose_the_port(self, *args, **kwargs):
        record = reserve(self, *args, **kwargs)
        if not squatters:
            squatter = socket.socket()
            squatter.bind(("127.0.0.1", record.backend_port))
            squatter.listen()
            squatters.append(squatter)
        return record

    monkeypatch.setattr(PreviewIndex, "reserve", reserve_then_lose_the_port)
    service = PreviewService(settings, index=index)
    try:
        result = await service.start(
            app, PreviewStartParams(runtime="docker", detached=True), NoProgress()
        )
        taken = squatters[0].getsockname()[1]
        frontend, backend = pair_of(result.model_dump(by_alias=True))
        assert backend != taken and backend - frontend == 5000
        assert {r.backend_port for r in index.all()} == {backend}  # the lost pair is not held
    finally:
        await service.stop(app)
        for squatter in squatters:
            squatter.close()
    assert containers_of(app) == []
