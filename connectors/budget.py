"""The API budget: checked *before* every CRM call, shared by all workers.

A budget holds moving-window limits per kind of call (for HubSpot: all requests, 190 per 10 s,
and searches, 5 per second; kept a little under the CRM's own so several workers never trip
it). `acquire(kind)` blocks until the call fits every limit that applies, so a burst of work
queues here instead of earning 429s. When the CRM still answers 429, `pause(seconds)` makes
every worker sharing the budget hold off. When the run's share of the daily allowance is used
(`observe`), or the CRM says the allowance is spent (`stop`), every later `acquire` refuses
with a BudgetExhaustedError: the allowance is never hammered. `acquire(kind, deadline=…)`
never waits past the caller's deadline: when the wait the budget asks for would end after it,
it raises a RateLimitedError (code BUDGET_DEADLINE, `wait_seconds` the wait asked for) at once
instead of sleeping, so a call made under a lease never outlives it waiting for a slot.

With a Redis URL the windows live in Redis (the `limits` library's moving-window strategy, one
key per limit) and so does the pause (one key whose time to live is the pause left), so every
worker process counts against the same windows and holds off together; without one they live
in this process.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage, RedisStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from connectors.base import BudgetReport
from connectors.errors import BudgetExhaustedError, RateLimitedError

log = logging.getLogger(__name__)

ALL_CALLS: Final = "request"
# The code of the RateLimitedError `acquire` raises when its wait would pass the deadline.
BUDGET_DEADLINE: Final = "BUDGET_DEADLINE"


@dataclass(frozen=True, slots=True)
class Window:
    """At most `calls` in any `seconds`."""

    calls: int
    seconds: int

    def item(self) -> RateLimitItemPerSecond:
        return RateLimitItemPerSecond(self.calls, self.seconds)


@dataclass(slots=True)
class _Counters:
    calls: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    waited: float = 0.0
    rate_limited: int = 0
    remaining: int | None = None
    limit: int | None = None
    daily_used: int | None = None
    daily_limit: int | None = None


class _SharedPause(Protocol):
    """A pause (and a spent allowance) every worker sharing the budget sees."""

    def hold(self, seconds: float) -> None: ...

    def left(self) -> float: ...

    def mark_spent(self, error: BudgetExhaustedError, seconds: float) -> None: ...

    def spent(self) -> BudgetExhaustedError | None: ...


class _NoSharedPause:
    """An in-process budget: the pause is the budget's own."""

    def hold(self, seconds: float) -> None:
        del seconds

    def left(self) -> float:
        return 0.0

    def mark_spent(self, error: BudgetExhaustedError, seconds: float) -> None:
        del error, seconds

    def spent(self) -> BudgetExhaustedError | None:
        return None


class _RedisPause:
    """The pause as one Redis key whose time to live is the pause left (lengthened, never
    shortened, so a short 429 never cuts a longer one short)."""

    _LENGTHEN: Final = (
        "if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[1]) then "
        "redis.call('SET', KEYS[1], '1', 'PX', ARGV[1]) end return 0"
    )

    def __init__(self, storage: RedisStorage, key: str) -> None:
        # limits types its client as a protocol of the commands it uses; it is redis-py's
        # client (plain, sentinel or cluster), with every command.
        connection: Any = storage.get_connection()
        self._redis = connection
        self._key = key
        self._lengthen = connection.register_script(self._LENGTHEN)

    def hold(self, seconds: float) -> None:
        self._lengthen(keys=[self._key], args=[max(1, math.ceil(seconds * 1000))])

    def left(self) -> float:
        milliseconds = int(self._redis.pttl(self._key))
        return milliseconds / 1000 if milliseconds > 0 else 0.0

    def mark_spent(self, error: BudgetExhaustedError, seconds: float) -> None:
        # Every worker, and every later task, refuses until the CRM's window may have reset.
        value = json.dumps({"message": error.message, "code": error.code, "status": error.status})
        self._redis.set(f"{self._key}/spent", value, px=max(1000, math.ceil(seconds * 1000)))

    def spent(self) -> BudgetExhaustedError | None:
        raw = self._redis.get(f"{self._key}/spent")
        if raw is None:
            return None
        data = json.loads(raw)
        return BudgetExhaustedError(data["message"], status=data["status"], code=data["code"])


# A spent allowance without a Retry-After is tried again after this long, by one call.
SPENT_RECHECK_SECONDS: Final = 3600.0


class BudgetStorageError(ValueError):
    """The storage URL cannot hold a budget; the message shows it without its password."""


def _storage(uri: str) -> Storage:
    """The `limits` storage `uri` names. Its errors quote the URL whole, password included,
    so they are re-raised with the URL shown as `_without_secrets` shows it, and without their
    own words when those quote any piece of the user or password (a port that held part of
    one, say)."""
    shown = _without_secrets(uri)
    try:
        storage = storage_from_string(uri)
    except Exception as exc:  # noqa: BLE001 - any failure here may quote the URL: say it safely
        reason = str(exc).replace(uri, shown)
        if any(piece in reason for piece in _secret_pieces(uri)):
            reason = "the URL cannot be used (its reason quotes the URL's credentials)"
        raise BudgetStorageError(f"cannot keep the rate budget in {shown}: {reason}") from None
    if not isinstance(storage, Storage):
        raise BudgetStorageError(
            f"cannot keep the rate budget in {shown}: an asynchronous storage cannot hold it"
        )
    return storage


def _split(uri: str) -> tuple[str, str, str] | None:
    """`uri` as (scheme, user and password, host and path), its query left out; None when it
    is no URL. The credentials end at the last `@` (a password may hold `/` or `@`)."""
    scheme, found, rest = uri.partition("://")
    if not found:
        return None
    rest = rest.partition("?")[0]
    if "@" in rest:
        credentials, _, location = rest.rpartition("@")
        return scheme, credentials, location
    return scheme, "", rest


def _secret_pieces(uri: str) -> list[str]:
    """The user and password of `uri` and their parts around `:` and `/`, each at least three
    characters (shorter ones would match ordinary words)."""
    parts = _split(uri)
    if parts is None:
        return [uri]
    credentials = parts[1]
    pieces = [credentials, *credentials.replace("/", ":").split(":")]
    return [p for p in pieces if len(p) >= 3]


def _without_secrets(uri: str) -> str:
    """`uri` with any user and password replaced by `***` and its query (which may carry a
    password too) left out: "redis://***@host:6379/0"."""
    parts = _split(uri)
    if parts is None:
        return "<an unreadable storage URL>"
    scheme, credentials, location = parts
    return f"{scheme}://{'***@' if credentials else ''}{location}"


class RateBudget:
    """Moving-window limits per call kind, enforced before each call.

    `windows` maps a kind to its window; every call also counts against `ALL_CALLS` when that
    kind is present. `max_daily_share` stops the run once the CRM reports that more than that
    share of its daily allowance is used: from then on (for the life of this budget, one run)
    `acquire` raises BudgetExhaustedError and nothing more is sent.
    """

    def __init__(
        self,
        windows: Mapping[str, Window],
        *,
        storage_uri: str | None = None,
        namespace: str = "territory",
        max_daily_share: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.windows = dict(windows)
        self.namespace = namespace
        self.max_daily_share = max_daily_share
        storage = _storage(storage_uri) if storage_uri else MemoryStorage()
        self._storage = storage
        self._limiter = MovingWindowRateLimiter(self._storage)
        self._shared_pause: _SharedPause = (
            _RedisPause(storage, f"{namespace}/pause")
            if isinstance(storage, RedisStorage)
            else _NoSharedPause()
        )
        self._sleep = sleep
        self.clock = clock  # what `acquire`'s deadline is measured on
        self._lock = threading.Lock()
        self._counters = _Counters()
        self._paused_until = 0.0  # local copy; the shared one lives in Redis
        self._stopped: BudgetExhaustedError | None = None

    # ---- before a call ----------------------------------------------------------------------

    def acquire(self, kind: str = ALL_CALLS, *, deadline: float | None = None) -> float:
        """Block until a call of `kind` fits every window that applies; return seconds waited.

        Raise BudgetExhaustedError, at once, once the run has been stopped. With a `deadline`
        (a time on `self.clock`), never sleep past it: when the next wait (a pause, or until
        a window frees a slot) would end after it, raise a retryable RateLimitedError
        (code BUDGET_DEADLINE) whose `wait_seconds` is that wait.
        """
        kinds = [k for k in dict.fromkeys((ALL_CALLS, kind)) if k in self.windows]
        waited = 0.0
        try:
            while True:
                self._refuse_when_stopped()
                pause = self._pause_left()
                wait = pause if pause > 0 else self._try_hit(kinds)
                if wait <= 0:
                    break
                self._refuse_past(deadline, wait, kind, paused=pause > 0)
                self._sleep(wait)
                waited += wait
        finally:
            with self._lock:
                self._counters.waited += waited
        with self._lock:
            self._counters.calls += 1
            self._counters.by_kind[kind] = self._counters.by_kind.get(kind, 0) + 1
        return waited

    def _refuse_past(self, deadline: float | None, wait: float, kind: str, *, paused: bool) -> None:
        """Raise when waiting `wait` seconds would end after `deadline`."""
        if deadline is None:
            return
        left = deadline - self.clock()
        if wait <= left:
            return
        why = "calls are paused after a 429" if paused else f"the {kind} window is full"
        raise RateLimitedError(
            f"rate budget: {why}; the next slot is {wait:.1f} s away, past this call's "
            f"deadline ({max(0.0, left):.1f} s left): not waiting, try again later",
            wait_seconds=wait,
            status=None,
            code=BUDGET_DEADLINE,
        )

    def _try_hit(self, kinds: list[str]) -> float:
        """Take a slot in every window or none; the wait until one frees when refused."""
        items = [(k, self.windows[k].item()) for k in kinds]
        for name, item in items:
            if not self._limiter.test(item, self.namespace, name):
                stats = self._limiter.get_window_stats(item, self.namespace, name)
                return max(0.005, stats.reset_time - time.time())
        for name, item in items:
            if not self._limiter.hit(item, self.namespace, name):
                # Another worker took the slot between test and hit: look again shortly.
                return 0.005
        return 0.0

    # ---- after a call -----------------------------------------------------------------------

    def pause(self, seconds: float) -> None:
        """The CRM refused (429): every worker sharing this budget holds off for `seconds`."""
        until = time.time() + max(0.0, seconds)
        with self._lock:
            self._counters.rate_limited += 1
            self._paused_until = max(self._paused_until, until)
        if seconds > 0:
            self._shared_pause.hold(seconds)

    def _pause_left(self) -> float:
        left = self._paused_until - time.time()
        return left if left > 0 else self._shared_pause.left()

    def stop(self, error: BudgetExhaustedError) -> None:
        """The allowance is spent: every later `acquire` refuses with `error`'s message, in
        every worker sharing the budget, until the CRM's window may have reset (its
        Retry-After, else an hour: then one call finds out)."""
        with self._lock:
            if self._stopped is None:
                log.warning("CRM calls stop for this run: %s", error)
                self._stopped = error
        self._shared_pause.mark_spent(error, error.wait_seconds or SPENT_RECHECK_SECONDS)

    def _refuse_when_stopped(self) -> None:
        stopped = self._stopped or self._shared_pause.spent()
        if stopped is not None:
            # A fresh error each time: the caller attaches its own attempts and results.
            raise BudgetExhaustedError(stopped.message, status=stopped.status, code=stopped.code)

    def observe(
        self,
        *,
        remaining: int | None = None,
        limit: int | None = None,
        daily_used: int | None = None,
        daily_limit: int | None = None,
    ) -> None:
        """Record what the CRM's headers said; past `max_daily_share` of the day, stop the run
        (the call that reported it has succeeded; the next `acquire` refuses)."""
        with self._lock:
            c = self._counters
            if remaining is not None:
                c.remaining = remaining
            if limit is not None:
                c.limit = limit
            if daily_used is not None:
                c.daily_used = daily_used
            if daily_limit is not None:
                c.daily_limit = daily_limit
            used, allowed = c.daily_used, c.daily_limit
        if used is not None and allowed and used > self.max_daily_share * allowed:
            self.stop(
                BudgetExhaustedError(
                    f"the CRM reports {used:,} of {allowed:,} daily API calls used, above this "
                    f"run's share of {self.max_daily_share:.0%}; stopping cleanly (raise "
                    "TERRITORY_MAX_DAILY_API_SHARE to allow more)",
                    code="DAILY_SHARE",
                )
            )

    def report(self) -> BudgetReport:
        with self._lock:
            c = self._counters
            return BudgetReport(
                calls=c.calls,
                calls_by_kind=dict(sorted(c.by_kind.items())),
                rate_limited=c.rate_limited,
                waited_seconds=round(c.waited, 6),
                remaining=c.remaining,
                limit=c.limit,
                daily_used=c.daily_used,
                daily_limit=c.daily_limit,
            )


def hubspot_windows(
    per_window: int = 190,
    window_seconds: int = 10,
    searches_per_second: int = 5,
    *,
    margin: float = 0.95,
) -> dict[str, Window]:
    """HubSpot's limits, kept `margin` under the CRM's so concurrent workers never trip them."""
    return {
        ALL_CALLS: Window(max(1, int(per_window * margin)), window_seconds),
        "search": Window(max(1, int(searches_per_second * margin) or 1), 1),
    }


def salesforce_windows(per_second: int = 25) -> dict[str, Window]:
    """Salesforce has no short window (its allowance is daily); a gentle pace per second."""
    return {ALL_CALLS: Window(per_second, 1)}
