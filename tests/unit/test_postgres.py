"""Postgres on request, the parts without Docker: the `database` setting, which database a start
uses, the password's verifier (checked against RFC 7677's exchange), URLs shown without their
password, the user's DATABASE_URL for the local runtime, the driver the backend needs, the
container's script, the password's state file, and the log lines of three containers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from protocol.models import PreviewStartParams
from server.config import load_settings
from server.errors import StepForgeError
from server.logs import redact
from server.preview import postgres
from server.preview.database import describe
from server.preview.records import PreviewRecord
from server.preview.service import PreviewService, last_lines
from server.template import template_bytes

# The form Postgres stores (and `ALTER ROLE ... PASSWORD` takes as is): SCRAM-SHA-256$i:salt$k:k.
VERIFIER = re.compile(r"SCRAM-SHA-256\$\d+:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+")

# --- the setting -------------------------------------------------------------------------------


def test_database_setting_from_environment_and_initialization_options():
    assert load_settings(None, {})[0].database == "sqlite"
    assert load_settings(None, {"STEPFORGE_DATABASE": "postgres"})[0].database == "postgres"
    settings, warnings = load_settings({"database": "postgres"}, {"STEPFORGE_DATABASE": "sqlite"})
    assert settings.database == "postgres" and warnings == []
    settings, warnings = load_settings({"database": "mysql"}, {})
    assert settings.database == "sqlite"
    assert any("database='mysql'" in w and "default 'sqlite'" in w for w in warnings)


def test_database_url_is_a_secret_even_when_rejected():
    url = "postgresql://me:hunter2@db:5432/app"
    settings, _ = load_settings(None, {"DATABASE_URL": url})
    assert settings.database_url_value() == url and "hunter2" not in repr(settings)
    _, warnings = load_settings({"databaseUrl": ["not", "text", "hunter2"]}, {})
    assert warnings and not any("hunter2" in w for w in warnings)


def test_preview_start_takes_a_database():
    assert PreviewStartParams.model_validate({"database": "postgres"}).database == "postgres"
    assert PreviewStartParams.model_validate({}).database is None
    with pytest.raises(ValueError):
        PreviewStartParams.model_validate({"database": "mysql"})


def record(database: str) -> PreviewRecord:
    return PreviewRecord.model_validate(
        {"workspace": "/w", "frontend_port": 1, "backend_port": 2, "database": database}
    )


@pytest.mark.parametrize(
    ("asked", "environment", "last", "expected"),
    [
        (None, {}, None, "sqlite"),  # the default
        (None, {}, "postgres", "postgres"),  # the workspace keeps the one its data is in
        ("sqlite", {}, "postgres", "sqlite"),  # asked for wins
        (None, {"STEPFORGE_DATABASE": "sqlite"}, "postgres", "sqlite"),  # set by the user
        (None, {"STEPFORGE_DATABASE": "postgres"}, None, "postgres"),
    ],
)
def test_which_database_a_start_uses(asked, environment, last, expected):
    settings, _ = load_settings(None, environment)
    previews = PreviewService(settings)
    assert previews.database_for(asked, record(last) if last else None) == expected


def test_an_old_preview_record_means_sqlite():
    old = PreviewRecord.model_validate_json(
        '{"workspace": "/w", "frontend_port": 1, "backend_port": 2}'
    )
    assert old.database == "sqlite"
    assert record("postgres").stopped().database == "postgres"


# --- the password's verifier ----------------------------------------------------------------------


def test_scram_verifier_answers_rfc_7677s_exchange():
    """A server holding only the verifier accepts the client's proof from RFC 7677 (user `user`,
    password `pencil`) and signs as the RFC's server does."""
    salt = base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ==")
    verifier = postgres.scram_verifier("pencil", salt, 4096)
    method, _, rest = verifier.partition("$")
    header, _, keys = rest.partition("$")
    assert method == "SCRAM-SHA-256" and header == "4096:W22ZaJ0SNY7soEsUEjb6gQ=="
    stored_key, server_key = (base64.b64decode(part) for part in keys.split(":"))

    nonce = "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
    auth_message = (
        f"n=user,r=rOprNGfwEbeRWgbNEkqO,r={nonce},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,"
        f"c=biws,r={nonce}"
    ).encode()
    proof = base64.b64decode("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
    signature = hmac.new(stored_key, auth_message, hashlib.sha256).digest()
    client_key = bytes(a ^ b for a, b in zip(proof, signature, strict=True))
    assert hashlib.sha256(client_key).digest() == stored_key
    server_signature = hmac.new(server_key, auth_message, hashlib.sha256).digest()
    assert base64.b64encode(server_signature) == b"6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="


def test_another_password_gets_another_verifier():
    salt = b"0123456789abcdef"
    assert postgres.scram_verifier("a", salt) != postgres.scram_verifier("b", salt)
    assert VERIFIER.fullmatch(postgres.scram_verifier("a", salt))


# --- URLs ----------------------------------------------------------------------------------------


def test_urls_are_shown_without_their_password():
    url = postgres.app_url("stepforge-database-abc", "s3cret-pw")
    assert url == "postgresql+psycopg://app:s3cret-pw@stepforge-database-abc:5432/app"
    assert (
        postgres.masked_url(url) == "postgresql+psycopg://app:***@stepforge-database-abc:5432/app"
    )
    assert postgres.masked_url("postgresql://me@[::1]:6543/db") == "postgresql://me@[::1]:6543/db"
    assert postgres.masked_url("postgresql://me:pw@[::1]/db") == "postgresql://me:***@[::1]/db"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://me:pw@db.local:5432/shop", "postgresql+psycopg://me:pw@db.local:5432/shop"),
        ("postgres://me:pw@127.0.0.1/shop", "postgresql+psycopg://me:pw@127.0.0.1/shop"),
        ("postgresql+pg8000://me@db/shop", "postgresql+pg8000://me@db/shop"),
        (" postgresql://me@db/shop\n", "postgresql+psycopg://me@db/shop"),
    ],
)
def test_the_users_database_url_gets_the_templates_driver(given, expected):
    assert postgres.user_url(given) == expected


@pytest.mark.parametrize(
    ("given", "why"),
    [
        ("mysql://me:topsecret@db/shop", "scheme is 'mysql'"),
        ("sqlite:///topsecret.db", "scheme is 'sqlite'"),
        ("db:5432/topsecret", "not a URL"),
        ("postgresql://me:topsecret@/shop", "names no host"),
        ("postgresql://me:topsecret@db:port/shop", "port cannot be read"),
        ("postgresql://me:topsecret@db:5432", "names no database"),
    ],
)
def test_a_database_url_that_is_not_postgres_is_refused_without_showing_it(given, why):
    with pytest.raises(ValueError) as refused:
        postgres.user_url(given)
    assert why in str(refused.value) and "topsecret" not in str(refused.value)


def test_the_backend_needs_the_driver_its_url_names():
    url = postgres.app_url("db", "x")
    template = template_bytes("backend/requirements.txt").decode()
    assert postgres.missing_driver(template, url) is None  # the template carries psycopg
    assert postgres.missing_driver("psycopg[binary]==3.3.9\n", url) is None
    lacking = postgres.missing_driver("fastapi==1\nsqlmodel==0.0.50\n", url)
    assert lacking is not None and "psycopg[binary]" in lacking and "--database sqlite" in lacking
    assert postgres.missing_driver("pg8000\n", "postgresql+pg8000://a@b/c") is None
    assert postgres.missing_driver(None, url) is not None


# --- the container's script ----------------------------------------------------------------------


def test_the_server_script_is_valid_shell_and_never_holds_a_password():
    script = postgres.server_script()
    checked = subprocess.run(["sh", "-n"], input=script, text=True, capture_output=True)
    assert checked.returncode == 0, checked.stderr
    assert "$STEPFORGE_PG_VERIFIER" in script and "PASSWORD '" in script
    assert "listen_addresses='*'" in script and "samenet" in script  # the preview network only
    assert 'exec postgres -D "$D"' in script  # PID 1: it gets the stop signal


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_the_server_scripts_sql_reaches_postgres_as_written(tmp_path):
    """The script run with stand-ins for initdb and postgres: the SQL each single-user run reads
    (what Postgres would execute) sets the verifier given, and a second start makes no database."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    data = tmp_path / "pgdata"
    (bin_dir / "initdb").write_text(
        '#!/bin/sh\nwhile [ "$1" != "-D" ]; do shift; done\nmkdir -p "$2"; echo 15 > "$2/PG_VERSION"\n'
    )
    (bin_dir / "postgres").write_text(
        f'#!/bin/sh\ncat >> "{tmp_path}/sql"; echo "$@" >> "{tmp_path}/argv"\n'
    )
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    script = postgres.server_script().replace(postgres.DATA_INSIDE, str(data))
    verifier = postgres.scram_verifier("pw", postgres.salt_of("pw"))
    assert verifier == postgres.scram_verifier("pw", postgres.salt_of("pw"))
    renewed = postgres.scram_verifier("pw2", postgres.salt_of("pw2"))
    for given in (verifier, verifier, renewed):  # a warm start, then a new password
        env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "STEPFORGE_PG_VERIFIER": given}
        done = subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    sql = (tmp_path / "sql").read_text().splitlines()
    assert sql.count(f"ALTER ROLE app LOGIN PASSWORD '{verifier}';") == 1
    assert sql.count(f"ALTER ROLE app LOGIN PASSWORD '{renewed}';") == 1
    assert sql.count("CREATE DATABASE app OWNER app;") == 1
    assert "host app app samenet scram-sha-256" in (data / "pg_hba.conf").read_text()


# --- the password's state file -------------------------------------------------------------------


def test_the_password_is_made_once_kept_private_and_redacted(tmp_path):
    (tmp_path / ".stepforge").mkdir()
    first = postgres.password(tmp_path)
    state = tmp_path / ".stepforge" / postgres.STATE_FILE
    assert state.stat().st_mode & 0o777 == 0o600
    assert postgres.password(tmp_path) == first and len(first) >= 24
    assert first not in redact(f"DATABASE_URL={postgres.app_url('db', first)}")
    state.write_text('{"password": "short"}')  # not one StepForge made: replaced
    replaced = postgres.password(tmp_path)
    assert replaced != "short" and json.loads(state.read_text())["password"] == replaced


# --- the local runtime ---------------------------------------------------------------------------


def workspace_with(tmp_path: Path, requirements: str) -> Path:
    (tmp_path / "backend").mkdir()
    (tmp_path / "backend" / "requirements.txt").write_text(requirements)
    return tmp_path


def test_the_local_runtime_needs_a_database_url(tmp_path):
    root = workspace_with(tmp_path, "psycopg[binary]==3.3.9\n")
    with pytest.raises(StepForgeError) as unset:
        postgres.local_url(root, None)
    assert "DATABASE_URL=postgresql://" in unset.value.message
    assert "--database sqlite" in unset.value.message
    with pytest.raises(StepForgeError) as wrong:
        postgres.local_url(root, "mysql://me:topsecret@db/shop")
    assert "not a Postgres URL" in wrong.value.message and "topsecret" not in wrong.value.message


def test_a_database_url_that_does_not_answer_is_said_without_its_password(tmp_path):
    root = workspace_with(tmp_path, "psycopg[binary]==3.3.9\n")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(StepForgeError) as silent:
        postgres.local_url(root, f"postgresql://me:topsecret@127.0.0.1:{port}/shop")
    message = silent.value.message
    assert f"postgresql+psycopg://me:***@127.0.0.1:{port}/shop" in message
    assert "does not answer" in message and "topsecret" not in message


def test_a_database_url_that_answers_is_the_backends(tmp_path):
    root = workspace_with(tmp_path, "psycopg[binary]==3.3.9\n")
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        url = postgres.local_url(root, f"postgres://me:pw@127.0.0.1:{port}/shop")
    assert url == f"postgresql+psycopg://me:pw@127.0.0.1:{port}/shop"


def test_a_backend_without_the_driver_is_refused_before_it_starts(tmp_path):
    root = workspace_with(tmp_path, "fastapi==0.165.0\n")
    with pytest.raises(StepForgeError) as lacking:
        postgres.local_url(root, "postgresql://me:pw@127.0.0.1:1/shop")
    assert "psycopg" in lacking.value.message


# --- status and logs -----------------------------------------------------------------------------


def test_status_says_where_the_postgres_data_is(tmp_path):
    docker_data = describe(tmp_path, "docker", "postgres")
    assert docker_data.database == "postgres" and docker_data.volume == postgres.data_volume(
        tmp_path
    )
    assert docker_data.database_url.startswith("postgresql+psycopg://app:***@")
    local = describe(tmp_path, "local", "postgres", "postgresql://me:pw@db/shop")
    assert local.database_url == "postgresql+psycopg://me:***@db/shop" and local.volume is None
    assert describe(tmp_path, "docker").database == "sqlite"


def test_log_lines_of_three_containers_share_the_count():
    tail = (
        [("frontend", f"f{i}") for i in range(10)]
        + [("backend", f"b{i}") for i in range(10)]
        + [("database", f"d{i}") for i in range(10)]
    )
    shown = last_lines(tail, 8)
    assert [line for _, line in shown] == ["f7", "f8", "f9", "b7", "b8", "b9", "d8", "d9"]
    assert len(last_lines(tail, 200)) == 30
    only_database = [("database", "d0"), ("database", "d1")]
    assert last_lines(only_database, 1) == [("database", "d1")]


def test_the_postgres_volumes_are_data_that_no_clean_up_removes(tmp_path):
    from server.preview.database import is_data_volume

    for purpose in ("data", "data-backup"):
        labels = postgres.volume_labels(tmp_path, purpose)
        assert is_data_volume(labels) and labels["stepforge.database"] == "postgres"
        assert labels["stepforge.role"] == "data"  # never a server's: stale-volume sweeps skip it
