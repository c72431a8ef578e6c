"""`stepforge serve --tcp` against real sockets: a token, one session per connection, nothing run
for a stranger, a plain HTTP request closed unanswered, a leaving client stopping nobody else."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from protocol.errors import ErrorCode
from tests.conftest import REPO, daemon_env
from tests.fake_groq import AppResponder, FakeGroq, ScriptedApp

REQUEST = "a task manager with a dashboard and charts"
TOKEN = "test-token-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RawClient:
    """A JSON-RPC client over a plain socket, so that tests control every byte."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.next_id = 0
        self.notifications: list[dict[str, Any]] = []

    @classmethod
    async def connect(cls, port: int) -> RawClient:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    def send(self, message: dict[str, Any]) -> None:
        body = json.dumps(message).encode()
        self.writer.write(f"Content-Length: {len(body)}\r\n\r\n".encode() + body)

    async def read(self, timeout: float = 10) -> dict[str, Any] | None:
        """The next message, None when the server closed the connection."""
        headers = b""
        while not headers.endswith(b"\r\n\r\n"):
            chunk = await asyncio.wait_for(self.reader.read(1), timeout)
            if not chunk:
                return None
            headers += chunk
        length = int(headers.split(b"Content-Length:")[1].split(b"\r\n")[0])
        return json.loads(await self.reader.readexactly(length))

    async def request(self, method: str, params: Any, timeout: float = 30) -> dict[str, Any]:
        self.next_id += 1
        msg_id = self.next_id
        self.send({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
        while True:
            message = await self.read(timeout)
            assert message is not None, f"connection closed while waiting for {method}"
            if message.get("id") == msg_id and "method" not in message:
                return message
            if "method" in message and "id" in message:  # a server request: accept it
                self.send({"jsonrpc": "2.0", "id": message["id"], "result": None})
            else:
                self.notifications.append(message)

    async def initialize(self, root: Path, token: str | None = TOKEN, **options: Any) -> dict:
        if token is not None:
            options["token"] = token
        answer = await self.request(
            "initialize",
            {
                "processId": os.getpid(),
                "rootUri": root.as_uri(),
                "capabilities": {},
                "initializationOptions": options,
            },
        )
        if "result" in answer:
            self.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
        return answer

    async def closed(self, timeout: float = 5) -> bool:
        try:
            return await asyncio.wait_for(self.reader.read(), timeout) == b""
        except (ConnectionResetError, TimeoutError):
            return True

    def close(self) -> None:
        self.writer.close()


@pytest.fixture
def tcp_daemon(fake_groq: FakeGroq) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    port = free_port()
    daemon = subprocess.Popen(
        [sys.executable, "-m", "server", "serve", "--tcp", str(port)],
        env=daemon_env(fake_groq, STEPFORGE_TOKEN=TOKEN),
        cwd=REPO,
        stderr=subprocess.PIPE,
    )
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if daemon.poll() is not None:
                message = daemon.stderr.read().decode() if daemon.stderr else ""
                raise AssertionError(message) from None
            time.sleep(0.1)
    yield port, daemon
    daemon.kill()
    daemon.wait()


async def test_without_the_token_initialize_fails_and_the_connection_closes(
    tcp_daemon, workspace, fake_groq
):
    port, _ = tcp_daemon
    for token in (None, "wrong-token"):
        client = await RawClient.connect(port)
        answer = await client.initialize(workspace, token=token)
        assert answer["error"]["code"] == ErrorCode.UNAUTHORIZED
        assert "initializationOptions.token" in answer["error"]["message"]
        assert await client.closed()


async def test_nothing_runs_before_a_successful_initialize(tcp_daemon, workspace, fake_groq):
    port, _ = tcp_daemon
    client = await RawClient.connect(port)
    client.send(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "stepforge/plan",
            "params": {"request": REQUEST, "workspace": str(workspace)},
        }
    )
    answer = await client.read()
    assert answer is not None and answer["error"]["code"] == ErrorCode.UNAUTHORIZED
    assert await client.closed()
    await asyncio.sleep(0.5)
    assert fake_groq.served == [] and not (workspace / ".stepforge").exists()


async def test_a_plain_http_post_is_closed_and_never_executed(tcp_daemon, workspace, fake_groq):
    port, _ = tcp_daemon
    body = json.dumps(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {"initializationOptions": {"token": TOKEN}, "capabilities": {}},
        }
    )
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n{body}".encode()
    )
    assert await asyncio.wait_for(reader.read(), 5) == b""
    writer.close()
    assert fake_groq.served == []


async def test_a_second_initialize_is_refused(tcp_daemon, workspace):
    port, _ = tcp_daemon
    client = await RawClient.connect(port)
    assert "result" in await client.initialize(workspace)
    again = await client.initialize(workspace)
    assert again["error"]["code"] == -32600
    status = await client.request("stepforge/status", {})
    assert status["result"]["planPresent"] is False
    client.close()


async def test_each_connection_has_its_own_settings(tcp_daemon, workspace, tmp_path, fake_groq):
    """A second client's baseUrl (where the API key would go) never reaches the first's session."""
    port, _ = tcp_daemon
    with FakeGroq(AppResponder(ScriptedApp.fixture()), api_key=None) as elsewhere:
        first = await RawClient.connect(port)
        await first.initialize(workspace)
        second = await RawClient.connect(port)
        other = tmp_path / "other"
        other.mkdir()
        await second.initialize(other, baseUrl=elsewhere.base_url, model="test-model")
        planned = await first.request("stepforge/plan", {"request": REQUEST})
        assert planned["result"]["projectName"] == "task-manager"
        assert elsewhere.served == []
        assert fake_groq.served[-1].model == "openai/gpt-oss-120b"
        await second.request("stepforge/plan", {"request": REQUEST})
        assert len(elsewhere.served) == 1 and elsewhere.served[0].model == "test-model"
        first.close()
        second.close()


async def test_a_client_leaving_stops_nobody_else(tcp_daemon, workspace):
    port, daemon = tcp_daemon
    staying = await RawClient.connect(port)
    await staying.initialize(workspace)
    leaving = await RawClient.connect(port)
    await leaving.initialize(workspace)
    await leaving.request("shutdown", None)
    leaving.send({"jsonrpc": "2.0", "method": "exit"})
    assert await leaving.closed()
    abrupt = await RawClient.connect(port)
    await abrupt.initialize(workspace)
    abrupt.writer.transport.abort()
    await asyncio.sleep(0.5)
    assert daemon.poll() is None
    status = await staying.request("stepforge/status", {})
    assert status["result"]["planPresent"] is False
    late = await RawClient.connect(port)
    assert "result" in await late.initialize(workspace)
    staying.close()
    late.close()


def test_a_generated_token_is_written_for_the_user_only(fake_groq, tmp_path):
    port = free_port()
    env = daemon_env(fake_groq, XDG_STATE_HOME=str(tmp_path / "state"))
    daemon = subprocess.Popen(
        [sys.executable, "-m", "server", "serve", "--tcp", f"127.0.0.1:{port}"],
        env=env,
        cwd=REPO,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert daemon.stderr is not None
        line = daemon.stderr.readline()
        assert f"127.0.0.1:{port}" in line
        token_file = tmp_path / "state" / "stepforge" / f"tcp-{port}.token"
        assert str(token_file) in line
        mode = stat.S_IMODE(token_file.stat().st_mode)
        assert mode == 0o600 and stat.S_IMODE(token_file.parent.stat().st_mode) == 0o700
        assert len(token_file.read_text().strip()) >= 32
    finally:
        daemon.kill()
        daemon.wait()


def test_a_non_loopback_address_needs_an_explicit_flag(fake_groq):
    refused = subprocess.run(
        [sys.executable, "-m", "server", "serve", "--tcp", f"0.0.0.0:{free_port()}"],
        env=daemon_env(fake_groq, STEPFORGE_TOKEN=TOKEN),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert refused.returncode == 2 and "--allow-remote" in refused.stderr
    port = free_port()
    allowed = subprocess.Popen(
        [sys.executable, "-m", "server", "serve", "--tcp", f"0.0.0.0:{port}", "--allow-remote"],
        env=daemon_env(fake_groq, STEPFORGE_TOKEN=TOKEN),
        cwd=REPO,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert allowed.stderr is not None
        assert "warning" in allowed.stderr.readline().lower()
    finally:
        allowed.kill()
        allowed.wait()
