"""TERRITORY_DATABASE_URL and TERRITORY_REDIS_URL are checked when settings are read: a URL
that does not parse, names another database or keeps the ledger in memory is a bad setting
(exit 2) named without its value. Before, a password holding '/' was read as a port and quoted
by the internal error that followed (exit 1), `sqlite://` gave every command a ledger in memory
that it lost on exit, a Redis URL that did not parse printed the password in clear, and a
PostgreSQL host that accepted the connection and never answered hung every command."""

from __future__ import annotations

import pytest

from tests.worker.cli_ledger import Territory, error_line
from worker.console import ExitCode
from worker.settings import PG_CONNECT_TIMEOUT_SECONDS, Settings

BAD_LEDGER_URLS = {
    "not a URL": "s3cretPW",
    "port that is a password": "postgresql://u:s3cretPW@db:s3cretPW/ledger",
    "unclosed bracket": "postgresql://u:s3cretPW@[::1/ledger",
    "another database": "mysql://u:s3cretPW@db/ledger",
    "no database": "postgresql://u:s3cretPW@127.0.0.1",
    "sqlite in memory": "sqlite://",
    "sqlite without a path": "sqlite:///",
    "sqlite memory path": "sqlite:///:memory:",
}


@pytest.mark.parametrize("url", BAD_LEDGER_URLS.values(), ids=BAD_LEDGER_URLS.keys())
def test_a_ledger_url_that_cannot_hold_a_ledger_is_a_bad_setting_never_shown(
    territory: Territory, url: str
) -> None:
    result = territory("runs", env={"TERRITORY_DATABASE_URL": url})

    assert result.exit_code == ExitCode.INVALID, result.output
    assert error_line(result).startswith("error: TERRITORY_DATABASE_URL: ")
    assert "s3cret" not in result.output
    assert "Value error" not in result.output


BAD_REDIS_URLS = {
    "not a URL": "s3cretPW",
    "password with a slash": "redis://:s3cret/PW@127.0.0.1:6379/0",
    "port that is a password": "redis://:s3cretPW@127.0.0.1:s3cretPW/0",
    "another scheme": "http://s3cretPW@127.0.0.1/",
}


@pytest.mark.parametrize("url", BAD_REDIS_URLS.values(), ids=BAD_REDIS_URLS.keys())
def test_a_redis_url_that_does_not_parse_is_a_bad_setting_never_shown(
    territory: Territory, url: str
) -> None:
    result = territory("runs", env={"TERRITORY_REDIS_URL": url})

    assert result.exit_code == ExitCode.INVALID, result.output
    assert error_line(result).startswith("error: TERRITORY_REDIS_URL: expected redis://")
    assert "s3cret" not in result.output


def test_a_postgresql_ledger_waits_a_bounded_time_for_its_server_unless_told_otherwise() -> None:
    default = Settings(database_url="postgresql://u:pw@db/ledger")  # type: ignore[arg-type]
    own = Settings(database_url="postgresql://u:pw@db/ledger?connect_timeout=3")  # type: ignore[arg-type]
    file = Settings(database_url="sqlite:///ledger.sqlite3")  # type: ignore[arg-type]

    assert default.database_url is not None
    assert own.database_url is not None
    assert default.database_url.get_secret_value().endswith(
        f"?connect_timeout={PG_CONNECT_TIMEOUT_SECONDS}"
    )
    assert own.database_url.get_secret_value().endswith("?connect_timeout=3")
    assert file.database_url is not None
    assert file.database_url.get_secret_value() == "sqlite:///ledger.sqlite3"


OUT_OF_RANGE = {
    "a lease of 3e12 years": ("TERRITORY_LEASE_SECONDS", "99999999999999999999"),
    "sync every inf minutes": ("TERRITORY_SYNC_EVERY_MINUTES", "inf"),
    "sync every 1e300 minutes": ("TERRITORY_SYNC_EVERY_MINUTES", "1e300"),
    "relay every nan seconds": ("TERRITORY_RELAY_EVERY_SECONDS", "nan"),
    "attempts past a thousand": ("TERRITORY_MAX_ATTEMPTS", "10000000000000000000000"),
    "a base URL with a query": ("TERRITORY_HUBSPOT_BASE_URL", "http://127.0.0.1:9/api?x=1"),
    "a base URL with a fragment": ("TERRITORY_SALESFORCE_INSTANCE_URL", "https://acme.example#x"),
}


@pytest.mark.parametrize(("name", "value"), OUT_OF_RANGE.values(), ids=OUT_OF_RANGE.keys())
def test_a_setting_past_what_the_calendar_or_a_url_can_hold_is_a_bad_setting(
    territory: Territory, name: str, value: str
) -> None:
    """Before, each was accepted and crashed later: apply and beat with an OverflowError (exit
    1), a sync with an HTTP 404 (exit 5) from a path that had a query in its middle."""
    result = territory("runs", env={name: value})

    assert result.exit_code == ExitCode.INVALID, result.output
    assert error_line(result).startswith(f"error: {name}: ")
