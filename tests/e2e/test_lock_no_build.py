"""The lock step runs no package code on this machine and hands no secret to a tool, end to end:
a real package index on 127.0.0.1 serving a package that exists only as a source distribution,
whose build backend writes a marker file the moment any of its hooks runs; the real daemon, the
real uv and npm.

- `stepforge plan` naming that package: no marker, a note naming the package, nothing half-added;
  the npm the daemon starts for the frontend's lock sees none of the daemon's secrets.
- an editor session, when `.stepforge/plan.json` is rewritten under it (a `git pull`) while
  `backend/requirements.in` holds an option line: refused before uv starts (the index sees no
  request), and said in the editor.
- the control: the same package through uv without `--no-build` does write the marker.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import io
import json
import shutil
import subprocess
import tarfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import daemon_env, run_cli, start_lsp

pytestmark = pytest.mark.slow
REQUEST = "a task manager with a dashboard and charts"
PACKAGE = "sf-marker-pkg"

# A PEP 517 backend in the sdist itself (no build requirements to fetch), and no static metadata
# (no [project] table), so a resolver that may build must run its hooks to learn the metadata.
BACKEND = """
import pathlib

def _mark(hook):
    with open({marker!r}, "a") as out:
        out.write(hook + "\\n")

def get_requires_for_build_wheel(config_settings=None):
    _mark("get_requires_for_build_wheel")
    return []

def prepare_metadata_for_build_wheel(directory, config_settings=None):
    _mark("prepare_metadata_for_build_wheel")
    info = pathlib.Path(directory) / "sf_marker_pkg-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\\nName: sf-marker-pkg\\nVersion: 1.0\\n")
    return info.name

def build_wheel(directory, config_settings=None, metadata_directory=None):
    _mark("build_wheel")
    raise RuntimeError("not built in this test")

def build_sdist(directory, config_settings=None):
    _mark("build_sdist")
    raise RuntimeError("not built in this test")
"""
PYPROJECT = (
    '[build-system]\nrequires = []\nbuild-backend = "marker_backend"\nbackend-path = ["."]\n'
)


@dataclass
class PackageIndex:
    url: str  # the PEP 503 simple index, for UV_INDEX_URL / UV_EXTRA_INDEX_URL
    marker: Path
    requests: list[str] = field(default_factory=list)


def _sdist(marker: Path) -> bytes:
    files = {
        "marker_backend.py": BACKEND.format(marker=str(marker)),
        "pyproject.toml": PYPROJECT,
        "PKG-INFO": f"Metadata-Version: 2.1\nName: {PACKAGE}\nVersion: 1.0\n",
    }
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w:gz") as archive:
        for name, text in files.items():
            content = text.encode()
            info = tarfile.TarInfo(f"sf_marker_pkg-1.0/{name}")
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return data.getvalue()


@pytest.fixture
def package_index(tmp_path: Path) -> Iterator[PackageIndex]:
    root = tmp_path / "index"
    project = root / "simple" / PACKAGE
    project.mkdir(parents=True)
    marker = tmp_path / "package-code-ran"
    archive = _sdist(marker)
    name = "sf_marker_pkg-1.0.tar.gz"
    (project / name).write_bytes(archive)
    digest = hashlib.sha256(archive).hexdigest()
    (project / "index.html").write_text(f'<a href="{name}#sha256={digest}">{name}</a>\n')
    (root / "simple" / "index.html").write_text(f'<a href="{PACKAGE}/">{PACKAGE}</a>\n')
    requests: list[str] = []

    class Handler(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            requests.append(self.path)

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield PackageIndex(f"http://127.0.0.1:{server.server_port}/simple/", marker, requests)
    finally:
        server.shutdown()
        server.server_close()


def plan_with(responder, pypi: dict[str, str], npm: dict[str, str] | None = None) -> None:
    responder.app.plan["dependencies"] = {"npm": npm or {}, "pypi": pypi}


def test_a_source_only_package_is_never_built_and_tools_see_no_secret(
    fake_groq, responder, workspace, package_index, tmp_path
):
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed")
    # An npm on PATH that writes down the environment the daemon gave it, then is the real npm.
    shims = tmp_path / "shims"
    shims.mkdir()
    seen = tmp_path / "npm-environment"
    (shims / "npm").write_text(f'#!/bin/sh\nenv > "{seen}"\nexec "{npm}" "$@"\n')
    (shims / "npm").chmod(0o755)

    fake_groq.api_key = "gsk-lock-test-key-0123456789"
    secrets = {
        "STEPFORGE_TOKEN": "sf-tcp-token-0123456789",
        "EXAMPLE_API_KEY": "example-key-0123456789",
        "GITHUB_TOKEN": "ghp-0123456789",
        "DB_PASSWORD": "db-password-0123456789",
        "COPIED_KEY": fake_groq.api_key,  # the key under a name that says nothing
    }
    env = daemon_env(fake_groq, **secrets, UV_EXTRA_INDEX_URL=package_index.url)
    env["PATH"] = f"{shims}:{env['PATH']}"
    plan_with(responder, {PACKAGE: ">=1.0"}, {"dayjs": "^1.11.0"})

    done = run_cli("plan", REQUEST, "--workspace", str(workspace), env=env, timeout=300)

    assert done.returncode == 0, done.stderr
    assert not package_index.marker.exists(), package_index.marker.read_text()
    assert any(f"/simple/{PACKAGE}/" in path for path in package_index.requests)  # it was asked
    assert f"PyPI package {PACKAGE} has no wheel for this platform" in done.stdout
    assert "does not build packages on your machine" in done.stdout
    # Nothing half-added: the two files agree, and the next run tries again.
    assert PACKAGE not in (workspace / "backend/requirements.in").read_text()
    assert PACKAGE not in (workspace / "backend/requirements.txt").read_text()
    lock = json.loads((workspace / "frontend/package-lock.json").read_text())
    assert "node_modules/dayjs" in lock["packages"]  # the npm side still locks

    environment = seen.read_text()
    names = {line.partition("=")[0] for line in environment.splitlines() if "=" in line}
    assert "PATH" in names and "UV_EXTRA_INDEX_URL" in names  # a real dump, registry settings kept
    assert not {"GROQ_API_KEY", "GROQ_BASE_URL", *secrets} & names
    assert not any(value in environment for value in (*secrets.values(), fake_groq.api_key))


async def test_a_pulled_plan_with_an_option_line_in_requirements_runs_no_resolver(
    fake_groq, responder, workspace, package_index
):
    env = daemon_env(fake_groq, UV_EXTRA_INDEX_URL=package_index.url)
    client = await start_lsp(env, workspace)
    try:
        await asyncio.wrap_future(
            client.protocol.send_request("stepforge/plan", {"request": REQUEST})
        )
        package_index.requests.clear()  # from here on, the pulled plan's doing
        requirements = workspace / "backend/requirements.in"
        template_lines = requirements.read_text().splitlines()
        requirements.write_text(
            "\n".join([*template_lines, f"--extra-index-url {package_index.url}evil/"]) + "\n"
        )
        plan_path = workspace / ".stepforge/plan.json"
        pulled = copy.deepcopy(json.loads(plan_path.read_text()))
        pulled["dependencies"] = {"npm": {}, "pypi": {PACKAGE: ">=1.0"}}
        plan_path.write_text(json.dumps(pulled, indent=2))

        def refusal() -> str | None:
            texts = [m.message for m in client.log_messages + client.messages]
            return next((t for t in texts if "is an option line" in t), None)

        deadline = time.monotonic() + 30
        while refusal() is None:
            assert time.monotonic() < deadline, [m.message for m in client.log_messages]
            await asyncio.sleep(0.1)
    finally:
        await client.shutdown_session()
    message = refusal()
    assert message is not None
    assert f"backend/requirements.in line {len(template_lines) + 1}" in message
    assert "--extra-index-url" in message
    assert package_index.requests == []  # uv never started: not even the index was asked
    assert not package_index.marker.exists()
    assert PACKAGE not in (workspace / "backend/requirements.txt").read_text()


def test_the_control_without_no_build_does_run_the_packages_code(package_index, tmp_path):
    """Proves the marker works: a resolver allowed to build runs the package's hooks."""
    import uv

    folder = tmp_path / "control"
    folder.mkdir()
    (folder / "requirements.in").write_text(f"{PACKAGE}\n")
    subprocess.run(
        [uv.find_uv_bin(), "pip", "compile", "-q", "requirements.in", "-o", "requirements.txt"],
        cwd=folder,
        env={
            "PATH": "/usr/bin:/bin",
            "HOME": str(tmp_path),
            "UV_INDEX_URL": package_index.url,
            "UV_CACHE_DIR": str(tmp_path / "uv-cache"),
        },
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert "prepare_metadata_for_build_wheel" in package_index.marker.read_text()
