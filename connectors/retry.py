"""One retry policy for every CRM call, on tenacity: when to stop, how long to wait, what to resend.

The decisions live here once, as tenacity predicates built from a `RetryPolicy`:

- **stop** at `attempts` tries, or before a wait would end past `max_seconds` after the first
  try (`stop_after_attempt | stop_before_delay`: a wait that cannot fit is never started);
- **wait** what the CRM asked for: a 429's window (`RateLimitedError.wait_seconds`), or a
  `Retry-After` sent with a 5xx when it is longer than the backoff; otherwise exponential
  backoff from `first_wait`, doubling up to `max_wait`;
- **retry** only retryable errors, and only when the request may be sent again (`Replay`): a
  429 always (the CRM refused it before running it), a server error unless the request is a
  create (it may have run), a dropped connection only for a read.

`send_within_budget` is the one loop both CRMs' transports call: each try takes a slot from the
rate budget first, a 429 makes every worker sharing the budget hold off (the budget does the
waiting), and a spent allowance stops every later call through the budget. Waiting for the
budget keeps to the same bound as the retries: no slot is waited for past `max_seconds` after
the first try (the call ends with the budget's RateLimitedError and its wait instead), so a
call's waits never end later than `max_seconds` after it began; its last request may then
run for the transport's own timeout. `retry_after` asks the same predicates about one
failure, for callers that schedule the next try themselves (a Celery task's countdown).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Generic, TypeVar

from tenacity import RetryCallState, Retrying, retry_base, retry_if_exception
from tenacity.stop import stop_after_attempt, stop_base, stop_before_delay
from tenacity.wait import wait_base, wait_exponential

from connectors.budget import ALL_CALLS, RateBudget
from connectors.errors import (
    BudgetExhaustedError,
    ConnectorError,
    RateLimitedError,
)

T = TypeVar("T")


class Replay(Enum):
    """What may be sent again after a failure, by what the request does."""

    READ = (True, True)  # server errors and dropped connections
    UPDATE = (True, False)  # server errors only: a dropped update may have been applied
    CREATE = (False, False)  # neither: a create that may have run is never sent blindly again

    def __init__(self, server_errors: bool, dropped: bool) -> None:
        self.server_errors = server_errors
        self.dropped = dropped

    def allows(self, error: BaseException) -> bool:
        """True when a request that failed with `error` may be sent again."""
        if not isinstance(error, ConnectorError) or not error.retryable:
            return False
        if isinstance(error, RateLimitedError):
            return True  # refused before it ran
        return self.dropped if error.status is None else self.server_errors


class _WaitAsTheCrmSays(wait_base):
    """A 429's window; the longer of a `Retry-After` and the backoff; else the backoff."""

    def __init__(self, first_wait: float, max_wait: float) -> None:
        self._backoff = wait_exponential(multiplier=first_wait, max=max_wait)

    def __call__(self, retry_state: RetryCallState) -> float:
        error = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(error, RateLimitedError):
            return error.wait_seconds
        backoff = float(self._backoff(retry_state))
        asked = error.wait_seconds if isinstance(error, ConnectorError) else None
        return max(backoff, asked or 0.0)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounded retries of transient failures: at most `attempts` tries and `max_seconds`.

    A 429 waits as long as the CRM says; other transient failures back off from `first_wait`,
    doubling up to `max_wait`, or wait the CRM's `Retry-After` when longer (tests set the waits
    to zero). `connect_retries` is the HTTP library's own budget for connections that never
    reached the CRM (safe for any method: nothing was sent); the HubSpot client's urllib3
    uses it, requests-based clients need none.
    """

    attempts: int = 4
    max_seconds: float = 60.0
    first_wait: float = 0.5
    max_wait: float = 10.0
    connect_retries: int = 2

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.max_seconds <= 0 or self.connect_retries < 0:
            raise ValueError(f"retry policy needs attempts >= 1 and a positive time: {self}")
        if self.first_wait < 0 or self.max_wait < 0:
            raise ValueError(f"retry policy waits must not be negative: {self}")

    def stop(self) -> stop_base:
        """Stop at the attempts, or before a wait that would end past `max_seconds`."""
        return stop_after_attempt(self.attempts) | stop_before_delay(self.max_seconds)

    def wait(self) -> wait_base:
        """How long to wait before the next try."""
        return _WaitAsTheCrmSays(self.first_wait, self.max_wait)

    def retry(self, replay: Replay) -> retry_base:
        """Which failures are tried again: retryable ones `replay` allows to resend."""
        return retry_if_exception(replay.allows)

    def retrying(self, replay: Replay, *, sleep: Callable[[float], None] = time.sleep) -> Retrying:
        """A tenacity controller for one call under this policy (re-raising the last error)."""
        return Retrying(
            stop=self.stop(),
            wait=self.wait(),
            retry=self.retry(replay),
            sleep=sleep,
            reraise=True,
        )

    def retry_after(
        self,
        error: BaseException,
        *,
        attempt: int,
        elapsed: float = 0.0,
        replay: Replay = Replay.READ,
    ) -> float | None:
        """Seconds to wait before try `attempt + 1` after try `attempt` failed with `error`,
        `elapsed` seconds after the first began; None: do not try again.

        The same predicates as `send_within_budget`, for callers that schedule retries
        themselves (a Celery task: `countdown=policy.retry_after(error, attempt=retries + 1)`).
        """
        retrying = self.retrying(replay)
        state = RetryCallState(retrying, fn=None, args=(), kwargs={})
        state.attempt_number = attempt
        state.set_exception((type(error), error, error.__traceback__))
        state.outcome_timestamp = state.start_time + elapsed
        if not retrying.retry(state):
            return None
        state.upcoming_sleep = retrying.wait(state)
        if retrying.stop(state):
            return None
        return state.upcoming_sleep


@dataclass(frozen=True, slots=True)
class Sent(Generic[T]):
    """What a call returned, and how many requests it took."""

    value: T
    attempts: int


def send_within_budget(
    send: Callable[[], T],
    *,
    budget: RateBudget,
    policy: RetryPolicy,
    replay: Replay,
    kind: str = ALL_CALLS,
    sleep: Callable[[float], None] = time.sleep,
) -> Sent[T]:
    """Call `send` (one request, raising a ConnectorError on failure) until it answers, within
    `budget` and `policy`, resending only what `replay` allows.

    Each try first takes a slot of `kind` from the budget (a stopped budget refuses: nothing is
    sent). A 429 pauses every worker sharing the budget for its window, and the next try's slot
    waits it out; a BudgetExhaustedError stops every later call through the budget. A slot
    that frees only after `policy.max_seconds` from the start is not waited for: the call ends
    with the budget's RateLimitedError (code BUDGET_DEADLINE, its `wait_seconds` the wait the
    budget asked for), which the caller may try again after that wait. The last error is
    raised with `attempts` (requests sent) and `may_have_run` (any of them may have been
    carried out) set for the whole call.
    """
    deadline = budget.clock() + policy.max_seconds
    sent = 0
    may_have_run = False
    budget_waits = False  # the last failure was a 429: the budget holds the next try

    def attempt() -> T:
        nonlocal sent, may_have_run, budget_waits
        try:
            budget.acquire(kind, deadline=deadline)
        except RateLimitedError as refused:
            raise _OutOfTime(refused) from None  # not retried: the call's time is up
        sent += 1
        try:
            return send()
        except ConnectorError as error:
            may_have_run = may_have_run or error.may_have_run
            budget_waits = isinstance(error, RateLimitedError)
            if isinstance(error, RateLimitedError):
                budget.pause(error.wait_seconds)
            elif isinstance(error, BudgetExhaustedError):
                budget.stop(error)
            raise

    def nap(seconds: float) -> None:
        if not budget_waits:
            sleep(seconds)

    try:
        value = policy.retrying(replay, sleep=nap)(attempt)
    except _OutOfTime as out:
        out.error.attempts = sent
        out.error.may_have_run = may_have_run
        raise out.error from None
    except ConnectorError as error:
        error.attempts = sent
        error.may_have_run = may_have_run
        raise
    return Sent(value, sent)


class _OutOfTime(Exception):  # noqa: N818 - a signal inside the loop, never seen outside it
    """The budget's slot would free past the call's deadline: end the call with `error`."""

    def __init__(self, error: RateLimitedError) -> None:
        super().__init__(str(error))
        self.error = error
