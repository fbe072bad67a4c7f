"""The one retry policy: what is resent, how long it waits, when it stops, and what a failed
call says about its requests (the per-CRM behaviour is pinned in each connector's tests)."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from connectors.base import WriteOutcome
from connectors.budget import ALL_CALLS, RateBudget, Window
from connectors.errors import (
    BudgetExhaustedError,
    ConflictError,
    ConnectorError,
    RateLimitedError,
    TerminalError,
    TransientError,
)
from connectors.retry import Replay, RetryPolicy, send_within_budget


def dropped() -> ConnectorError:
    return TransientError("connection dropped after sending", code="CONNECTION")


def server() -> ConnectorError:
    return TransientError("bad gateway", status=502)


def limited() -> ConnectorError:
    return RateLimitedError("slow down", wait_seconds=2.0)


def briefly_limited() -> ConnectorError:
    return RateLimitedError("slow down", wait_seconds=0.01)


def refused() -> ConnectorError:
    return TerminalError("bad token", status=401)


def conflict() -> ConnectorError:
    return ConflictError("moved", status=409)


@pytest.mark.parametrize(
    ("replay", "resent"),
    [
        (Replay.READ, {dropped, server, limited}),
        (Replay.UPDATE, {server, limited}),
        (Replay.CREATE, {limited}),
    ],
)
def test_only_what_may_run_twice_is_sent_again(
    replay: Replay, resent: set[Callable[[], ConnectorError]]
) -> None:
    policy = RetryPolicy(first_wait=0.0)
    failures = [dropped, server, limited, refused, conflict]
    again = {f for f in failures if policy.retry_after(f(), attempt=1, replay=replay) is not None}
    assert again == resent


def test_a_429_waits_its_window_a_server_error_the_longer_of_retry_after_and_backoff() -> None:
    policy = RetryPolicy(first_wait=0.5, max_wait=10.0)
    assert policy.retry_after(limited(), attempt=1) == 2.0
    assert policy.retry_after(server(), attempt=1) == 0.5
    assert policy.retry_after(server(), attempt=3) == 2.0
    assert policy.retry_after(TransientError("busy", status=503, wait_seconds=7), attempt=1) == 7
    assert policy.retry_after(TransientError("busy", status=503, wait_seconds=0.1), attempt=3) == 2


def test_retries_stop_at_the_attempts_or_before_a_wait_past_the_time_bound() -> None:
    policy = RetryPolicy(attempts=3, max_seconds=10.0, first_wait=1.0)
    assert policy.retry_after(server(), attempt=2) == 2.0
    assert policy.retry_after(server(), attempt=3) is None
    assert policy.retry_after(server(), attempt=1, elapsed=8.5) == 1.0
    assert policy.retry_after(server(), attempt=1, elapsed=9.5) is None  # 9.5 + 1 would not fit
    assert policy.retry_after(RateLimitedError("daily", wait_seconds=90), attempt=1) is None


def test_anything_but_a_connector_error_is_never_retried() -> None:
    assert RetryPolicy().retry_after(ValueError("a bug"), attempt=1) is None


def _budget() -> RateBudget:
    return RateBudget({ALL_CALLS: Window(1000, 1)})


def _failing(*errors: ConnectorError) -> Callable[[], str]:
    """A request failing with `errors` in turn, then answering "ok"."""
    left = list(errors)

    def send() -> str:
        if left:
            raise left.pop(0)
        return "ok"

    return send


def test_a_call_retried_to_success_reports_its_requests() -> None:
    waits: list[float] = []
    sent = send_within_budget(
        _failing(TransientError("busy", status=503), TransientError("busy", status=503)),
        budget=_budget(),
        policy=RetryPolicy(first_wait=0.25),
        replay=Replay.UPDATE,
        sleep=waits.append,
    )
    assert (sent.value, sent.attempts) == ("ok", 3)
    assert waits == [0.25, 0.5]


def test_a_429_is_waited_out_by_the_budget_for_every_worker_sharing_it() -> None:
    slept: list[float] = []
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        time.sleep(seconds)

    budget = RateBudget({ALL_CALLS: Window(1000, 1)}, sleep=sleep)
    sent = send_within_budget(
        _failing(RateLimitedError("slow down", wait_seconds=0.2)),
        budget=budget,
        policy=RetryPolicy(),
        replay=Replay.CREATE,
        sleep=waits.append,
    )
    assert sent.attempts == 2
    assert waits == []  # not slept here: the budget holds this call with every other one
    assert len(slept) == 1
    assert 0.1 < slept[0] <= 0.2
    assert budget.report().rate_limited == 1


@pytest.mark.parametrize(
    ("failures", "replay", "attempts", "outcome"),
    [
        ((refused,), Replay.UPDATE, 1, WriteOutcome.FAILED),
        ((dropped,), Replay.UPDATE, 1, WriteOutcome.UNKNOWN),
        ((server, server, server), Replay.UPDATE, 3, WriteOutcome.UNKNOWN),
        ((server,), Replay.CREATE, 1, WriteOutcome.UNKNOWN),
        ((briefly_limited, refused), Replay.CREATE, 2, WriteOutcome.FAILED),
        # a server error may have applied the write, whatever answered the retry
        ((server, refused), Replay.UPDATE, 2, WriteOutcome.UNKNOWN),
    ],
)
def test_a_failed_call_says_how_many_requests_went_and_whether_one_may_have_run(
    failures: tuple[Callable[[], ConnectorError], ...],
    replay: Replay,
    attempts: int,
    outcome: WriteOutcome,
) -> None:
    errors = [f() for f in failures]
    last = errors[-1]
    with pytest.raises(ConnectorError) as failed:
        send_within_budget(
            _failing(*errors, TerminalError("never reached")),
            budget=_budget(),
            policy=RetryPolicy(attempts=3, first_wait=0.0),
            replay=replay,
            sleep=lambda _: None,
        )
    assert failed.value is last
    assert failed.value.attempts == attempts
    assert WriteOutcome.after(failed.value) is outcome


def test_a_spent_allowance_stops_every_later_call_before_it_is_sent() -> None:
    budget = _budget()
    spent = BudgetExhaustedError("allowance spent", status=403, code="REQUEST_LIMIT_EXCEEDED")
    with pytest.raises(BudgetExhaustedError):
        send_within_budget(_failing(spent), budget=budget, policy=RetryPolicy(), replay=Replay.READ)
    calls: list[int] = []
    with pytest.raises(BudgetExhaustedError) as refused:
        send_within_budget(
            lambda: calls.append(1), budget=budget, policy=RetryPolicy(), replay=Replay.READ
        )
    assert calls == []
    assert refused.value.attempts == 0
    assert WriteOutcome.after(refused.value) is WriteOutcome.NOT_SENT
