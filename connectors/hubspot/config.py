"""Typed settings of the HubSpot connector; `worker.settings` builds them from the environment."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Final

from pydantic import SecretStr

from connectors.retry import RetryPolicy

HUBSPOT_API_URL: Final = "https://api.hubapi.com"
BATCH_LIMIT: Final = 100  # inputs HubSpot takes per batch read/update/create call


@dataclass(frozen=True, slots=True)
class HubSpotConfig:
    """Where HubSpot is and how the connector behaves there.

    `token` is a private app token (a SecretStr: never printed, never in an error). `base_url`
    points the official client elsewhere (the sandbox's `hubspot_url`). `look_back` widens each
    incremental sync's window backwards, because HubSpot's search shows fresh edits late.
    `write_batch_size` is how many owner writes or notes go in one call (HubSpot takes 100).
    """

    token: SecretStr
    base_url: str = HUBSPOT_API_URL
    look_back: timedelta = timedelta(minutes=10)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    pool_size: int = 8  # connections kept per API group; concurrent callers beyond it reconnect
    property_group: str = "territory_sync"
    write_batch_size: int = BATCH_LIMIT

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("https://", "http://")):
            raise ValueError(f"base_url must be an http(s) URL, got {self.base_url!r}")
        if self.look_back < timedelta(0):
            raise ValueError(f"look_back must not be negative, got {self.look_back}")
        if not 1 <= self.write_batch_size <= BATCH_LIMIT:
            raise ValueError(
                f"write_batch_size must be 1 to {BATCH_LIMIT}, got {self.write_batch_size}"
            )

    @property
    def host(self) -> str:
        """The base URL as the client's `host` setting wants it (no trailing slash)."""
        return self.base_url.rstrip("/")
