"""Typed connector errors, split by what the caller should do, and the one HTTP status table.

Every connector maps its transport's failures through `error_for_status`, so a 429 from HubSpot
and a 429 from Salesforce mean the same thing to the worker:

- `RateLimitedError` (429): wait `wait_seconds`, then try again.
- `TransientError` (408, 425, 500, 502, 503, 504, dropped connections): retry with backoff,
  within bounds.
- `ConflictError` (409, 412): re-read and compare; never overwrite blindly.
- `TerminalError` (everything else: 400, 401, 403, 404, …): stop this run and tell a person.

Messages never carry tokens or session ids: connectors build them from statuses, error codes and
record ids only.
"""

from __future__ import annotations

from typing import Final


class ConnectorError(Exception):
    """A CRM call failed. `status` is the HTTP status when there was one."""

    retryable: bool = False

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code

    def __str__(self) -> str:
        parts = [self.message]
        if self.code:
            parts.append(f"[{self.code}]")
        if self.status is not None:
            parts.append(f"(HTTP {self.status})")
        return " ".join(parts)


class TransientError(ConnectorError):
    """Worth retrying after a backoff: a timeout, a dropped connection, a 5xx."""

    retryable = True


class RateLimitedError(TransientError):
    """The CRM (or our own budget) refused for now; retry after `wait_seconds`."""

    def __init__(
        self,
        message: str,
        *,
        wait_seconds: float,
        status: int | None = 429,
        code: str | None = None,
        policy: str | None = None,
    ) -> None:
        super().__init__(message, status=status, code=code)
        self.wait_seconds = max(0.0, wait_seconds)
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

# Statuses the HTTP layer may retry by itself (urllib3 Retry / requests adapters).
RETRYABLE_STATUSES: Final = frozenset(s for s, kind in _BY_STATUS.items() if kind.retryable)

DEFAULT_RATE_LIMIT_WAIT: Final = 1.0


def error_for_status(
    status: int,
    message: str,
    *,
    code: str | None = None,
    wait_seconds: float | None = None,
    policy: str | None = None,
) -> ConnectorError:
    """Return the typed error for an HTTP `status` (see the table in this module's docstring)."""
    kind = _BY_STATUS.get(status, TerminalError)
    if kind is RateLimitedError:
        wait = DEFAULT_RATE_LIMIT_WAIT if wait_seconds is None else wait_seconds
        return RateLimitedError(message, wait_seconds=wait, status=status, code=code, policy=policy)
    return kind(message, status=status, code=code)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a `Retry-After` header given in seconds; None when absent or a date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
