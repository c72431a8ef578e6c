"""Postgres for a preview, on request (the `database` setting, `preview start --database postgres`).

Docker runtime: a third container (`stepforge-database-<tag>`) from the image that
`build-images.sh` makes offline from Debian's postgresql-15, with the workspace's own volume
(`stepforge-pgdata-<tag>`, labelled as the app's data, so no clean-up of dependency volumes ever
removes it). It runs in the sandbox the other containers share (every capability dropped,
no-new-privileges, a read-only root with a tmpfs for scratch, memory, CPU and process limits) as
the image's `postgres` user (uid 999: Postgres refuses root, and the daemon may run as root), and
joins only the preview's own network, where the backend reaches it by its container name. Its port
is published nowhere: nothing on the host needs it (`docker exec -it NAME psql -h /tmp -U
postgres app` reaches the data), so another local user or a page in the browser cannot reach it.
It is started before the backend and waited for (`pg_isready`).

The app's role `app` has a password generated per workspace, kept in `.stepforge/postgres.json`
(mode 0600) and registered with the log filter (`server.logs.add_secret`), so it is never logged;
the container itself gets only its SCRAM-SHA-256 verifier and sets it at every start (a lost state
file just gets a new password, the data stays). The backend gets
`DATABASE_URL=postgresql+psycopg://app:PASSWORD@stepforge-database-<tag>:5432/app`; status shows it
with the password masked.

Checks and the runtime smoke keep their scratch SQLite database (no Postgres container is started
for them): the user's data is never reachable from a check.

Local runtime: the Postgres the user points at with `DATABASE_URL` (the daemon's environment),
checked to answer before the backend starts, or an error that says it needs one.

Reset: the volume is copied while the server is stopped (a consistent copy of the files) into a
backup volume (`stepforge-pgdata-backup-<tag>-<time>`), then emptied; the next start makes a new
cluster. Blocking calls (docker SDK, sockets).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import secrets
import socket
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import docker
from docker.errors import APIError, DockerException, NotFound
from docker.models.containers import Container

from protocol.models import PreviewData
from server.errors import StepForgeError
from server.logs import add_secret
from server.plan.packages import requirement_name
from server.preview.database import data_labels
from server.preview.sandbox import LABEL, workspace_tag
from server.preview.volumes import run_over_volumes
from server.workspace.meta import MetaFiles
from server.workspace.roles import read_role_file

log = logging.getLogger(__name__)

POSTGRES_UID = 999  # the image's `postgres` user (build-images.sh)
USER = f"{POSTGRES_UID}:{POSTGRES_UID}"
DATA_INSIDE = "/var/lib/stepforge/pgdata"
PORT = 5432
APP = "app"  # the app's role and database
DRIVER = "postgresql+psycopg"
STATE_FILE = "postgres.json"
MEMORY_LIMIT = "512m"
READY_TIMEOUT = 60.0
STOP_SECONDS = 10  # for Postgres to shut down cleanly before it is killed
SCRAM_ITERATIONS = 4096
# The drivers SQLAlchemy can use for a postgresql URL; the template's requirements carry psycopg.
DRIVERS = {"psycopg": "psycopg", "psycopg-binary": "psycopg", "psycopg2": "psycopg2",
           "psycopg2-binary": "psycopg2", "pg8000": "pg8000"}  # fmt: skip


# --- names ---------------------------------------------------------------------------------------


def container_name(root: Path) -> str:
    return f"stepforge-database-{workspace_tag(str(root))}"


def data_volume(root: Path) -> str:
    return f"stepforge-pgdata-{workspace_tag(str(root))}"


def backup_prefix(root: Path) -> str:
    return f"stepforge-pgdata-backup-{workspace_tag(str(root))}"


def volume_labels(root: Path, purpose: str) -> dict[str, str]:
    # "data"/"data-backup", as the SQLite volume: never removed by a clean-up of dependencies.
    return {**data_labels(root, purpose), f"{LABEL}.database": "postgres"}


# --- pure ----------------------------------------------------------------------------------------


def scram_verifier(password: str, salt: bytes, iterations: int = SCRAM_ITERATIONS) -> str:
    """The SCRAM-SHA-256 verifier Postgres stores for `password` (RFC 5802/7677, as Postgres
    writes it): what `ALTER ROLE ... PASSWORD` accepts as is, so the password itself never has to
    reach the database's container."""
    salted = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode("ascii")

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def salt_of(password: str) -> bytes:
    """The verifier's salt, derived from the password (itself random per workspace): the same
    password gives the same verifier, so a warm start need not set it again."""
    return hashlib.sha256(b"stepforge-postgres-salt:" + password.encode("utf-8")).digest()[:16]


def app_url(host: str, password: str) -> str:
    return f"{DRIVER}://{APP}:{password}@{host}:{PORT}/{APP}"


def masked_url(url: str) -> str:
    """`url` with its password replaced by `***` (for status and messages)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{user}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def user_url(raw: str) -> str:
    """The user's DATABASE_URL for the app: a Postgres URL (`postgres://`, `postgresql://` or
    `postgresql+DRIVER://`), given the template's driver when it names none. ValueError (without
    the URL, which may hold a password) when it is not a Postgres URL with a host."""
    text = raw.strip()
    scheme, sep, rest = text.partition("://")
    if not sep:
        raise ValueError("it is not a URL (postgresql://USER:PASSWORD@HOST:5432/DATABASE)")
    base, _, driver = scheme.lower().partition("+")
    if base not in ("postgres", "postgresql"):
        raise ValueError(f"its scheme is {scheme!r}, not postgresql://")
    try:
        parts = urlsplit(f"postgresql://{rest}")
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise ValueError("its host or port cannot be read") from None
    if not parts.hostname:
        raise ValueError("it names no host")
    if not parts.path.strip("/"):
        raise ValueError("it names no database (…/DATABASE at its end)")
    return f"postgresql+{driver or 'psycopg'}://{rest}"


def host_and_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "", parts.port or PORT


def requirement_names(requirements: str) -> set[str]:
    return {name for line in requirements.splitlines() if (name := requirement_name(line))}


def missing_driver(requirements: str | None, url: str) -> str | None:
    """Why the backend cannot reach Postgres at `url` with these requirements (the driver the URL
    names is not among them), or None."""
    driver = urlsplit(url).scheme.partition("+")[2] or "psycopg2"
    present = {DRIVERS[name] for name in requirement_names(requirements or "") if name in DRIVERS}
    if driver in present:
        return None
    wanted = "psycopg[binary]" if driver == "psycopg" else driver
    return (
        f"backend/requirements.txt has no {driver} (the Postgres driver DATABASE_URL names): "
        f"add `{wanted}` to backend/requirements.in and lock it again, or use --database sqlite"
    )


def require_driver(root: Path, url: str) -> None:
    """Refused before anything starts (a StepForgeError): a backend whose requirements lack the
    driver `url` names could not reach the database. Blocking."""
    requirements = read_role_file(root, "backend/requirements.txt")
    lacking = missing_driver(requirements.decode("utf-8", "replace") if requirements else None, url)
    if lacking:
        raise StepForgeError(f"The backend cannot use Postgres: {lacking}.")


def server_script() -> str:
    """The container's command: a new cluster on a new (or reset) volume, the app's role with
    today's password and its database, then the server itself (PID 1, stopped by SIGINT: a fast
    shutdown that leaves a clean cluster)."""
    return f"""set -e
D={DATA_INSIDE}
if [ ! -s "$D/PG_VERSION" ]; then
  echo "stepforge: making a new Postgres cluster in the volume"
  initdb -D "$D" -U postgres --auth-local=trust --auth-host=scram-sha-256 -E UTF8 \\
    --locale=C.UTF-8 --no-instructions >/dev/null
  echo "host {APP} {APP} samenet scram-sha-256" >>"$D/pg_hba.conf"
fi
# A server killed (not stopped) leaves its pid file, naming PID 1, which is this shell in the new
# container: Postgres would take it for a live server. Only this container mounts the volume (its
# name is the workspace's), so a pid file found now is always stale.
rm -f "$D/postmaster.pid"
single() {{ postgres --single -D "$D" -c jit=off "$@" postgres >/dev/null; }}
# The password set again only when it changed (a warm start skips a single-user run).
if [ "$(cat "$D/stepforge-verifier" 2>/dev/null)" != "$STEPFORGE_PG_VERIFIER" ]; then
  printf "%s\\n" "DO \\$\\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP}') \
THEN CREATE ROLE {APP} LOGIN; END IF; END \\$\\$;" \
    "ALTER ROLE {APP} LOGIN PASSWORD '$STEPFORGE_PG_VERIFIER';" | single -c exit_on_error=on
  printf "%s" "$STEPFORGE_PG_VERIFIER" >"$D/stepforge-verifier"
fi
if [ ! -f "$D/stepforge-database" ]; then  # (an error if a cut-short first start made it: harmless)
  echo "CREATE DATABASE {APP} OWNER {APP};" | single
  touch "$D/stepforge-database"
fi
exec postgres -D "$D" -c listen_addresses='*' -c port={PORT} -c unix_socket_directories=/tmp \\
  -c jit=off -c shared_buffers=64MB -c max_connections=40
"""


# --- the password --------------------------------------------------------------------------------


def password(root: Path) -> str:
    """The workspace's Postgres password, made on first use (blocking)."""
    meta = MetaFiles(root)
    stored = meta.read(STATE_FILE)
    value = None
    if stored is not None:
        try:
            value = json.loads(stored).get("password")
        except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
            value = None
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9_-]{16,}", value):
        value = secrets.token_urlsafe(24)
        meta.write(STATE_FILE, json.dumps({"password": value}) + "\n", mode=0o600)
    add_secret(value)  # never in a log line, nor in any tool's environment
    return value


# --- docker --------------------------------------------------------------------------------------


def ensure_volume(client: docker.DockerClient, root: Path) -> str:
    """The workspace's Postgres volume, created if needed. A new volume mounted at the image's
    data directory takes its owner (uid 999) and mode (0700)."""
    name = data_volume(root)
    try:
        client.volumes.get(name)
    except NotFound:
        client.volumes.create(name, labels=volume_labels(root, "data"))
    return name


def run_container(
    client: docker.DockerClient,
    root: Path,
    image: str,
    network: str,
    labels: dict[str, str],
) -> tuple[Container, str]:
    """Start the workspace's Postgres (not waited for: `wait_ready`); the container and the
    backend's DATABASE_URL."""
    try:
        client.images.get(image)
    except docker.errors.ImageNotFound:
        raise StepForgeError(
            f"The Postgres image {image} is missing: build it with `stepforge images build` "
            "(it needs root for debootstrap), or use --database sqlite."
        ) from None
    secret = password(root)
    name = container_name(root)
    volume = ensure_volume(client, root)
    container = client.containers.run(
        image,
        ["sh", "-c", server_script()],
        name=name,
        detach=True,
        labels=labels,
        user=USER,
        environment={
            "STEPFORGE_PG_VERIFIER": scram_verifier(secret, salt_of(secret)),
            "HOME": "/tmp",
        },
        working_dir="/tmp",
        volumes={volume: {"bind": DATA_INSIDE, "mode": "rw"}},
        cap_drop=["ALL"],
        security_opt=["no-new-privileges"],
        read_only=True,
        tmpfs={"/tmp": "rw,nosuid,nodev,size=256m"},
        mem_limit=MEMORY_LIMIT,
        nano_cpus=1_000_000_000,
        pids_limit=256,
        network_mode=network,
        stop_signal="SIGINT",  # Postgres' fast shutdown
    )
    return container, app_url(name, secret)


def _last_lines(container: Container, lines: int = 15) -> str:
    try:
        text = container.logs(tail=lines).decode("utf-8", "replace").strip()
    except (APIError, NotFound):
        return "(no output)"
    return text or "(no output)"


def _settled(container: Container) -> None:
    """Wait until Docker is done with an exited container, so that its log is read whole (its
    lines are what tells the user why Postgres did not start)."""
    try:
        container.wait(timeout=10)
    except (DockerException, OSError):  # requests' errors are OSErrors: the log is read anyway
        pass


def wait_ready(root: Path, container: Container, timeout: float = READY_TIMEOUT) -> None:
    """Until the server accepts connections; a StepForgeError naming the database (with its last
    log lines) when it exits or does not answer in time. Its data is left as it is."""
    deadline = time.monotonic() + timeout
    where = f"Postgres (container {container.name}, volume {data_volume(root)})"
    while True:
        try:
            container.reload()
        except NotFound:
            raise StepForgeError(f"{where} was removed while it started.") from None
        if container.status in ("exited", "dead"):
            _settled(container)
            raise StepForgeError(
                f"{where} did not start; its data is left as it is. Last log lines:\n"
                + _last_lines(container)
            )
        if container.status == "running":
            try:
                probe = container.exec_run(
                    ["pg_isready", "-q", "-h", "127.0.0.1", "-p", str(PORT), "-d", APP], user=USER
                )
            except APIError as error:
                if error.status_code != 409:  # 409: it exited since the reload; seen next round
                    raise
            else:
                if probe.exit_code == 0:
                    return
        if time.monotonic() > deadline:
            raise StepForgeError(
                f"{where} did not accept connections within {timeout:.0f} s. Last log lines:\n"
                + _last_lines(container)
            )
        time.sleep(0.1)


def stop(container: Container) -> None:
    """Stop the server (SIGINT, its fast shutdown: the cluster stays clean; killed only after
    STOP_SECONDS), then remove its container."""
    try:
        if container.status == "running":
            container.stop(timeout=STOP_SECONDS)
        container.remove(force=True)
    except NotFound:
        pass


def not_running(container: Container | None, root: Path) -> str | None:
    """Why the preview's Postgres cannot serve (it stopped), for status; None when it runs."""
    if container is not None and container.status == "running":
        return None
    where = f"Postgres (volume {data_volume(root)})"
    if container is None:
        return f"{where} is not running: start the preview again"
    last = _last_lines(container, 3).splitlines()[-1]
    return f"{where} stopped ({container.status}): {last}"


def _over_volumes(
    client: docker.DockerClient, image: str, argv: list[str], mounts: dict[str, dict[str, str]]
) -> bytes:
    return run_over_volumes(client, image, argv, mounts, user=USER)


def reset_volume(client: docker.DockerClient, root: Path, image: str) -> str | None:
    """Copy the (stopped) Postgres volume into a new backup volume, then empty it; the backup's
    name (None: there was no cluster to reset)."""
    name = data_volume(root)
    try:
        client.volumes.get(name)
    except NotFound:
        return None
    at = {name: {"bind": DATA_INSIDE, "mode": "ro"}}
    if not _over_volumes(client, image, ["find", DATA_INSIDE, "-name", "PG_VERSION"], at).strip():
        return None
    backup = f"{backup_prefix(root)}-{time.strftime('%Y%m%d-%H%M%S')}"
    client.volumes.create(backup, labels=volume_labels(root, "data-backup"))
    # The copy at the image's data directory: it takes its owner and mode (uid 999, 0700).
    run_over_volumes(
        client,
        image,
        ["cp", "-a", "/from/.", f"{DATA_INSIDE}/"],
        {name: {"bind": "/from", "mode": "ro"}, backup: {"bind": DATA_INSIDE, "mode": "rw"}},
        user=USER,
    )
    # Emptied only once the copy is complete (run_over_volumes raises otherwise).
    emptied = ["find", DATA_INSIDE, "-mindepth", "1", "-delete"]
    _over_volumes(client, image, emptied, {name: {"bind": DATA_INSIDE, "mode": "rw"}})
    return backup


def describe(root: Path) -> PreviewData:
    volume = data_volume(root)
    return PreviewData(
        runtime="docker",
        database="postgres",
        location=f"docker volume {volume} (Postgres 15, container {container_name(root)})",
        volume=volume,
        database_url=masked_url(app_url(container_name(root), "x")),
        backups=f"docker volumes {backup_prefix(root)}-*",
    )


# --- local runtime -------------------------------------------------------------------------------


def local_url(root: Path, configured: str | None) -> str:
    """The local runtime's DATABASE_URL for Postgres: the user's, checked (a Postgres URL, the
    driver in the backend's requirements, a server that answers). Blocking."""
    if not configured:
        raise StepForgeError(
            "The local runtime with --database postgres uses a Postgres you run: set "
            "DATABASE_URL=postgresql://USER:PASSWORD@HOST:5432/DATABASE before starting "
            "StepForge, or use the docker runtime (--runtime docker), or --database sqlite."
        )
    try:
        url = user_url(configured)
    except ValueError as error:
        raise StepForgeError(
            f"DATABASE_URL is not a Postgres URL: {error}. Set it to "
            "postgresql://USER:PASSWORD@HOST:5432/DATABASE, or use --database sqlite."
        ) from None
    secret = urlsplit(url).password
    if secret:
        add_secret(secret)
    require_driver(root, url)
    host, port = host_and_port(url)
    try:
        with socket.create_connection((host, port), timeout=3):
            pass
    except OSError as error:
        raise StepForgeError(
            f"The database {masked_url(url)} (DATABASE_URL) does not answer on {host}:{port}: "
            f"{error.strerror or error}. Start that Postgres or fix DATABASE_URL; nothing was "
            "started, and no data was touched."
        ) from None
    return url


def describe_local(configured: str | None) -> PreviewData:
    try:
        shown = masked_url(user_url(configured)) if configured else "(DATABASE_URL is not set)"
    except ValueError:
        shown = "(DATABASE_URL is not a Postgres URL)"
    return PreviewData(
        runtime="local",
        database="postgres",
        location=f"the Postgres of DATABASE_URL: {shown}",
        database_url=shown,
        backups="none: reset-data does not touch a Postgres you run (use pg_dump)",
    )


def labels_for(root: Path, **extra: str) -> dict[str, str]:
    """The container's labels: those of a preview server, role `database`."""
    result: dict[str, Any] = {
        f"{LABEL}.managed": "1",
        f"{LABEL}.workspace": str(root),
        f"{LABEL}.role": "database",
        f"{LABEL}.purpose": "preview",
    }
    result.update({f"{LABEL}.{key}": value for key, value in extra.items()})
    return result
