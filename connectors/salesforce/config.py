"""Typed settings for the Salesforce connector; secrets stay `SecretStr` until the wire.

A connector runs on a session (instance URL + session id, e.g. from an OAuth flow or the
sandbox) or on login settings, or both: with login settings, an expired session is replaced by
logging in again; with a bare session id, expiry is a TerminalError that says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Final

from pydantic import SecretStr

API_VERSION: Final = "59.0"  # Winter '24: every resource the connector uses exists there
COLLECTION_LIMIT: Final = 200  # records sObject Collections take per call
QUERY_PAGE: Final = 2000  # records one query answers at most (without a query locator)


@dataclass(frozen=True, slots=True)
class SalesforceLoginSettings:
    """What simple_salesforce needs to log in: SOAP username + password + security token, or
    a connected app (`consumer_key` + `consumer_secret`, with or without a user)."""

    username: str | None = None
    password: SecretStr | None = None
    security_token: SecretStr | None = None
    domain: str = "login"  # "test" for sandboxes, or a My Domain prefix
    consumer_key: str | None = None
    consumer_secret: SecretStr | None = None

    def login_arguments(self) -> dict[str, Any]:
        """Arguments for `simple_salesforce.SalesforceLogin`: the one place secrets show."""
        arguments: dict[str, Any] = {"domain": self.domain}
        plain = {"username": self.username, "consumer_key": self.consumer_key}
        secret = {
            "password": self.password,
            "security_token": self.security_token,
            "consumer_secret": self.consumer_secret,
        }
        arguments.update({k: v for k, v in plain.items() if v is not None})
        arguments.update({k: v.get_secret_value() for k, v in secret.items() if v is not None})
        return arguments


@dataclass(frozen=True, slots=True)
class SalesforceConfig:
    """Where the org is, how to authenticate, and how this connector paces itself.

    `write_batch_size` is how many owner writes or notes go in one sObject Collections call (at
    most 200); `page_size` is how many Accounts one page of a company read holds (at most
    2,000, what one query answers).
    """

    instance_url: str | None = None
    session_id: SecretStr | None = None
    login: SalesforceLoginSettings | None = None
    ca_bundle: Path | None = None  # verify the instance's TLS with this CA (the sandbox's)
    api_version: str = API_VERSION
    look_back: timedelta = timedelta(minutes=10)  # incremental reads re-read this far back
    max_daily_share: float = 0.5  # stop the run above this share of the org's daily allowance
    timeout_seconds: float = 60.0
    write_batch_size: int = COLLECTION_LIMIT
    page_size: int = QUERY_PAGE

    def __post_init__(self) -> None:
        has_session = self.instance_url is not None and self.session_id is not None
        if not has_session and self.login is None:
            raise ValueError(
                "Salesforce needs instance_url and session_id, or login settings (or both)"
            )
        if not 0 < self.max_daily_share <= 1:
            raise ValueError(f"max_daily_share must be in (0, 1], got {self.max_daily_share}")
        if not 1 <= self.page_size <= QUERY_PAGE:
            raise ValueError(f"page_size must be 1 to {QUERY_PAGE}, got {self.page_size}")
        if not 1 <= self.write_batch_size <= COLLECTION_LIMIT:
            raise ValueError(
                f"write_batch_size must be 1 to {COLLECTION_LIMIT}, got {self.write_batch_size}"
            )
