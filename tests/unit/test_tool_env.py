"""The environment of the programs StepForge starts: never a secret, always the user's registry
settings; and every place in server/ that starts a program passes it explicitly."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from server import logs
from server.preview.local_runtime import MARKER, host_environment
from server.tool_env import is_secret_name, tool_environment

SERVER = Path(__file__).resolve().parents[2] / "server"

SECRETS = {
    "GROQ_API_KEY": "gsk_live_0123456789",
    "GROQ_BASE_URL": "http://127.0.0.1:9/",
    "STEPFORGE_TOKEN": "tcp-token-abcdef",
    "STEPFORGE_API_KEY": "another",
    "OPENAI_API_KEY": "sk-abcdef",
    "ANTHROPIC_APIKEY": "x",
    "GITHUB_TOKEN": "ghp_abcdef",
    "NODE_AUTH_TOKEN": "npm-abcdef",
    "npm_config__authToken": "npm-lower-case",
    "AWS_SECRET_ACCESS_KEY": "aws",
    "AWS_ACCESS_KEY_ID": "AKIA",
    "PGPASSWORD": "pg",
    "DB_PASSWD": "db",
    "SOME_CREDENTIALS": "c",
    "DEPLOY_PRIVATE_KEY": "k",
    "client_secret": "lower",
}
KEPT = {
    "PATH": "/usr/bin:/bin",
    "HOME": "/home/me",
    "LANG": "C.UTF-8",
    "UV_INDEX_URL": "http://127.0.0.1:8080/simple",
    "UV_DEFAULT_INDEX": "http://127.0.0.1:8080/simple",
    "UV_EXTRA_INDEX_URL": "http://127.0.0.1:8081/simple",
    "UV_CACHE_DIR": "/tmp/uv-cache",
    "PIP_INDEX_URL": "http://127.0.0.1:8080/simple",
    "npm_config_registry": "http://127.0.0.1:4873/",
    "npm_config_cache": "/tmp/npm",
    "SSL_CERT_FILE": "/etc/ssl/certs/ca-certificates.crt",
    "NODE_EXTRA_CA_CERTS": "/etc/ssl/certs/ca-certificates.crt",
    "HTTPS_PROXY": "http://proxy:3128",
    "SSH_AUTH_SOCK": "/run/agent.sock",
    "KEYBOARD": "us",
}


@pytest.fixture
def known_secret():
    value = "sk-settings-key-0123456789"
    logs.add_secret(value)
    yield value
    logs._secrets.discard(value)


def test_secrets_never_pass_and_registry_settings_do():
    env = tool_environment(base={**SECRETS, **KEPT})
    assert env == KEPT


@pytest.mark.parametrize("name", sorted(SECRETS))
def test_each_secret_name_is_recognised(name):
    assert is_secret_name(name)


def test_the_api_key_is_dropped_whatever_variable_holds_it(known_secret):
    base = {"PATH": "/bin", "MY_LLM": known_secret, "URL": f"https://u:{known_secret}@host/"}
    assert tool_environment(base=base) == {"PATH": "/bin"}


def test_the_callers_settings_are_added_and_the_daemons_environment_is_the_default(monkeypatch):
    monkeypatch.setenv("GROQ_API_KEY", "gsk_live_0123456789")
    monkeypatch.setenv("STEPFORGE_TOKEN", "tcp-token-abcdef")
    monkeypatch.setenv("UV_INDEX_URL", "http://127.0.0.1:8080/simple")
    env = tool_environment({"PYTHONDONTWRITEBYTECODE": "1"})
    assert "GROQ_API_KEY" not in env and "STEPFORGE_TOKEN" not in env
    assert env["UV_INDEX_URL"] == "http://127.0.0.1:8080/simple"
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert env["PATH"] == os.environ["PATH"]


def test_the_local_runtimes_servers_get_no_secret_and_the_workspace_marker(
    monkeypatch, tmp_path, known_secret
):
    monkeypatch.setenv("GROQ_API_KEY", "gsk_live_0123456789")
    monkeypatch.setenv("EXAMPLE_API_KEY", "x")
    monkeypatch.setenv("COPIED_KEY", known_secret)
    env = host_environment(tmp_path)
    assert env[MARKER] == str(tmp_path)
    assert not {"GROQ_API_KEY", "EXAMPLE_API_KEY", "COPIED_KEY"} & set(env)


def test_a_real_child_sees_only_the_sanitized_environment(monkeypatch, known_secret):
    monkeypatch.setenv("GROQ_API_KEY", "gsk_live_0123456789")
    monkeypatch.setenv("COPIED_KEY", known_secret)
    monkeypatch.setenv("HARMLESS_SETTING", "1")
    shown = subprocess.run(
        [sys.executable, "-c", "import os; print('\\n'.join(sorted(os.environ)))"],
        env=tool_environment(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert "HARMLESS_SETTING" in shown
    assert "GROQ_API_KEY" not in shown and "COPIED_KEY" not in shown


# Calls that start a program; each must be given `env=` (an inherited os.environ carries the key).
STARTERS = {
    "subprocess": {"run", "Popen", "call", "check_call", "check_output"},
    "anyio": {"run_process", "open_process"},
    "asyncio": {"create_subprocess_exec", "create_subprocess_shell"},
    "chromium": {"launch"},  # playwright's browser
}
# The CLI's client starts the daemon itself, which needs the key (pygls's start_io, not listed).


def _starts_without_env(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        owner = node.func.value
        owner_name = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", "")
        if owner_name == "os" and node.func.attr.startswith(("system", "popen", "exec", "spawn")):
            found.append(f"{path.relative_to(SERVER.parent)}:{node.lineno}")  # inherits always
            continue
        if node.func.attr not in STARTERS.get(owner_name, set()):
            continue
        if not any(keyword.arg == "env" for keyword in node.keywords):
            found.append(f"{path.relative_to(SERVER.parent)}:{node.lineno}")
    return found


def test_every_program_started_in_server_gets_an_explicit_environment():
    missing = [site for path in sorted(SERVER.rglob("*.py")) for site in _starts_without_env(path)]
    assert missing == []
