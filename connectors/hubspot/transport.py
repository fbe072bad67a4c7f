"""Every HubSpot call goes through here: budget first, then the official client, then one
bounded retry loop, with every failure mapped to a `connectors.errors` type.

The client is `hubspot-api-client` built with `HubSpot(access_token=…, retry=…, host=…)`. Its
urllib3 `Retry` is configured on purpose to retry only connections that never reached HubSpot
(nothing was sent, so that is safe even for a create). Everything else is decided here, where
the rate budget and the kind of request are known:

- a 429 makes every worker sharing the budget hold off for the window HubSpot names, then the
  call is sent again (HubSpot refused it before running it, so even a create may be resent);
- a 5xx is retried with exponential backoff for reads and idempotent updates, never for a
  create (it may have run);
- a connection dropped after the request went out is retried for reads only: an update may
  have been applied (the caller re-reads and compares) and a create may exist (the caller looks
  for its marker before posting again).

Retries stop at `RetryPolicy.attempts` or `RetryPolicy.max_seconds`, whichever comes first.
Responses are read raw (`_preload_content=False`) and parsed as JSON: the client's generated
models add nothing a connector needs, and the raw bodies are what HubSpot documents.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, Final

import urllib3
from hubspot import HubSpot  # type: ignore[import-untyped]  # the client ships no type hints
from urllib3.util.retry import Retry

from connectors.budget import ALL_CALLS, RateBudget
from connectors.errors import (
    ConnectorError,
    RateLimitedError,
    TransientError,
    parse_retry_after,
)
from connectors.hubspot.config import HubSpotConfig
from connectors.hubspot.errors import Json, call_error, json_object
from connectors.retry import RetryPolicy

ACTIVITY_OBJECTS: Final = ("calls", "emails", "meetings", "tasks")
SEARCH: Final = "search"
DAILY: Final = "DAILY"  # the 429 policy of a spent daily allowance


class Replay(Enum):
    """What may be sent again after a failure, by what the request does."""

    READ = (True, True)  # server errors and dropped connections
    UPDATE = (True, False)  # server errors only: a dropped update may have been applied
    CREATE = (False, False)  # neither: a create that may have run is never sent blindly again

    def __init__(self, server_errors: bool, dropped: bool) -> None:
        self.server_errors = server_errors
        self.dropped = dropped


@dataclass(frozen=True, slots=True)
class Reply:
    """A successful answer: its status (200, 201, 207) and JSON body."""

    status: int
    body: Json


@dataclass(frozen=True, slots=True)
class _Failure:
    error: ConnectorError
    server_wait: float | None = None  # a Retry-After HubSpot sent with a 5xx


def connection_retry(policy: RetryPolicy) -> Retry:
    """urllib3's part: reconnect when nothing reached HubSpot, and nothing else.

    `read=False` makes a connection that drops after the request went out raise at once (the
    original error, not a resend); statuses are never retried here. Both are left to
    `HubSpotTransport`, which knows the budget and whether the request may run twice.
    """
    return Retry(
        total=policy.connect_retries,
        connect=policy.connect_retries,
        read=False,
        status=0,
        other=0,
        redirect=0,
        status_forcelist=(),
        backoff_factor=0.1,
        raise_on_status=False,
        respect_retry_after_header=False,
    )


@dataclass(frozen=True, slots=True)
class HubSpotApis:
    """The API objects the connector uses, built once (each owns a connection pool)."""

    companies: Any
    companies_batch: Any
    companies_search: Any
    owners: Any
    notes_batch: Any
    associations: Any
    properties: Any
    property_groups: Any
    activities: Mapping[str, Any]  # object type -> basic API (list)
    activities_batch: Mapping[str, Any]  # object type -> batch API (read)
    failures: tuple[type[Exception], ...]  # the ApiException classes these APIs raise

    @classmethod
    def connect(cls, config: HubSpotConfig) -> HubSpotApis:
        client = HubSpot(
            access_token=config.token.get_secret_value(),
            retry=connection_retry(config.retry),
            host=config.host,
            connection_pool_maxsize=config.pool_size,
        )
        crm = client.crm
        objects = {name: getattr(crm.objects, name) for name in ACTIVITY_OBJECTS}
        apis: dict[str, Any] = {
            "companies": crm.companies.basic_api,
            "companies_batch": crm.companies.batch_api,
            "companies_search": crm.companies.search_api,
            "owners": crm.owners.owners_api,
            "notes_batch": crm.objects.notes.batch_api,
            "associations": crm.associations.v4.batch_api,
            "properties": crm.properties.core_api,
            "property_groups": crm.properties.groups_api,
            "activities": {name: api.basic_api for name, api in objects.items()},
            "activities_batch": {name: api.batch_api for name, api in objects.items()},
        }
        flat = [
            a for api in apis.values() for a in (api.values() if isinstance(api, dict) else [api])
        ]
        return cls(**apis, failures=api_exceptions(flat))


def api_exceptions(apis: Iterable[Any]) -> tuple[type[Exception], ...]:
    """The `ApiException` of each generated package behind `apis`.

    Every package of the client (companies, owners, associations.v4, …) defines its own
    ApiException, with no common base but Exception, so the transport catches all of them.
    """
    packages = sorted({type(api).__module__.split(".api.")[0] for api in apis})
    return tuple(importlib.import_module(f"{p}.exceptions").ApiException for p in packages)


class HubSpotTransport:
    """Budgeted, bounded, typed calls to HubSpot (thread-safe: workers may share one)."""

    def __init__(
        self,
        config: HubSpotConfig,
        budget: RateBudget,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.apis = HubSpotApis.connect(config)
        self.budget = budget
        self.policy = config.retry
        self._timeout = (config.connect_timeout, config.read_timeout)
        self._sleep = sleep
        self._clock = clock

    def call(
        self,
        operation: str,
        method: Callable[..., Any],
        /,
        *args: Any,
        replay: Replay = Replay.READ,
        search: bool = False,
        **kwargs: Any,
    ) -> Reply:
        """Send `method(*args, **kwargs)` within the budget; retry what `replay` allows.

        Raise the `connectors.errors` type of the last failure when retrying is not allowed,
        attempts or total time are used up, or the budget is exhausted.
        """
        started = self._clock()
        attempt = 0
        while True:
            attempt += 1
            self.budget.acquire(SEARCH if search else ALL_CALLS)
            outcome = self._send(operation, method, args, kwargs)
            if isinstance(outcome, Reply):
                return outcome
            wait = self._retry_wait(outcome, attempt, replay, self._clock() - started)
            if wait is None:
                raise outcome.error
            if wait > 0:
                self._sleep(wait)

    def _send(
        self,
        operation: str,
        method: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> Reply | _Failure:
        try:
            response = method(
                *args, _preload_content=False, _request_timeout=self._timeout, **kwargs
            )
            raw = response.data  # reading the body can fail too: the connection may drop mid-way
        except self.apis.failures as exc:
            refused: Any = exc  # an ApiException: status, body (text) and headers
            headers: Mapping[str, str] = refused.headers or {}
            self._observe(headers)
            error = call_error(operation, refused.status, json_object(refused.body), headers)
            if isinstance(error, RateLimitedError) and error.policy != DAILY:
                # Every worker sharing the budget holds off for the window. A spent daily
                # allowance is not waited out here: the call fails and the run stops.
                self.budget.pause(error.wait_seconds)
            return _Failure(error, parse_retry_after(headers.get("Retry-After")))
        except urllib3.exceptions.HTTPError as exc:
            message = (
                f"HubSpot {operation}: the connection failed ({type(exc).__name__}); the request "
                "may or may not have reached HubSpot"
            )
            return _Failure(TransientError(message, code="CONNECTION"))
        self._observe(response.headers)
        return Reply(response.status, json_object(raw))

    def _retry_wait(
        self, failure: _Failure, attempt: int, replay: Replay, elapsed: float
    ) -> float | None:
        """Seconds to wait before sending again, or None when the failure is final."""
        error = failure.error
        if isinstance(error, RateLimitedError):
            if error.policy == DAILY:
                return None
        elif not (replay.dropped if error.status is None else replay.server_errors):
            return None
        wait = self.policy.wait_before_retry(attempt, error, elapsed)
        if wait is None:
            return None
        if isinstance(error, RateLimitedError):
            return 0.0  # the budget is paused for the window: acquire() does the waiting
        wait = max(wait, failure.server_wait or 0.0)
        return wait if elapsed + wait <= self.policy.max_seconds else None

    def _observe(self, headers: Mapping[str, str]) -> None:
        """Feed HubSpot's X-HubSpot-RateLimit-* figures to the budget (it may stop the run)."""
        remaining = _int_header(headers, "X-HubSpot-RateLimit-Remaining")
        limit = _int_header(headers, "X-HubSpot-RateLimit-Max")
        daily = _int_header(headers, "X-HubSpot-RateLimit-Daily")
        daily_left = _int_header(headers, "X-HubSpot-RateLimit-Daily-Remaining")
        if remaining is None and daily is None:
            return  # search answers carry no limit headers
        used = daily - daily_left if daily is not None and daily_left is not None else None
        self.budget.observe(remaining=remaining, limit=limit, daily_used=used, daily_limit=daily)


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    return int(value) if value is not None and value.strip().isdigit() else None
