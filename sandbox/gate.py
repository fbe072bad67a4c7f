"""What every sandbox request passes before its handler runs: counting, limits and faults.

Each endpoint is declared with `Gate.endpoint(name, api=..., kind=...)`. The gate then:
1. counts the request under `name` (control API `GET /stats`);
2. enforces the CRM's limits the way the CRM does: HubSpot's rolling window (190 per 10 s) and
   search rate (5 per second) with HubSpot's 429 body and `X-HubSpot-RateLimit-*` headers;
   Salesforce's daily allowance with `Sforce-Limit-Info` and 403 `REQUEST_LIMIT_EXCEEDED`;
3. injects the configured faults: an error status at a rate, added latency, a connection dropped
   after a write was applied, and (read by handlers) partial batch failures.

Randomness comes from one seeded generator, so a run with the same requests and the same fault
spec fails the same requests. A rule can also pick its requests exactly: of the requests it
matches that pass the limits, `skip=N` lets the first N through untouched and `times=K` stops
its faults (statuses, drops, partial failures; not latency) after K more, so
`hubspot.companies.batch_update:skip=1,times=1,401=1` refuses the second batch update only.
"""

from __future__ import annotations

import asyncio
import contextvars
import fnmatch
import functools
import math
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Final, Literal

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from sandbox.org import Org

Api = Literal["hubspot", "salesforce", "control"]
Kind = Literal["read", "search", "write", "create"]
Handler = Callable[[Request], Response]

FAULT_STATUSES: Final = (401, 403, 429, 500, 502, 503)


@dataclass(slots=True)
class Limits:
    """The limits the sandbox enforces (the CRM's real ones by default)."""

    limit_per_window: int = 190
    window_seconds: float = 10.0
    search_per_second: int = 5
    search_cap: int = 10_000
    daily_limit: int = 1_000_000  # HubSpot daily calls
    salesforce_daily_limit: int = 100_000
    # Appended to Sforce-Limit-Info as Salesforce sometimes does, e.g. "; api-bursts=3/100".
    salesforce_limit_info_extra: str = ""
    enforce: bool = True  # False: count but never refuse (the benchmark's "limits off" run)


@dataclass(slots=True)
class FaultRule:
    """Faults for endpoints matching `pattern` (fnmatch on the endpoint name)."""

    pattern: str
    statuses: dict[int, float] = field(default_factory=dict)  # status -> rate
    latency_ms: float = 0.0
    drop_after_write: float = 0.0  # rate: apply the write, then cut the connection
    partial: float = 0.0  # rate per record of a batch: that record fails (207 / per-record)
    skip: int = 0  # the first `skip` matching requests pass untouched
    times: int | None = None  # then at most this many are faulted (None: every one)
    seen: int = 0  # matching requests so far

    def selects_next(self) -> bool:
        """Count one more matching request; True when this rule's faults apply to it."""
        self.seen += 1
        after_skip = self.seen - self.skip
        return after_skip > 0 and (self.times is None or after_skip <= self.times)


class FaultSpecError(ValueError):
    """A `--faults` spec that does not parse; the message shows the expected form."""


FAULT_SPEC_HELP: Final = (
    "PATTERN:KEY=VALUE[,KEY=VALUE…][;PATTERN:…] where PATTERN matches endpoint names "
    "(fnmatch, e.g. 'hubspot.companies.*' or '*') and KEY is 401, 403, 429, 500, 502 or 503 "
    "(a rate 0..1), latency_ms, drop_after_write (a rate), partial (a rate per batch record), "
    "skip (let the first N matching requests through) or times (then fault at most N); "
    "e.g. 'hubspot.*:429=0.2,latency_ms=5;salesforce.collections:skip=1,times=1,503=1'"
)


def parse_faults(spec: str) -> list[FaultRule]:
    """Parse a `--faults` spec (see `FAULT_SPEC_HELP`)."""
    rules: list[FaultRule] = []
    for part in filter(None, (p.strip() for p in spec.split(";"))):
        pattern, sep, settings = part.partition(":")
        if not sep or not pattern.strip():
            raise FaultSpecError(f"fault rule {part!r}: expected {FAULT_SPEC_HELP}")
        rule = FaultRule(pattern=pattern.strip())
        for setting in filter(None, (s.strip() for s in settings.split(","))):
            key, eq, raw = setting.partition("=")
            try:
                value = float(raw)
            except ValueError:
                value = -1.0
            # "inf" and "nan" read as floats: a skip of inf crashed, a latency of inf hung.
            if not eq or not math.isfinite(value) or value < 0:
                raise FaultSpecError(
                    f"fault rule {part!r}: {setting!r} needs KEY=NUMBER (0 or more)"
                )
            key = key.strip()
            if key.isdigit() and int(key) in FAULT_STATUSES:
                rule.statuses[int(key)] = _rate(part, key, value)
            elif key == "latency_ms":
                rule.latency_ms = value
            elif key == "drop_after_write":
                rule.drop_after_write = _rate(part, key, value)
            elif key == "partial":
                rule.partial = _rate(part, key, value)
            elif key in {"skip", "times"}:
                setattr(rule, key, _count(part, key, value))
            else:
                raise FaultSpecError(f"fault rule {part!r}: unknown key {key!r}; {FAULT_SPEC_HELP}")
        rules.append(rule)
    return rules


def _count(part: str, key: str, value: float) -> int:
    if value != int(value):
        raise FaultSpecError(f"fault rule {part!r}: {key} is a whole number, not {value:g}")
    return int(value)


def _rate(part: str, key: str, value: float) -> float:
    if value > 1:
        raise FaultSpecError(f"fault rule {part!r}: {key} is a rate between 0 and 1, not {value:g}")
    return value


# The fault rules that selected the request being handled (read by `Gate.partial_rate`).
_SELECTED: Final[contextvars.ContextVar[list[FaultRule] | None]] = contextvars.ContextVar(
    "sandbox_fault_rules", default=None
)


class _Window:
    """Requests in a rolling window of `seconds` (timestamps kept, oldest first)."""

    def __init__(self) -> None:
        self.stamps: deque[float] = deque()

    def admit(self, now: float, limit: int, seconds: float) -> tuple[bool, int, float]:
        """(admitted, remaining after this request, seconds until the oldest leaves)."""
        while self.stamps and self.stamps[0] <= now - seconds:
            self.stamps.popleft()
        if len(self.stamps) >= limit:
            return False, 0, self.stamps[0] + seconds - now
        self.stamps.append(now)
        return True, limit - len(self.stamps), (self.stamps[0] + seconds - now)


class Gate:
    """Counts, limits and faults for every endpoint of one sandbox."""

    def __init__(self, org: Org, limits: Limits, faults: list[FaultRule], seed: int = 0) -> None:
        self.org = org
        self.limits = limits
        self.faults = faults
        self._random = random.Random(seed)  # noqa: S311 - seeded faults, not secrets
        self._lock = threading.Lock()
        self._window = _Window()
        self._search = _Window()
        self.hubspot_daily = 0
        self.salesforce_daily = 0

    # ---- configuration (control API) ------------------------------------------------------

    def set_faults(self, faults: list[FaultRule], seed: int | None = None) -> None:
        with self._lock:
            for rule in faults:
                rule.seen = 0
            self.faults = faults
            if seed is not None:
                self._random = random.Random(seed)  # noqa: S311 - seeded faults, not secrets

    def reset(self) -> None:
        with self._lock:
            self._window = _Window()
            self._search = _Window()
            self.hubspot_daily = 0
            self.salesforce_daily = 0

    def _rules_for(self, name: str) -> list[FaultRule]:
        return [r for r in self.faults if fnmatch.fnmatchcase(name, r.pattern)]

    def _select(self, name: str) -> list[FaultRule]:
        """The rules whose faults apply to this request to `name` (each counts it)."""
        with self._lock:
            return [r for r in self._rules_for(name) if r.selects_next()]

    def chance(self, rate: float) -> bool:
        """One draw of the seeded generator."""
        if rate <= 0:
            return False
        with self._lock:
            return self._random.random() < rate

    def partial_rate(self, name: str) -> float:
        """The per-record failure rate handlers apply to batch `name` (in a gated request:
        of the rules that selected it)."""
        selected = _SELECTED.get()
        rules = self._rules_for(name) if selected is None else selected
        return max((r.partial for r in rules if fnmatch.fnmatchcase(name, r.pattern)), default=0.0)

    # ---- the gate ---------------------------------------------------------------------------

    def endpoint(
        self, name: str, *, api: Api, kind: Kind = "read"
    ) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
        """Wrap a (synchronous) handler with counting, limits and faults."""

        def wrap(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
            @functools.wraps(handler)
            async def gated(request: Request) -> Response:
                with self.org.lock:
                    self.org.stats.requests[name] += 1
                latency = max((r.latency_ms for r in self._rules_for(name)), default=0.0)
                if latency:
                    await asyncio.sleep(latency / 1000)
                headers: dict[str, str] = {}
                if api == "hubspot":
                    refused = self._hubspot_limits(kind, headers)
                elif api == "salesforce":
                    refused = self._salesforce_limits(headers)
                else:
                    refused = None
                if refused is not None:
                    return refused
                rules = self._select(name)
                fault = self._fault_status(rules)
                if fault is not None:
                    with self.org.lock:
                        self.org.stats.faults_served[f"{name}:{fault}"] += 1
                    return _fault_response(api, fault, headers)
                selected = _SELECTED.set(rules)
                try:
                    response = await run_in_threadpool(handler, request)
                finally:
                    _SELECTED.reset(selected)
                response.headers.update(headers)
                if kind in {"write", "create"} and self.chance(
                    max((r.drop_after_write for r in rules), default=0.0)
                ):
                    with self.org.lock:
                        self.org.stats.faults_served[f"{name}:drop"] += 1
                    return DroppedResponse()
                return response

            return gated

        return wrap

    def _fault_status(self, rules: list[FaultRule]) -> int | None:
        for rule in rules:
            for status, rate in sorted(rule.statuses.items()):
                if self.chance(rate):
                    return status
        return None

    def _hubspot_limits(self, kind: Kind, headers: dict[str, str]) -> Response | None:
        limits = self.limits
        now = time.monotonic()
        with self._lock:
            self.hubspot_daily += 1
            if kind == "search":
                # Search has its own per-second limit and sends no rate-limit headers.
                admitted, _, wait = self._search.admit(now, limits.search_per_second, 1.0)
                if not admitted and limits.enforce:
                    return self._hubspot_429("SECONDLY", "secondly", wait, {})
                return None
            admitted, remaining, wait = self._window.admit(
                now, limits.limit_per_window, limits.window_seconds
            )
            headers.update(
                {
                    "X-HubSpot-RateLimit-Daily": str(limits.daily_limit),
                    "X-HubSpot-RateLimit-Daily-Remaining": str(
                        max(0, limits.daily_limit - self.hubspot_daily)
                    ),
                    "X-HubSpot-RateLimit-Interval-Milliseconds": str(
                        int(limits.window_seconds * 1000)
                    ),
                    "X-HubSpot-RateLimit-Max": str(limits.limit_per_window),
                    "X-HubSpot-RateLimit-Remaining": str(remaining),
                }
            )
            if not admitted and limits.enforce:
                return self._hubspot_429(
                    "TEN_SECONDLY_ROLLING", "ten_secondly_rolling", wait, headers
                )
        return None

    def _hubspot_429(
        self, policy: str, words: str, wait: float, headers: dict[str, str]
    ) -> Response:
        with self.org.lock:
            self.org.stats.rate_limited += 1
        # HubSpot sends no Retry-After; the window headers are all a client gets.
        return JSONResponse(
            hubspot_rate_limit_body(policy, words), status_code=429, headers=headers
        )

    def _salesforce_limits(self, headers: dict[str, str]) -> Response | None:
        limits = self.limits
        with self._lock:
            used = self.salesforce_daily + 1
            headers["Sforce-Limit-Info"] = (
                f"api-usage={used}/{limits.salesforce_daily_limit}"
                f"{limits.salesforce_limit_info_extra}"
            )
            if used > limits.salesforce_daily_limit and limits.enforce:
                with self.org.lock:
                    self.org.stats.rate_limited += 1
                return JSONResponse(
                    [
                        {
                            "message": "TotalRequests Limit exceeded.",
                            "errorCode": "REQUEST_LIMIT_EXCEEDED",
                        }
                    ],
                    status_code=403,
                    headers=headers,
                )
            self.salesforce_daily = used
        return None


def hubspot_rate_limit_body(policy: str, words: str) -> dict[str, str]:
    """HubSpot's 429 body: `policyName` names the window that was full."""
    return {
        "status": "error",
        "message": f"You have reached your {words} limit.",
        "errorType": "RATE_LIMIT",
        "correlationId": str(uuid.uuid4()),
        "policyName": policy,
        "requestId": str(uuid.uuid4()),
        "groupName": "publicapi:private-app:sandbox",
    }


# Salesforce's error (code, message) for an injected status; 500 and 502 are its default.
_SALESFORCE_FAULTS: Final = {
    401: ("INVALID_SESSION_ID", "Session expired or invalid"),
    403: ("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."),
    503: ("SERVER_UNAVAILABLE", "Server unavailable."),
}
_SALESFORCE_DEFAULT_FAULT: Final = (
    "UNKNOWN_EXCEPTION",
    "An unexpected error occurred. Please try again.",
)
# HubSpot's (category, message) for an injected status; 500 and above share the last one.
_HUBSPOT_FAULTS: Final = {
    401: (
        "INVALID_AUTHENTICATION",
        "Authentication credentials not found. This API supports OAuth 2.0 authentication.",
    ),
    403: (
        "MISSING_SCOPES",
        "This app hasn't been granted all required scopes to make this call.",
    ),
    500: ("INTERNAL_ERROR", "internal error"),
}
_HUBSPOT_SERVER_FAULT: Final = ("INTERNAL_ERROR", "Bad gateway or service unavailable")


def _fault_response(api: Api, status: int, headers: dict[str, str]) -> Response:
    if api == "salesforce":
        code, message = _SALESFORCE_FAULTS.get(status, _SALESFORCE_DEFAULT_FAULT)
        body: object = [{"message": message, "errorCode": code}]
        return JSONResponse(body, status_code=status, headers=headers)
    if status == 429:
        body = hubspot_rate_limit_body("TEN_SECONDLY_ROLLING", "ten_secondly_rolling")
        return JSONResponse(body, status_code=429, headers=headers)
    category, message = _HUBSPOT_FAULTS.get(status, _HUBSPOT_SERVER_FAULT)
    return JSONResponse(
        {
            "status": "error",
            "message": message,
            "correlationId": str(uuid.uuid4()),
            "category": category,
        },
        status_code=status,
        headers=headers,
    )


class DroppedResponse(Response):
    """Announces a body, sends part of it, then fails: the client sees a cut connection."""

    def __init__(self) -> None:
        super().__init__(content=b"", status_code=200)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")],
            }
        )
        await send({"type": "http.response.body", "body": b'{"status":', "more_body": True})
        raise ConnectionAbortedError("sandbox fault: connection dropped after the write")
