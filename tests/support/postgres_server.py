"""A private PostgreSQL server on a free port, started from the installed binaries.

Ledger tests run on SQLite and on PostgreSQL. The server is the machine's own `initdb` and
`pg_ctl` in a temporary directory (as the `postgres` user when the tests run as root, since
PostgreSQL refuses to run as root); each test then gets a throwaway database on it. Where the
binaries are missing, `TERRITORY_TEST_POSTGRES_URL` (or a server on 127.0.0.1:5432) is used
with a throwaway database instead. With neither, the test is skipped with the reason, and
fails instead when `CI` is set: CI must run both databases.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.support.redis_server import free_port

SHARED_URL = os.environ.get(
    "TERRITORY_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def unavailable(reason: str) -> None:
    """Skip, or fail under CI, when PostgreSQL cannot be had."""
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL is required in CI: {reason}")
    pytest.skip(f"PostgreSQL not available: {reason}")


def _binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)
    return str(candidates[0]) if candidates else None


@contextmanager
def postgres_server() -> Iterator[str]:
    """Start a private server; yield an admin URL (database `postgres`); stop it."""
    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    if initdb is None or pg_ctl is None:
        yield _shared_server()
        return
    run_as: list[str] = []
    user = "postgres"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            unavailable("running as root and there is no postgres user to run the server as")
        run_as = ["runuser", "-u", "postgres", "--"]
    else:
        user = pwd.getpwuid(os.geteuid()).pw_name
    workdir = Path(tempfile.mkdtemp(prefix="territory-pg-"))
    data = workdir / "data"
    if run_as:
        shutil.chown(workdir, user="postgres")
    port = free_port()
    options = f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1 -c fsync=off"
    options += " -c synchronous_commit=off -c full_page_writes=off -c max_connections=60"
    commands = (
        [*run_as, initdb, "-D", str(data), "-U", user, "--auth=trust", "-E", "UTF8", "--no-sync"],
        [
            *run_as,
            pg_ctl,
            "-D",
            str(data),
            "-o",
            options,
            "-l",
            str(workdir / "log"),
            "-w",
            "start",
        ],
    )
    problem = ""
    for _ in range(3):  # a loaded machine occasionally fails initdb's bootstrap; try again
        shutil.rmtree(data, ignore_errors=True)
        try:
            for command in commands:
                subprocess.run(command, check=True, capture_output=True, cwd=workdir)
            break
        except subprocess.CalledProcessError as exc:
            problem = (exc.stderr or b"").decode(errors="replace")[-300:]
    else:
        shutil.rmtree(workdir, ignore_errors=True)
        unavailable(f"could not start a private server: {problem}")
    try:
        yield f"postgresql://{user}@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*run_as, pg_ctl, "-D", str(data), "-m", "immediate", "stop"],
            check=False,
            capture_output=True,
        )
        shutil.rmtree(workdir, ignore_errors=True)


def _shared_server() -> str:
    engine = sa.create_engine(_psycopg(SHARED_URL))
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
    except sa.exc.OperationalError as exc:
        unavailable(f"no private server binaries and nothing answers at {engine.url!r}: {exc.orig}")
    finally:
        engine.dispose()
    return SHARED_URL


def _psycopg(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


@contextmanager
def throwaway_database(admin_url: str, template: str | None = None) -> Iterator[str]:
    """Create a database for one test on the server at `admin_url` (a copy of `template`
    when given); yield its URL; drop it."""
    name = f"territory_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(_psycopg(admin_url), isolation_level="AUTOCOMMIT")
    copy = f' TEMPLATE "{template}"' if template else ""
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"{copy}')
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        deadline = time.monotonic() + 10
        while True:
            try:
                with admin.connect() as connection:
                    connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                break
            except sa.exc.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        with suppress(Exception):
            admin.dispose()
