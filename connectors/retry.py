"""Bounded retries shared by every CRM connector: how long to wait before trying again.

Which failures a connector may retry at all depends on the request (a create that may have run
is never sent again blindly); this policy only says how often and how long.
"""

from __future__ import annotations

from dataclasses import dataclass

from connectors.errors import ConnectorError, RateLimitedError


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounded retries of transient failures: at most `attempts` tries and `max_seconds`.

    A 429 waits as long as the CRM says; other transient failures back off from `first_wait`,
    doubling up to `max_wait` (tests set it to zero). `connect_retries` is the HTTP library's
    own budget for connections that never reached the CRM (safe for any method: nothing was
    sent); the HubSpot client's urllib3 uses it, requests-based clients need none.
    """

    attempts: int = 4
    max_seconds: float = 60.0
    first_wait: float = 0.5
    max_wait: float = 10.0
    connect_retries: int = 2

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.max_seconds <= 0 or self.connect_retries < 0:
            raise ValueError(f"retry policy needs attempts >= 1 and a positive time: {self}")

    def wait_before_retry(
        self, attempt: int, error: ConnectorError, elapsed: float
    ) -> float | None:
        """Seconds to wait before trying again after `attempt` tries; None: give up."""
        if not error.retryable or attempt >= self.attempts:
            return None
        if isinstance(error, RateLimitedError):
            wait = error.wait_seconds
        else:
            wait = min(self.max_wait, self.first_wait * 2.0 ** (attempt - 1))
        return None if elapsed + wait > self.max_seconds else wait
