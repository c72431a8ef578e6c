"""The Docker sandbox against a repository's links, and the containers' networks, end to end: real
symbolic links, the real CLI and daemon, real Docker, verified with `docker inspect`.

- A role folder that is a link (`backend -> .`, `frontend -> /`) is refused by `preview start`
  (either runtime) and `check` with an error naming it; nothing is written under `.git` or
  `.vscode`; no container is created, none mounts the workspace.
- Links inside a role folder are never read by the checks' walk.
- Each workspace's preview runs on a network of its own (neither on Docker's default bridge, nor
  able to reach the other's containers); the checkers have no network at all.

Docker tests skip without an engine and the images, except in CI (STEPFORGE_REQUIRE_DOCKER=1).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import docker
import pytest
from pygls.exceptions import JsonRpcException

from protocol.errors import ErrorCode
from server.preview.networks import preview_network_name
from server.template import template_bytes, template_paths
from tests.conftest import base_env, require_docker, run_cli, start_lsp

pytestmark = pytest.mark.slow


def snapshot(folder: Path) -> dict[str, tuple[int, bytes]]:
    """Every file below `folder`: its modification time and bytes."""
    return {
        str(path.relative_to(folder)): (path.stat().st_mtime_ns, path.read_bytes())
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not path.is_symlink()
    }


def hostile_repository(root: Path) -> None:
    """What a cloned repository may hold: its app's files at the top, `.git` with hooks, editor
    settings, and `backend -> .` (git stores the link), so that `backend/main.py` exists."""
    (root / ".git" / "hooks").mkdir(parents=True)
    (root / ".git" / "hooks" / "pre-commit.sample").write_text("#!/bin/sh\n")
    (root / ".vscode").mkdir()
    (root / ".vscode" / "settings.json").write_text("{}\n")
    (root / "main.py").write_text(
        "import pathlib\n"
        "pathlib.Path('/workspace/backend/.git/hooks/pre-commit').write_text('echo owned')\n"
        "from fastapi import FastAPI\napp = FastAPI()\n"
    )
    (root / "requirements.txt").write_text("fastapi\nuvicorn\n")
    (root / "frontend").mkdir()
    (root / "frontend" / "package.json").write_text('{"name": "app", "private": true}\n')
    os.symlink(".", root / "backend")


def containers_seeing(root: Path) -> list[str]:
    """Names of the containers that carry this workspace's label or mount it (or a folder above
    its role folders) from the host."""
    found = []
    real = str(root.resolve())
    for container in docker.from_env().containers.list(all=True):
        sources = [m.get("Source", "") for m in container.attrs.get("Mounts", [])]
        if container.labels.get("stepforge.workspace") == str(root) or any(
            real == source or real.startswith(source.rstrip("/") + "/") for source in sources
        ):
            found.append(container.name)
    return found


async def test_a_linked_role_folder_is_refused_by_preview_and_check(tmp_path):
    require_docker()
    dot = tmp_path / "dot"
    dot.mkdir()
    hostile_repository(dot)
    # `frontend -> /`: the checks would walk the host, the local runtime would run there.
    root_link = tmp_path / "root-link"
    (root_link / "backend").mkdir(parents=True)
    (root_link / "backend" / "main.py").write_text("app = None\n")
    os.symlink("/", root_link / "frontend")
    before = {name: snapshot(dot / name) for name in (".git", ".vscode")}

    done = run_cli(
        "preview", "start", "--runtime", "docker", "--workspace", str(dot), env=base_env()
    )
    assert done.returncode != 0, done.stdout
    assert "backend is a symbolic link (to .)" in done.stderr, done.stderr
    assert "replace it with a real folder" in done.stderr
    client = await start_lsp(base_env(), dot)  # one daemon for the rest: a start costs seconds
    try:
        for folder, method, params, named in (
            (dot, "stepforge/check", {}, "backend is a symbolic link (to .)"),
            (root_link, "stepforge/check", {}, "frontend is a symbolic link (to /)"),
            (root_link, "stepforge/preview/start", {"runtime": "local"}, "frontend is a symbolic"),
        ):
            with pytest.raises(JsonRpcException) as refused:
                await request(client, method, {**params, "workspace": str(folder)})
            assert refused.value.code == ErrorCode.PATH_OUTSIDE_WORKSPACE
            assert named in refused.value.message
    finally:
        await client.shutdown_session()
    assert {name: snapshot(dot / name) for name in (".git", ".vscode")} == before
    assert not (dot / ".git" / "hooks" / "pre-commit").exists()
    assert not (root_link / ".stepforge" / "logs").exists()  # the local runtime never began
    assert containers_seeing(dot) == containers_seeing(root_link) == []


def template_app(folder: Path) -> Path:
    """The app template as laid out in a new project (it runs and checks clean; its lock files
    are the template's, so the dependency volumes fill from the pristine copy: no install)."""
    for relative in template_paths():
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(template_bytes(relative))
    return folder


def request(client, method, params):
    return asyncio.wrap_future(client.protocol.send_request(method, params))


def networks_of(container) -> dict:
    container.reload()
    return container.attrs["NetworkSettings"]["Networks"]


def reaches(container, url: str) -> bool:
    probe = container.exec_run(
        [
            "/deps/venv/bin/python",
            "-c",
            f"import urllib.request; urllib.request.urlopen({url!r}, timeout=3)",
        ]
    )
    return probe.exit_code == 0


async def test_previews_get_networks_of_their_own_and_checkers_none(tmp_path):
    """Two workspaces' previews: each on its own network, neither on the default bridge, unable
    to reach the other's backend; the checkers have no network, also when their dependencies had
    to be installed from PyPI first; the checks' walk never reads through a link inside a role
    folder; stopping removes the networks."""
    require_docker()
    first, second = template_app(tmp_path / "first"), template_app(tmp_path / "second")
    with (first / "backend" / "requirements.txt").open("a") as requirements:
        requirements.write("# not the template's lock file: installed from PyPI by an installer\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "leak.py").write_text("def broken(:\n")  # a syntax error, if ever read
    os.symlink(outside, first / "backend" / "leaked")
    os.symlink(outside / "leak.py", first / "backend" / "leak.py")
    engine = docker.from_env()
    client = await start_lsp(base_env(), first)
    try:
        checked = await request(client, "stepforge/check", {})
        assert all("leak" not in p["path"] for p in checked["problems"]), checked["problems"]
        assert {t["name"] for t in checked["tiers"] if t["ran"]} >= {"tsc", "python"}, checked[
            "tiers"
        ]
        checkers = engine.containers.list(
            filters={"label": [f"stepforge.workspace={first}", "stepforge.purpose=checks"]}
        )
        assert {c.labels["stepforge.role"] for c in checkers} == {"frontend", "backend"}
        for checker in checkers:
            assert checker.attrs["HostConfig"]["NetworkMode"] == "none"
            assert set(networks_of(checker)) <= {"none"}
        backend_checker = next(c for c in checkers if c.labels["stepforge.role"] == "backend")
        installed = backend_checker.exec_run(["test", "-x", "/deps/venv/bin/uvicorn"])
        assert installed.exit_code == 0  # the installer reached PyPI; its network is gone
        assert engine.networks.list(filters={"label": f"stepforge.workspace={first}"}) == []

        for folder in (first, second):
            started = await request(
                client, "stepforge/preview/start", {"runtime": "docker", "workspace": str(folder)}
            )
            assert started["runtime"] == "docker"
        found = {
            folder: {
                c.labels["stepforge.role"]: c
                for c in engine.containers.list(
                    filters={
                        "label": [f"stepforge.workspace={folder}", "stepforge.purpose=preview"]
                    }
                )
            }
            for folder in (first, second)
        }
        for folder, containers in found.items():
            assert set(containers) == {"frontend", "backend"}
            for container in containers.values():
                assert set(networks_of(container)) == {preview_network_name(folder)}
            network = engine.networks.get(preview_network_name(folder))
            assert network.attrs["Labels"]["stepforge.workspace"] == str(folder)
        assert preview_network_name(first) != preview_network_name(second)
        mine, theirs = found[first]["backend"], found[second]["backend"]
        their_address = networks_of(theirs)[preview_network_name(second)]["IPAddress"]
        assert reaches(mine, f"http://{found[first]['backend'].name}:8000/api/health")
        assert not reaches(mine, f"http://{their_address}:8000/api/health")
    finally:
        for folder in (first, second):
            await request(client, "stepforge/preview/stop", {"workspace": str(folder)})
        await client.shutdown_session()
    for folder in (first, second):
        assert engine.networks.list(names=[preview_network_name(folder)]) == []


def test_a_network_left_by_a_dead_daemon_is_reaped_and_a_live_ones_kept(tmp_path):
    require_docker()
    from server.preview.networks import PREVIEW_PURPOSE, remove_unused_networks
    from server.preview.owner import current_owner

    engine = docker.from_env()
    created = []
    for name, owner in (("dead", "999999999:1"), ("live", current_owner())):
        created.append(
            engine.networks.create(
                f"stepforge-test-{name}-{tmp_path.name[-8:]}",
                labels={
                    "stepforge.managed": "1",
                    "stepforge.workspace": str(tmp_path),
                    "stepforge.purpose": PREVIEW_PURPOSE,
                    "stepforge.owner": owner,
                },
            )
        )
    dead, live = created
    try:
        removed = remove_unused_networks(engine)
        assert dead.name in removed and live.name not in removed
        assert engine.networks.list(names=[dead.name]) == []
    finally:
        for network in created:
            try:
                network.remove()
            except docker.errors.NotFound:
                pass
