"""Live preview end to end: a generated app served by each runtime, checked over HTTP and in a real
browser (Debian's chromium through playwright), ports that never collide, lifetimes and orphans.

Docker tests need an engine and the images (`stepforge images build`); they skip without them,
except in CI (STEPFORGE_REQUIRE_DOCKER=1), where they fail.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import time
from pathlib import Path

import docker
import httpx
import pytest

from server.checks.smoke import CHROMIUM_ARGS
from server.preview.owner import is_alive
from server.preview.ports import port_is_free
from server.preview.sandbox import VITE_CACHE_DIR, is_shared_volume, workspace_tag
from tests.conftest import CA_BUNDLE, daemon_env, require_docker, run_cli, start_lsp

pytestmark = pytest.mark.slow
REQUEST = "a task manager with a dashboard and charts"
LABELS = ["Dashboard", "Tasks", "Projects", "Settings"]
CHROMIUM = "/usr/bin/chromium"
CA_TARGET = str(CA_BUNDLE)


def generate_app(fake, workspace: Path) -> None:
    env = daemon_env(fake)
    for args in (("plan", REQUEST), ("generate",)):
        done = run_cli(*args, "--workspace", str(workspace), env=env)
        assert done.returncode == 0, done.stderr


def request(client, method, params):
    return asyncio.wrap_future(client.protocol.send_request(method, params))


def preview_record(workspace: Path) -> dict:
    return json.loads((workspace / ".stepforge" / "preview.json").read_text())


def containers_of(workspace: Path) -> list:
    return docker.from_env().containers.list(
        all=True, filters={"label": f"stepforge.workspace={workspace}"}
    )


def require_runtime(runtime: str) -> None:
    if runtime == "docker":
        require_docker()
    elif shutil.which("npm") is None:
        pytest.skip("the local runtime needs Node.js and npm")


def stop_everything(workspace: Path, fake) -> None:
    run_cli("preview", "stop", "--workspace", str(workspace), env=daemon_env(fake))


async def check_in_browser(frontend_url: str) -> None:
    """Every planned navigation label shows, a click reaches its page, and the dashboard shows
    data the browser fetched from the backend at VITE_API_URL."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("STEPFORGE_REQUIRE_DOCKER") == "1":
            pytest.fail("Debian's chromium is required in CI")
        pytest.skip("chromium is not installed")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page()
            await page.goto(frontend_url + "/", wait_until="domcontentloaded")
            nav = page.locator("nav[aria-label='Main navigation']")
            await nav.wait_for(timeout=30_000)
            assert await nav.locator("a").all_inner_texts() == LABELS
            assert await nav.locator("h2").all_inner_texts() == [
                "OVERVIEW",
                "WORK",
                "SYSTEM",
            ]  # groups (CSS upper-cases)
            for label in LABELS:
                await nav.get_by_role("link", name=label).click()
                await page.locator("h1", has_text=label).wait_for(timeout=30_000)
                assert page.url == f"{frontend_url}/{label.lower()}"
            await nav.get_by_role("link", name="Dashboard").click()
            total = page.locator("[data-testid='stat-Total']")
            await total.wait_for(timeout=30_000)
            assert (
                await total.inner_text() == "5"
            )  # five seeded tasks, through VITE_API_URL and CORS
        finally:
            await browser.close()


@pytest.mark.parametrize("runtime", ["docker", "local"])
async def test_preview_serves_the_generated_app(fake_groq, workspace, runtime):
    require_runtime(runtime)
    generate_app(fake_groq, workspace)
    client = await start_lsp(daemon_env(fake_groq), workspace)
    logs: list[dict] = []
    client.feature("stepforge/previewLog")(lambda params: logs.append(params))
    try:
        result = await request(client, "stepforge/preview/start", {"runtime": runtime})
        assert result["runtime"] == runtime
        frontend, backend = result["frontendUrl"], result["backendUrl"]
        assert frontend.startswith("http://127.0.0.1:") and backend.startswith("http://127.0.0.1:")
        async with httpx.AsyncClient(timeout=30) as http:
            assert (await http.get(frontend + "/")).status_code == 200
            assert (await http.get(backend + "/api/health")).json() == {"status": "ok"}
            stats = (await http.get(backend + "/api/stats", headers={"Origin": frontend})).json()
            assert stats["total"] == 5
            served_config = (await http.get(frontend + "/src/config.ts")).text
            assert backend in served_config  # VITE_API_URL reached the frontend
        await check_in_browser(frontend)

        status = await request(client, "stepforge/preview/status", {})
        assert status["running"] and status["health"] == {"frontend": True, "backend": True}
        assert any(item["role"] == "backend" for item in logs)  # previewLog notifications
        tail = await request(client, "stepforge/preview/logs", {"lines": 50})
        assert {line["role"] for line in tail["lines"]} == {"frontend", "backend"}

        # Edits show without a restart: the backend reloads a changed router.
        router = workspace / "backend/routers/stats.py"
        router.write_text(
            router.read_text().replace(
                "return task_stats(session)", "return {**task_stats(session), 'edited': True}"
            )
        )
        async with httpx.AsyncClient(timeout=5) as http:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    if (await http.get(backend + "/api/stats")).json().get("edited"):
                        break
                except (httpx.HTTPError, ValueError):
                    pass
                await asyncio.sleep(0.5)
            else:
                pytest.fail("the backend did not reload the edited router")

        stopped = await request(client, "stepforge/preview/stop", {})
        assert stopped["stopped"] is True
        ports = [int(url.rsplit(":", 1)[1]) for url in (frontend, backend)]
        assert all(port_is_free(port) for port in ports)  # stop frees the ports
        assert preview_record(workspace)["running"] is False
        assert preview_record(workspace)["frontend_port"] == ports[0]  # remembered for next time
    finally:
        await client.shutdown_session()
        stop_everything(workspace, fake_groq)


async def test_docker_containers_are_locked_down(fake_groq, workspace):
    require_docker()
    generate_app(fake_groq, workspace)
    done = run_cli(
        "preview",
        "start",
        "--workspace",
        str(workspace),
        "--runtime",
        "docker",
        env=daemon_env(fake_groq),
    )
    assert done.returncode == 0, done.stderr
    try:
        found = {c.labels["stepforge.role"]: c for c in containers_of(workspace)}
        assert set(found) == {"frontend", "backend"}
        for role, container in found.items():
            config = container.attrs["HostConfig"]
            assert container.attrs["Config"]["User"] == f"{os.getuid()}:{os.getgid()}"
            assert config["CapDrop"] == ["ALL"] and "no-new-privileges" in config["SecurityOpt"]
            assert (
                config["Memory"] > 0
                and config["NanoCpus"] == 1_000_000_000
                and config["PidsLimit"] == 512
            )
            bindings = [b for port in config["PortBindings"].values() for b in port]
            assert all(b["HostIp"] == "127.0.0.1" for b in bindings)
            labels = container.labels
            assert labels["stepforge.managed"] == "1" and labels["stepforge.workspace"] == str(
                workspace
            )
            assert labels["stepforge.detached"] == "1" and ":" in labels["stepforge.owner"]
            mounts = {m["Destination"]: m for m in container.attrs["Mounts"]}
            # Only the role's own folder: never .git, .stepforge, .vscode or the other side.
            assert mounts[f"/workspace/{role}"]["Source"] == str(workspace / role)
            assert mounts[f"/workspace/{role}"]["RW"] is True
            data = {"/data"} if role == "backend" else set()  # the app's database volume
            assert set(mounts) == {f"/workspace/{role}", "/deps", CA_TARGET, *data} - (
                set() if CA_TARGET in mounts else {CA_TARGET}
            )
            assert config["ReadonlyRootfs"] is True and "/tmp" in config["Tmpfs"]
            volume = mounts["/deps"]
            assert volume["Type"] == "volume"
            prefix = "stepforge-npm-" if role == "frontend" else "stepforge-venv-"
            # The template's lock file: the template's shared dependencies, read-only.
            assert volume["Name"].startswith(f"{prefix}pristine-") and volume["RW"] is False
            owner = container.exec_run(["stat", "-c", "%u %a", "/deps"]).output.decode().split()
            assert owner == [str(os.getuid()), "700"]  # the user's, closed to everyone else
            for probe in ("echo x > /etc/probe", "echo x > /deps/probe"):
                assert container.exec_run(["sh", "-c", probe]).exit_code != 0  # read-only
    finally:
        stop_everything(workspace, fake_groq)
    assert containers_of(workspace) == []


def test_template_dependencies_are_shared_only_read_only(fake_groq, tmp_path):
    """Projects on the template's lock file mount the template's one installed copy (no install,
    no copy), read-only in every container that runs their code; a project whose lock file
    differs gets a volume of its own, never another project's."""
    require_docker()
    from server.preview import volumes
    from server.preview.launch import FRONTEND_LOCKS, dependency_key

    engine = docker.from_env()
    first, second = tmp_path / "first", tmp_path / "second"
    for folder in (first, second):
        folder.mkdir()
        generate_app(fake_groq, folder)  # its check mounts the dependencies
    pristine = volumes.pristine_name("frontend", dependency_key(first, FRONTEND_LOCKS))
    engine.volumes.get(pristine + "-done")  # installed once, complete
    for folder in (first, second):
        assert volumes.still_serves(folder, "frontend", pristine)
        with pytest.raises(docker.errors.NotFound):  # nothing of its own was made or copied
            engine.volumes.get(volumes.dependency_volume(folder, "frontend"))
    env = daemon_env(fake_groq)
    started = run_cli("preview", "start", "--workspace", str(first), env=env)
    assert started.returncode == 0, started.stderr
    try:
        frontend = engine.containers.get(f"stepforge-frontend-{workspace_tag(str(first))}")
        deps = next(m for m in frontend.attrs["Mounts"] if m["Destination"] == "/deps")
        assert deps["Name"] == pristine and deps["RW"] is False
        # The project's code runs here: it cannot change the shared copy.
        for attempt in (
            "touch /deps/node_modules/react/index.js",
            "rm -rf /deps/node_modules/react",
        ):
            assert frontend.exec_run(["sh", "-c", attempt]).exit_code != 0, attempt
        # Vite's own cache is a tmpfs of this container's, seeded from the install's bundles.
        cache = frontend.exec_run(["sh", "-c", f"touch {VITE_CACHE_DIR}/probe && echo ok"])
        assert cache.output.decode().strip() == "ok"
    finally:
        run_cli("preview", "stop", "--workspace", str(first), env=env)
    listed = engine.containers.run(
        "stepforge-frontend:1",
        ["sh", "-c", "ls /deps/node_modules/react/index.js"],
        volumes={pristine: {"bind": "/deps", "mode": "ro"}},
        user=f"{os.getuid()}:{os.getgid()}",
        remove=True,
    ).decode()
    assert "/deps/node_modules/react/index.js" in listed  # untouched
    # A changed lock file: each project's own volume, and the template's copy is not theirs.
    for folder in (first, second):
        lock = folder / "frontend/package-lock.json"
        lock.write_text(
            lock.read_text().replace('"lockfileVersion"', '"name": "changed", "lockfileVersion"', 1)
        )
        assert (
            volumes.pristine_for(engine, folder, "frontend", "stepforge-frontend:1", [], {}) is None
        )
        assert not volumes.still_serves(folder, "frontend", pristine)
    ours = [volumes.dependency_volume(folder, "frontend") for folder in (first, second)]
    assert ours[0] != ours[1] and not any(is_shared_volume(name) for name in ours)


async def test_stop_touches_only_what_stepforge_started(fake_groq, workspace):
    """A preview.json naming somebody else's container or process (an old file, a copied one, a
    planted one) must not make `preview stop` kill it."""
    require_docker()
    generate_app(fake_groq, workspace)
    engine = docker.from_env()
    bystander = engine.containers.run(
        "stepforge-backend:1", ["sleep", "300"], detach=True, labels={"someone": "else"}
    )
    sleeper = await asyncio.create_subprocess_exec("sleep", "300")
    from server.preview.owner import process_identity

    identity = process_identity(sleeper.pid)
    record = {
        "workspace": str(workspace),
        "frontend_port": 3999,
        "backend_port": 8999,
        "runtime": "docker",
        "running": True,
        "containers": {"frontend": bystander.id, "backend": bystander.id},
        "processes": {"frontend": identity, "backend": identity},
    }
    preview = workspace / ".stepforge" / "preview.json"
    try:
        for runtime in ("docker", "local"):
            preview.write_text(json.dumps({**record, "runtime": runtime}))
            done = run_cli(
                "preview", "stop", "--workspace", str(workspace), env=daemon_env(fake_groq)
            )
            assert done.returncode == 0, done.stderr
            bystander.reload()
            assert bystander.status == "running"
            assert sleeper.returncode is None and is_alive(identity)
    finally:
        bystander.remove(force=True)
        sleeper.kill()
        await sleeper.wait()


async def test_auto_falls_back_to_local_only_with_a_warning(fake_groq, workspace):
    require_runtime("local")
    generate_app(fake_groq, workspace)
    env = daemon_env(fake_groq, STEPFORGE_FRONTEND_IMAGE="stepforge-missing:0")
    client = await start_lsp(env, workspace)
    try:
        result = await request(client, "stepforge/preview/start", {})
        assert result["runtime"] == "local"
        warnings = [m.message for m in client.messages if m.type == 2]
        assert any("unsandboxed" in w for w in warnings)
    finally:
        await client.shutdown_session()
    done = run_cli("preview", "start", "--workspace", str(workspace), env=env)
    try:
        assert done.returncode == 0 and "unsandboxed" in done.stderr
    finally:
        stop_everything(workspace, fake_groq)


def test_a_cli_preview_outlives_the_command_and_is_found_again(fake_groq, workspace):
    require_docker()
    generate_app(fake_groq, workspace)
    env = daemon_env(fake_groq)
    started = run_cli("preview", "start", "--workspace", str(workspace), "--json", env=env)
    assert started.returncode == 0, started.stderr
    result = json.loads(started.stdout)
    try:
        assert (
            httpx.get(result["frontendUrl"] + "/", timeout=10).status_code == 200
        )  # the command has exited
        status = json.loads(
            run_cli("preview", "status", "--workspace", str(workspace), "--json", env=env).stdout
        )
        assert (
            status["running"]
            and status["detached"]
            and status["frontendUrl"] == result["frontendUrl"]
        )
        logs = run_cli("preview", "logs", "--workspace", str(workspace), env=env)
        assert "[backend]" in logs.stdout
        again = json.loads(
            run_cli("preview", "start", "--workspace", str(workspace), "--json", env=env).stdout
        )
        assert (
            again["frontendUrl"] == result["frontendUrl"] and "already running" in again["message"]
        )
    finally:
        stopped = run_cli("preview", "stop", "--workspace", str(workspace), env=env)
    assert stopped.returncode == 0 and "Stopped the preview" in stopped.stdout
    assert containers_of(workspace) == []
    assert (
        "No preview is running"
        in run_cli("preview", "status", "--workspace", str(workspace), env=env).stdout
    )


def test_two_projects_get_different_ports_and_a_busy_port_is_never_taken(fake_groq, tmp_path):
    require_docker()
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    generate_app(fake_groq, first)
    generate_app(fake_groq, second)
    env = daemon_env(fake_groq)
    squatter = socket.socket()
    squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    squatter.bind(("127.0.0.1", 0))
    busy = squatter.getsockname()[1]
    squatter.listen()
    try:
        urls = []
        for folder in (first, second):
            done = run_cli("preview", "start", "--workspace", str(folder), "--json", env=env)
            assert done.returncode == 0, done.stderr
            urls.append(json.loads(done.stdout))
        ports = {int(u[k].rsplit(":", 1)[1]) for u in urls for k in ("frontendUrl", "backendUrl")}
        assert len(ports) == 4 and busy not in ports
        for result in urls:
            assert httpx.get(result["backendUrl"] + "/api/health", timeout=10).status_code == 200
        first_ports = (
            preview_record(first)["frontend_port"],
            preview_record(first)["backend_port"],
        )
        assert first_ports[1] - first_ports[0] == 5000  # a pair: 3002/8002, 3003/8003, ...
    finally:
        squatter.close()
        stop_everything(first, fake_groq)
        stop_everything(second, fake_groq)
    # The pair is remembered: started again, the first project gets its URLs back.
    again = run_cli("preview", "start", "--workspace", str(first), "--json", env=env)
    try:
        assert json.loads(again.stdout)["frontendUrl"] == urls[0]["frontendUrl"]
    finally:
        stop_everything(first, fake_groq)


@pytest.mark.parametrize("runtime", ["docker", "local"])
async def test_a_killed_daemon_leaves_nothing_behind_after_the_next_start(
    fake_groq, workspace, runtime
):
    require_runtime(runtime)
    generate_app(fake_groq, workspace)
    client = await start_lsp(daemon_env(fake_groq), workspace)
    result = await request(
        client, "stepforge/preview/start", {"runtime": runtime}
    )  # an editor session's preview
    record = preview_record(workspace)
    os.kill(client._server.pid, signal.SIGKILL)
    await asyncio.sleep(0.5)
    try:
        await client.stop()
    except Exception:
        pass
    if runtime == "docker":
        assert len(containers_of(workspace)) == 2  # orphaned, for now
    else:
        assert all(is_alive(identity) for identity in record["processes"].values())

    successor = await start_lsp(daemon_env(fake_groq), workspace)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if runtime == "docker":
                gone = containers_of(workspace) == []
            else:
                gone = not any(is_alive(identity) for identity in record["processes"].values())
            if gone:
                break
            await asyncio.sleep(0.3)
        else:
            pytest.fail("the orphaned preview was not reaped")
        assert port_is_free(int(result["frontendUrl"].rsplit(":", 1)[1]))
        status = await request(successor, "stepforge/preview/status", {})
        assert status["running"] is False
    finally:
        await successor.shutdown_session()


async def test_an_editor_sessions_preview_stops_with_the_session(fake_groq, workspace):
    require_runtime("local")
    generate_app(fake_groq, workspace)
    client = await start_lsp(daemon_env(fake_groq), workspace)
    await request(client, "stepforge/preview/start", {"runtime": "local"})
    identities = preview_record(workspace)["processes"].values()
    await client.shutdown_session()
    assert not any(is_alive(identity) for identity in identities)
    assert preview_record(workspace)["running"] is False


async def test_a_backend_that_does_not_start_is_a_clear_error_with_its_logs(fake_groq, workspace):
    require_runtime("local")
    generate_app(fake_groq, workspace)
    (workspace / "backend/routers/stats.py").write_text(
        "from fastapi import APIRouter\nrouter = APIRouter(\n"
    )
    # The timeout is far longer than the test: a crash is told as soon as the log shows it.
    client = await start_lsp(daemon_env(fake_groq, STEPFORGE_PREVIEW_TIMEOUT="120"), workspace)
    try:
        with pytest.raises(Exception) as caught:
            await request(client, "stepforge/preview/start", {"runtime": "local"})
        message = str(caught.value)
        assert "The preview did not start: the backend crashed while importing the app" in message
        assert "SyntaxError" in message  # the last log lines say why
        assert preview_record(workspace)["running"] is False
        assert not any(is_alive(i) for i in preview_record(workspace)["processes"].values())
    finally:
        await client.shutdown_session()
