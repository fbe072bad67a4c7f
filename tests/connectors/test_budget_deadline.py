"""Waiting for the rate budget keeps to the call's deadline: a call under a lease never
outlives it waiting for a slot (or for another worker's 429 pause)."""

from __future__ import annotations

import pytest

from connectors.budget import ALL_CALLS, BUDGET_DEADLINE, RateBudget, Window
from connectors.errors import RateLimitedError, TransientError, error_from_json
from connectors.retry import Replay, RetryPolicy, send_within_budget


class FakeClock:
    """A clock that moves only when the budget sleeps on it; it refuses to sleep past `limit`."""

    def __init__(self, limit: float) -> None:
        self.now = 1000.0
        self.slept: list[float] = []
        self.limit = limit

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        if sum(self.slept) > self.limit:
            raise AssertionError(f"the budget slept {sum(self.slept):.1f} s, past the deadline")


def full_budget(fake: FakeClock) -> RateBudget:
    """One call per 10 s, and that call already made."""
    budget = RateBudget({ALL_CALLS: Window(1, 10)}, sleep=fake.sleep, clock=fake.clock)
    budget.acquire()
    return budget


def test_a_window_wait_past_the_deadline_is_refused_at_once_with_the_wait() -> None:
    fake = FakeClock(limit=5)
    budget = full_budget(fake)
    with pytest.raises(RateLimitedError) as refused:
        budget.acquire(deadline=fake.clock() + 5)
    assert fake.slept == []
    error = refused.value
    assert error.code == BUDGET_DEADLINE
    assert error.retryable
    assert error.status is None  # our own budget refused: no HTTP 429 was seen
    assert 9 < error.wait_seconds <= 10
    assert "the request window is full" in error.message
    assert "past this call's deadline (5.0 s left)" in error.message
    # Stored as the ledger stores it and read back: still a retryable wait, not a failure.
    again = error_from_json(error.to_json())
    assert isinstance(again, RateLimitedError)
    assert again.wait_seconds == error.wait_seconds
    assert budget.report().calls == 1


def test_another_workers_pause_past_the_deadline_is_refused_and_one_within_it_is_waited() -> None:
    budget = RateBudget({ALL_CALLS: Window(100, 1)})
    budget.pause(30)
    with pytest.raises(RateLimitedError, match=r"calls are paused after a 429") as refused:
        budget.acquire(deadline=budget.clock() + 1)
    assert 29 < refused.value.wait_seconds <= 30

    short = RateBudget({ALL_CALLS: Window(100, 1)})
    short.pause(0.2)
    waited = short.acquire(deadline=short.clock() + 5)
    assert 0.1 < waited <= 0.2
    assert short.report().calls == 1


def test_a_call_ends_at_its_deadline_instead_of_waiting_for_the_budget() -> None:
    fake = FakeClock(limit=2)
    budget = full_budget(fake)
    sent: list[int] = []
    with pytest.raises(RateLimitedError) as refused:
        send_within_budget(
            lambda: sent.append(1),
            budget=budget,
            policy=RetryPolicy(max_seconds=2),
            replay=Replay.READ,
            sleep=fake.sleep,
        )
    assert sent == []
    assert fake.slept == []
    assert refused.value.code == BUDGET_DEADLINE
    assert refused.value.attempts == 0  # nothing was sent
    assert not refused.value.may_have_run
    assert 9 < refused.value.wait_seconds <= 10


def test_a_pause_set_by_another_worker_mid_call_ends_the_call_with_what_was_sent() -> None:
    fake = FakeClock(limit=5)
    budget = RateBudget({ALL_CALLS: Window(100, 1)}, sleep=fake.sleep, clock=fake.clock)
    sent: list[int] = []

    def send() -> str:
        sent.append(1)
        budget.pause(30)  # another worker's 429 while this request was out
        raise TransientError("busy", status=503)

    with pytest.raises(RateLimitedError) as refused:
        send_within_budget(
            send,
            budget=budget,
            policy=RetryPolicy(max_seconds=5, first_wait=0.0),
            replay=Replay.UPDATE,
            sleep=fake.sleep,
        )
    assert sent == [1]
    assert refused.value.code == BUDGET_DEADLINE
    assert refused.value.attempts == 1
    assert refused.value.may_have_run  # the 503'd update may have been applied
    assert sum(fake.slept) <= 5
