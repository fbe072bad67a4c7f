"""Every HubSpot call goes through here: budget first, then the official client, within the
one retry loop of `connectors.retry`, with every failure mapped to a `connectors.errors` type.

The client is `hubspot-api-client` built with `HubSpot(access_token=…, retry=…, host=…)`. Its
urllib3 `Retry` is configured on purpose to retry only connections that never reached HubSpot
(nothing was sent, so that is safe even for a create). Everything else is decided by
`send_within_budget`, where the rate budget and the kind of request (`Replay`) are known:

- a 429 makes every worker sharing the budget hold off for the window HubSpot names, then the
  call is sent again (HubSpot refused it before running it, so even a create may be resent);
  a 429 with policy DAILY (the portal's allowance is spent) stops the run instead;
- a 5xx is retried with exponential backoff (or after its `Retry-After`, when longer) for
  reads and idempotent updates, never for a create (it may have run);
- a connection dropped after the request went out is retried for reads only: an update may
  have been applied (the caller re-reads and compares) and a create may exist (the caller looks
  for its marker before posting again).

Retries stop at `RetryPolicy.attempts`, or before a wait would pass `RetryPolicy.max_seconds`.
Responses are read raw (`_preload_content=False`) and parsed as JSON: the client's generated
models add nothing a connector needs, and the raw bodies are what HubSpot documents.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import urllib3
from hubspot import HubSpot  # type: ignore[import-untyped]  # the client ships no type hints
from urllib3.util.retry import Retry

from connectors.budget import ALL_CALLS, RateBudget
from connectors.errors import ConnectorError, TransientError
from connectors.hubspot.config import HubSpotConfig
from connectors.hubspot.errors import Json, call_error, json_object
from connectors.retry import Replay, RetryPolicy, send_within_budget

ACTIVITY_OBJECTS: Final = ("calls", "emails", "meetings", "tasks")
SEARCH: Final = "search"


@dataclass(frozen=True, slots=True)
class Reply:
    """A successful answer: its status (200, 201, 207), JSON body, and the requests it took."""

    status: int
    body: Json
    attempts: int = 1


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
    activities_search: Mapping[str, Any]  # object type -> search API (modified since)
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
            "activities_search": {name: api.search_api for name, api in objects.items()},
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
    ) -> None:
        self.apis = HubSpotApis.connect(config)
        self.budget = budget
        self.policy = config.retry
        self._timeout = (config.connect_timeout, config.read_timeout)
        self._sleep = sleep

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
        attempts or total time are used up, or the budget is exhausted (see
        `connectors.retry.send_within_budget` for what the error then says).
        """
        sent = send_within_budget(
            lambda: self._send(operation, method, args, kwargs),
            budget=self.budget,
            policy=self.policy,
            replay=replay,
            kind=SEARCH if search else ALL_CALLS,
            sleep=self._sleep,
        )
        status, body = sent.value
        return Reply(status, body, sent.attempts)

    def _send(
        self,
        operation: str,
        method: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> tuple[int, Json]:
        """One request: (status, body), or the typed error raised."""
        error: ConnectorError
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
        except urllib3.exceptions.HTTPError as exc:
            error = TransientError(
                f"HubSpot {operation}: the connection failed ({type(exc).__name__}); the "
                "request may or may not have reached HubSpot",
                code="CONNECTION",
            )
        else:
            self._observe(response.headers)
            return response.status, json_object(raw)
        # Raised outside the except blocks: the client's exception (and the response its
        # traceback holds) is not chained onto ours.
        raise error

    def _observe(self, headers: Mapping[str, str]) -> None:
        """Feed HubSpot's X-HubSpot-RateLimit-* figures to the budget (it may stop the run
        before the next call)."""
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
