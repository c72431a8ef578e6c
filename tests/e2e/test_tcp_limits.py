"""What a connection may cost `stepforge serve --tcp` before it authenticates, against a real
daemon over real sockets: huge bodies refused from their header with the daemon's memory bounded,
idle and trickling connections closed, pending connections bounded, and a client with the token
served normally afterwards."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.tcp import serve_tcp
from tests.conftest import REPO, daemon_env
from tests.e2e.test_tcp import TOKEN, RawClient, free_port
from tests.fake_groq import FakeGroq

HUGE = 16 * 1024 * 1024  # what a connection could make the daemon hold before


def start_daemon(fake: FakeGroq, log: Path, **env: str) -> tuple[int, subprocess.Popen[bytes]]:
    port = free_port()
    with log.open("wb") as stderr:  # a file, not a pipe nobody reads: the warnings cannot block it
        daemon = subprocess.Popen(
            [sys.executable, "-m", "server", "serve", "--tcp", str(port)],
            env=daemon_env(fake, STEPFORGE_TOKEN=TOKEN, **env),
            cwd=REPO,
            stderr=stderr,
        )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if "listening" in log.read_text(errors="replace"):
            return port, daemon
        if daemon.poll() is not None:
            break
        time.sleep(0.05)
    daemon.kill()
    raise AssertionError(log.read_text(errors="replace"))


@pytest.fixture
def daemons(fake_groq: FakeGroq, tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for daemon in started:
        daemon.kill()
        daemon.wait()


async def closed_by_daemon(client: RawClient, within: float) -> bool:
    """Whether the daemon closes the connection within `within` seconds (a wait that runs out
    is an open connection, unlike RawClient.closed)."""
    try:
        return await asyncio.wait_for(client.reader.read(), within) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def memory_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


def send_huge(port: int, body: memoryview, results: list[str]) -> None:
    """A stranger's Content-Length of 16 MiB and the body itself, before any initialize."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        try:
            sock.sendall(f"Content-Length: {len(body)}\r\n\r\n".encode())
            sock.sendall(body)
            # Everything was taken: the daemon must still close the connection unanswered.
            results.append("closed" if sock.recv(1) == b"" else "answered")
        except (BrokenPipeError, ConnectionResetError):
            results.append("closed")
        except TimeoutError:
            results.append("kept open")


async def authenticated_client_works(port: int, workspace: Path) -> None:
    client = await RawClient.connect(port)
    assert "result" in await client.initialize(workspace)
    status = await client.request("stepforge/status", {})
    assert status["result"]["planPresent"] is False
    client.close()


async def test_huge_bodies_before_initialize_are_refused_and_memory_stays_bounded(
    fake_groq, daemons, workspace, tmp_path
):
    port, daemon = start_daemon(fake_groq, tmp_path / "daemon.log")
    daemons.append(daemon)
    await asyncio.sleep(0.5)
    baseline = memory_kb(daemon.pid, "VmRSS")

    body = memoryview(b" " * HUGE)  # one buffer shared by every sender
    results: list[str] = []
    senders = [threading.Thread(target=send_huge, args=(port, body, results)) for _ in range(40)]
    for sender in senders:
        sender.start()
    for sender in senders:
        await asyncio.to_thread(sender.join, 60)
    assert results == ["closed"] * 40
    peak = memory_kb(daemon.pid, "VmHWM")  # the highest the daemon's memory ever went
    assert peak - baseline < 60 * 1024, f"RSS rose from {baseline} kB to a peak of {peak} kB"

    # Refused from the header alone, at once (not after the authentication timeout).
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"Content-Length: 65537\r\n\r\n")
    assert await asyncio.wait_for(reader.read(), 2) == b""
    # So are headers without end.
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"X-Padding: " + b"a" * 20_000)
    assert await asyncio.wait_for(reader.read(), 2) == b""

    await authenticated_client_works(port, workspace)
    assert daemon.poll() is None
    log = (tmp_path / "daemon.log").read_text()
    assert "above the limit of 65536 bytes" in log


async def test_idle_connections_are_closed_and_waiting_ones_are_bounded(
    fake_groq, daemons, workspace, tmp_path
):
    port, daemon = start_daemon(
        fake_groq,
        tmp_path / "daemon.log",
        STEPFORGE_TCP_AUTH_TIMEOUT="2",
        STEPFORGE_TCP_MAX_PENDING="8",
    )
    daemons.append(daemon)
    opened = time.monotonic()
    idle = [await RawClient.connect(port) for _ in range(7)]
    trickling = await RawClient.connect(port)  # a byte at a time never resets the clock
    await asyncio.sleep(0.3)

    # The bound is reached: one more is closed at once, while the waiting ones stay open.
    refused = await RawClient.connect(port)
    assert await closed_by_daemon(refused, within=1)
    for client in idle:
        assert not client.reader.at_eof()

    async def trickle() -> None:
        for byte in b"Content-Length: 100\r\n":
            trickling.writer.write(bytes([byte]))
            await asyncio.sleep(0.2)

    trickler = asyncio.create_task(trickle())
    for client in [*idle, trickling]:
        assert await closed_by_daemon(client, within=5)
    assert time.monotonic() - opened < 5  # closed by the 2 s timeout, not by the test's wait
    trickler.cancel()

    # Their places are free again: a client with the token is served as usual.
    await authenticated_client_works(port, workspace)
    assert "no initialize within 2 s" in (tmp_path / "daemon.log").read_text()


def test_a_bad_limit_is_refused_naming_the_variable(monkeypatch, capsys):
    monkeypatch.setenv("STEPFORGE_TCP_AUTH_TIMEOUT", "soon")
    assert serve_tcp("127.0.0.1", free_port()) == 2
    assert "STEPFORGE_TCP_AUTH_TIMEOUT=soon is not a positive number" in capsys.readouterr().err
    monkeypatch.setenv("STEPFORGE_TCP_AUTH_TIMEOUT", "3")
    monkeypatch.setenv("STEPFORGE_TCP_MAX_PENDING", "0")
    assert serve_tcp("127.0.0.1", free_port()) == 2
    assert "STEPFORGE_TCP_MAX_PENDING=0 is not a positive whole number" in capsys.readouterr().err
