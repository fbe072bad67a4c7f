"""A ledger the commands cannot use is one line and exit 4, never an internal error: a file
that is not an SQLite database, a ledger a newer version migrated (`db upgrade` and
TERRITORY_AUTO_MIGRATE said "Can't locate revision"), and a Redis that does not answer for the
shared rate budget (its ConnectionError was exit 1)."""

from __future__ import annotations

import sqlite3

import pytest

from tests.worker.cli_ledger import Territory, error_line
from worker.console import ExitCode


@pytest.mark.parametrize("command", [("runs",), ("db", "upgrade")], ids=" ".join)
def test_a_file_that_is_not_a_database_is_refused_in_one_line(
    territory: Territory, command: tuple[str, ...]
) -> None:
    territory.ledger_path.write_bytes(b"not a database, but a file someone pointed us at" * 50)

    result = territory(*command)

    assert result.exit_code == ExitCode.REFUSED, result.output
    assert "cannot be read (file is not a database)" in error_line(result)


@pytest.mark.parametrize(
    ("command", "env"),
    [
        (("db", "upgrade"), {}),
        (("runs",), {"TERRITORY_AUTO_MIGRATE": "true"}),
    ],
    ids=["db upgrade", "auto-migrate"],
)
def test_a_ledger_from_a_newer_version_is_refused_not_migrated(
    territory: Territory, command: tuple[str, ...], env: dict[str, str]
) -> None:
    assert territory("db", "upgrade").exit_code == 0
    with sqlite3.connect(territory.ledger_path) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999_future'")

    result = territory(*command, env=env)

    assert result.exit_code == ExitCode.REFUSED, result.output
    assert "newer than this version knows" in error_line(result)


def test_a_redis_that_does_not_answer_is_refused_in_one_line_without_its_password(
    territory: Territory,
) -> None:
    env = {
        "TERRITORY_REDIS_URL": "redis://:s3cretPW@127.0.0.1:1/0",
        "TERRITORY_HUBSPOT_TOKEN": "pat-s3cret",
        "TERRITORY_HUBSPOT_BASE_URL": "http://127.0.0.1:1",
    }

    result = territory("sync", "--source", "hubspot", env=env)

    assert result.exit_code == ExitCode.REFUSED, result.output
    assert error_line(result).startswith("error: Redis does not answer")
    assert "s3cret" not in result.output
