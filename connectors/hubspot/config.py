"""Typed settings of the HubSpot connector; `worker.settings` builds them from the environment."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Final

from pydantic import SecretStr

from connectors.errors import ConnectorError, RateLimitedError

HUBSPOT_API_URL: Final = "https://api.hubapi.com"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounded retries of transient failures: at most `attempts` tries and `max_seconds`.

    A 429 waits as long as HubSpot's window says; other transient failures back off from
    `first_wait`, doubling up to `max_wait` (tests set it to zero). `connect_retries` is
    urllib3's own budget for connections that never reached HubSpot (safe for any method:
    nothing was sent). Which failures may be retried at all depends on the request: see
    `transport.Replay`.
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


@dataclass(frozen=True, slots=True)
class HubSpotConfig:
    """Where HubSpot is and how the connector behaves there.

    `token` is a private app token (a SecretStr: never printed, never in an error). `base_url`
    points the official client elsewhere (the sandbox's `hubspot_url`). `look_back` widens each
    incremental sync's window backwards, because HubSpot's search shows fresh edits late.
    """

    token: SecretStr
    base_url: str = HUBSPOT_API_URL
    look_back: timedelta = timedelta(minutes=10)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    pool_size: int = 8  # connections kept per API group; concurrent callers beyond it reconnect
    property_group: str = "territory_sync"

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("https://", "http://")):
            raise ValueError(f"base_url must be an http(s) URL, got {self.base_url!r}")
        if self.look_back < timedelta(0):
            raise ValueError(f"look_back must not be negative, got {self.look_back}")

    @property
    def host(self) -> str:
        """The base URL as the client's `host` setting wants it (no trailing slash)."""
        return self.base_url.rstrip("/")
