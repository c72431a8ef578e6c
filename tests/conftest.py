"""Shared fixtures: the fake Groq server, workspaces, and real daemons (over stdio) talking to it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient
from pytest_lsp.client import register_lsp_features

from server.wire import json_converter
from tests.fake_groq import AppResponder, FakeGroq, ScriptedApp

REPO = Path(__file__).resolve().parent.parent
# Every daemon of this test run shares one index of running previews, apart from the user's own.
os.environ.setdefault("XDG_STATE_HOME", tempfile.mkdtemp(prefix="stepforge-test-state-"))
# Short waits so that retries and stalls do not slow the suite down.
FAST_RETRIES = {"STEPFORGE_RETRY_BACKOFF": "0.05", "STEPFORGE_STALL_TIMEOUT": "2"}
# The suite runs on two workers of a two-core machine: a compiler may take twice its quiet time,
# and a check that timed out is (rightly) not clean, which is not what these tests are about.
SLOW_MACHINE = {"STEPFORGE_TOOL_TIMEOUT": "300"}


# Tests that drive a real editor's UI or a CPU-bound model server: their timing is what they prove
# (a menu that comes, a stream that does not stall), so scripts/test runs them alone, after the
# rest of the suite has run on two workers.
SERIAL_MODULES = {"test_vscode", "test_neovim", "test_llama_cpp"}
# Single tests of the same kind: a signal's timing (Ctrl-C once went unheeded on two busy cores).
SERIAL_TESTS = {"test_ctrl_c_during_generate_exits_130_quietly"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        name = getattr(item, "originalname", item.name)
        if item.path.stem in SERIAL_MODULES or name in SERIAL_TESTS:
            item.add_marker(pytest.mark.serial)


@pytest.fixture
def responder() -> AppResponder:
    return AppResponder(ScriptedApp.fixture())


@pytest.fixture
def fake_groq(responder: AppResponder) -> Iterator[FakeGroq]:
    with FakeGroq(responder) as fake:
        yield fake


@pytest.fixture(scope="session", autouse=True)
def _remove_test_data_volumes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The previews' data volumes outlive their workspaces on purpose (a user's records are never
    removed unasked); the test projects' are removed when the session ends."""
    yield
    base = str(tmp_path_factory.getbasetemp())
    try:
        import docker

        client = docker.from_env(timeout=10)
        for volume in client.volumes.list(filters={"label": "stepforge.managed=1"}):
            found = volume.attrs.get("Labels") or {}
            if found.get("stepforge.purpose") in ("data", "data-backup") and found.get(
                "stepforge.workspace", ""
            ).startswith(base):
                volume.remove(force=True)
    except Exception:  # no engine, or a volume still in use: nothing to tidy
        pass


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    return folder


def daemon_env(fake: FakeGroq, **extra: str) -> dict[str, str]:
    """The environment of a daemon that talks to `fake` through the real groq SDK."""
    return base_env(**fake.env(), **extra)


def base_env(**extra: str) -> dict[str, str]:
    """A daemon's environment with no LLM configured yet: no GROQ_/STEPFORGE_ variables of this
    machine, fast retries, what containers need to reach the registries, the repository."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("GROQ_", "STEPFORGE_"))
    }
    env.update(FAST_RETRIES)
    env.update(SLOW_MACHINE)
    env.update(container_network_env())
    env["PYTHONPATH"] = str(REPO)
    # The behaviour tier after generate/change adds seconds to every repair-on run: only the tests
    # of that tier (tests/e2e/test_behaviour.py) turn it on.
    env["STEPFORGE_RUNTIME_CHECKS"] = "0"
    env.update(extra)
    return env


def make_lsp_client() -> LanguageClient:
    """pytest-lsp's client, keeping custom results as plain JSON (as StepForge sends them)."""
    client = LanguageClient(converter_factory=json_converter)
    register_lsp_features(client)
    return client


async def start_lsp(
    env: dict[str, str],
    root: Path | None,
    *,
    progress: bool = True,
    options: dict[str, Any] | None = None,
) -> LanguageClient:
    config = ClientServerConfig(
        server_command=[sys.executable, "-m", "server", "serve"],
        server_env=env,
        client_factory=make_lsp_client,
    )
    client: LanguageClient = await config.start()  # type: ignore[assignment]
    client.initialize_result = await client.initialize_session(  # type: ignore[attr-defined]
        types.InitializeParams(
            capabilities=types.ClientCapabilities(
                window=types.WindowClientCapabilities(work_done_progress=progress)
            ),
            root_uri=root.as_uri() if root else None,
            initialization_options=options,
        )
    )
    return client


def generate_app_once(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The scripted task manager planned and generated through the CLI, for a module's tests to
    copy (plan and generate are proven elsewhere; this spares each test their time)."""
    folder = tmp_path_factory.mktemp("generated") / "project"
    folder.mkdir()
    with FakeGroq(AppResponder(ScriptedApp.fixture())) as fake:
        for args in (("plan", "a task manager"), ("generate", "--no-repair")):
            done = run_cli(*args, "--workspace", str(folder), env=daemon_env(fake), timeout=600)
            # Without Docker the check is incomplete, and generate says so with exit 1.
            incomplete = docker_ready() is not None and "Not fully checked" in done.stdout
            assert done.returncode == 0 or incomplete, done.stderr
    return folder


def copy_app(source: Path, workspace: Path) -> Path:
    shutil.copytree(source, workspace, symlinks=True, dirs_exist_ok=True)
    return workspace


@pytest.fixture(scope="session")
def generated_once(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One generated task manager for the whole run; tests change copies of it, never it."""
    return generate_app_once(tmp_path_factory)


@pytest.fixture
def generated(generated_once: Path, workspace: Path) -> Path:
    """This test's own copy of the generated app."""
    return copy_app(generated_once, workspace)


@pytest_asyncio.fixture
async def lsp(fake_groq: FakeGroq, workspace: Path) -> AsyncIterator[LanguageClient]:
    client = await start_lsp(daemon_env(fake_groq), workspace)
    yield client
    await client.shutdown_session()


def run_cli(
    *args: str, env: dict[str, str], timeout: float = 300, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd or REPO,
    )


# --- preview helpers -------------------------------------------------------------------------------

CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


def container_network_env() -> dict[str, str]:
    """What containers need to reach npm and PyPI from this machine: its CA bundle (a proxy
    re-signs HTTPS here), mounted read-only, and the variables that point Node, pip and uv at it."""
    if not CA_BUNDLE.exists():
        return {}
    bundle = str(CA_BUNDLE)
    return {
        "STEPFORGE_CONTAINER_MOUNTS": f"{bundle}:{bundle}",
        "STEPFORGE_CONTAINER_ENV": json.dumps(
            {"SSL_CERT_FILE": bundle, "PIP_CERT": bundle, "NODE_EXTRA_CA_CERTS": bundle}
        ),
    }


def docker_ready() -> str | None:
    """Why Docker previews cannot be tested here, or None. In CI (STEPFORGE_REQUIRE_DOCKER=1) a
    missing engine or image fails the test instead of skipping it."""
    from server.preview.docker_runtime import DockerRuntime

    return DockerRuntime("stepforge-frontend:1", "stepforge-backend:1", []).unavailable()


def require_docker() -> None:
    reason = docker_ready()
    if reason is None:
        return
    if os.environ.get("STEPFORGE_REQUIRE_DOCKER") == "1":
        pytest.fail(f"Docker is required here: {reason}")
    pytest.skip(f"no Docker: {reason}")
