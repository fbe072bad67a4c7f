"""Typed connector errors, split by what the caller should do, and the one HTTP status table.

Every connector maps its transport's failures through `error_for_status`, so a 429 from HubSpot
and a 429 from Salesforce mean the same thing to the worker:

- `RateLimitedError` (429): wait `wait_seconds`, then try again.
- `TransientError` (408, 425, 500, 502, 503, 504, dropped connections): retry with backoff,
  within bounds (after `wait_seconds` when the CRM sent a `Retry-After`).
- `ConflictError` (409, 412): re-read and compare; never overwrite blindly.
- `TerminalError` (everything else: 400, 401, 403, 404, …): stop this run and tell a person.

An error is stored, not pickled: `to_json` gives its class and fields, `error_from_json` builds
it again (the ledger keeps a write's last error this way). Messages never carry tokens or
session ids: connectors build them from statuses, error codes and record ids only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar, Final

if TYPE_CHECKING:
    from connectors.base import WriteResult


class ConnectorError(Exception):
    """A CRM call failed. `status` is the HTTP status when there was one.

    `wait_seconds` is how long the CRM asked us to wait (a 429's window, a `Retry-After`), if it
    said. The retry loop (`connectors.retry`) sets `attempts` (requests sent for the call; 0:
    refused before sending) and `may_have_run` (one of them may have been carried out: a
    dropped connection or a server error). A write that stops the run raises its error with
    `results`: one `WriteResult` per input, in input order.
    """

    retryable: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        wait_seconds: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.wait_seconds = None if wait_seconds is None else max(0.0, wait_seconds)
        self.attempts = 1
        # A retryable failure other than a refusal (429) may have been carried out first.
        self.may_have_run = self.retryable and not isinstance(self, RateLimitedError)
        self.results: tuple[WriteResult, ...] = ()

    def __str__(self) -> str:
        parts = [self.message]
        if self.code:
            parts.append(f"[{self.code}]")
        if self.status is not None:
            parts.append(f"(HTTP {self.status})")
        return " ".join(parts)

    def to_json(self) -> dict[str, object]:
        """The error as JSON-ready values: `class`, `status`, `code`, `message`, `retryable`,
        `wait` (seconds, or None)."""
        return {
            "class": type(self).__name__,
            "status": self.status,
            "code": self.code,
            "message": self.message,
            "retryable": self.retryable,
            "wait": self.wait_seconds,
        }


class TransientError(ConnectorError):
    """Worth retrying after a backoff: a timeout, a dropped connection, a 5xx."""

    retryable = True


class RateLimitedError(TransientError):
    """The CRM (or our own budget) refused for now; retry after `wait_seconds`."""

    wait_seconds: float

    def __init__(
        self,
        message: str,
        *,
        wait_seconds: float,
        status: int | None = 429,
        code: str | None = None,
        policy: str | None = None,
    ) -> None:
        super().__init__(message, status=status, code=code, wait_seconds=wait_seconds)
        self.policy = policy


class TerminalError(ConnectorError):
    """Retrying cannot help: bad credentials, a missing scope or field, an exhausted allowance."""


class ConflictError(ConnectorError):
    """The record is not in the state the write assumed; re-read before deciding."""


class BudgetExhaustedError(TerminalError):
    """The run has used the share of the CRM's allowance it may use; stop cleanly."""


# The one table. Anything not listed is terminal.
_BY_STATUS: Final[dict[int, type[ConnectorError]]] = {
    408: TransientError,
    409: ConflictError,
    412: ConflictError,
    425: TransientError,
    429: RateLimitedError,
    500: TransientError,
    502: TransientError,
    503: TransientError,
    504: TransientError,
}

DEFAULT_RATE_LIMIT_WAIT: Final = 1.0

# Every class an error read back from JSON may be; any other name reads as terminal.
_BY_NAME: Final[dict[str, type[ConnectorError]]] = {
    kind.__name__: kind
    for kind in (
        ConnectorError,
        TransientError,
        RateLimitedError,
        TerminalError,
        ConflictError,
        BudgetExhaustedError,
    )
}


def error_for_status(
    status: int,
    message: str,
    *,
    code: str | None = None,
    wait_seconds: float | None = None,
    policy: str | None = None,
) -> ConnectorError:
    """Return the typed error for an HTTP `status` (see the table in this module's docstring).

    `wait_seconds` is what the CRM asked for (a 429's window, a `Retry-After` on any status).
    """
    kind = _BY_STATUS.get(status, TerminalError)
    if kind is RateLimitedError:
        wait = DEFAULT_RATE_LIMIT_WAIT if wait_seconds is None else wait_seconds
        return RateLimitedError(message, wait_seconds=wait, status=status, code=code, policy=policy)
    return kind(message, status=status, code=code, wait_seconds=wait_seconds)


def error_from_json(data: Mapping[str, object]) -> ConnectorError:
    """The error `ConnectorError.to_json` stored: same class (TerminalError for an unknown
    one), status, code, message and wait."""
    kind = _BY_NAME.get(str(data.get("class")), TerminalError)
    message = str(data.get("message") or "")
    status = data.get("status")
    code = data.get("code")
    wait = data.get("wait")
    status_value = status if isinstance(status, int) and not isinstance(status, bool) else None
    code_value = str(code) if code is not None else None
    wait_value = (
        float(wait) if isinstance(wait, int | float) and not isinstance(wait, bool) else None
    )
    if kind is RateLimitedError:
        return RateLimitedError(
            message,
            wait_seconds=DEFAULT_RATE_LIMIT_WAIT if wait_value is None else wait_value,
            status=status_value,
            code=code_value,
        )
    return kind(message, status=status_value, code=code_value, wait_seconds=wait_value)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a `Retry-After` header given in seconds; None when absent or a date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
