"""The one HTTP status table, errors stored as JSON, and settings read from TERRITORY_* (secrets
never shown)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from connectors.errors import (
    BudgetExhaustedError,
    ConflictError,
    ConnectorError,
    RateLimitedError,
    TerminalError,
    TransientError,
    error_for_status,
    error_from_json,
    parse_retry_after,
)
from worker.settings import SettingsError, load_settings


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (429, RateLimitedError),
        (500, TransientError),
        (502, TransientError),
        (503, TransientError),
        (504, TransientError),
        (409, ConflictError),
        (412, ConflictError),
        (400, TerminalError),
        (401, TerminalError),
        (403, TerminalError),
        (404, TerminalError),
    ],
)
def test_status_table(status: int, kind: type[Exception]) -> None:
    error = error_for_status(status, "boom", code="X")
    assert type(error) is kind
    assert f"(HTTP {status})" in str(error)


def test_rate_limited_carries_its_wait() -> None:
    error = error_for_status(429, "slow down", wait_seconds=2.5, policy="TEN_SECONDLY_ROLLING")
    assert isinstance(error, RateLimitedError)
    assert error.wait_seconds == 2.5
    assert error.policy == "TEN_SECONDLY_ROLLING"
    assert error.retryable


def test_a_retry_after_on_a_server_error_is_kept_as_its_wait() -> None:
    error = error_for_status(503, "busy", wait_seconds=3.0)
    assert type(error) is TransientError
    assert error.wait_seconds == 3.0
    assert error_for_status(502, "bad gateway").wait_seconds is None


@pytest.mark.parametrize(
    "error",
    [
        ConnectorError("failed", status=418),
        TransientError("HubSpot companies.list: internal error", status=500, code="INTERNAL_ERROR"),
        TransientError("busy", status=503, wait_seconds=4.5),
        TransientError("Salesforce request failed: ConnectionError", code="CONNECTION"),
        RateLimitedError("slow down", wait_seconds=10.0, code="TEN_SECONDLY_ROLLING"),
        TerminalError("bad token", status=401, code="INVALID_AUTHENTICATION"),
        ConflictError("the owner changed", status=412),
        BudgetExhaustedError("allowance spent", status=403, code="REQUEST_LIMIT_EXCEEDED"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_every_error_class_is_stored_as_json_and_read_back_the_same(error: ConnectorError) -> None:
    stored = orjson.loads(orjson.dumps(error.to_json()))
    assert set(stored) == {"class", "status", "code", "message", "retryable", "wait"}
    assert stored["class"] == type(error).__name__
    assert stored["retryable"] is error.retryable
    again = error_from_json(stored)
    assert type(again) is type(error)
    assert again.to_json() == error.to_json()
    assert str(again) == str(error)


def test_an_error_of_a_class_no_longer_known_reads_back_as_terminal() -> None:
    again = error_from_json({"class": "QuotaError", "message": "over quota", "status": 402})
    assert type(again) is TerminalError
    assert (again.message, again.status, again.code, again.wait_seconds) == (
        "over quota",
        402,
        None,
        None,
    )


def test_retry_after_in_seconds_only() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") is None
    assert parse_retry_after(None) is None


def test_secret_files_win_over_plain_variables(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secret = tmp_path / "token"
    secret.write_text("from-file\n")
    monkeypatch.setenv("TERRITORY_HUBSPOT_TOKEN", "plain")
    monkeypatch.setenv("TERRITORY_HUBSPOT_TOKEN_FILE", str(secret))
    monkeypatch.setenv("TERRITORY_HUBSPOT_BASE_URL", "http://127.0.0.1:9999/")
    settings = load_settings()
    assert settings.hubspot_token is not None
    assert settings.hubspot_token.get_secret_value() == "from-file"
    assert settings.hubspot_host == "http://127.0.0.1:9999"
    assert "from-file" not in repr(settings)


def test_bad_settings_name_the_variable_not_the_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERRITORY_MAX_DAILY_API_SHARE", "3")
    monkeypatch.setenv("TERRITORY_SALESFORCE_SESSION_ID", "00Dsecret")
    with pytest.raises(SettingsError, match="TERRITORY_MAX_DAILY_API_SHARE") as caught:
        load_settings()
    assert "00Dsecret" not in str(caught.value)


def test_unreadable_secret_file_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TERRITORY_SALESFORCE_PASSWORD_FILE", str(tmp_path / "missing"))
    with pytest.raises(SettingsError, match="TERRITORY_SALESFORCE_PASSWORD_FILE: cannot read"):
        load_settings()
