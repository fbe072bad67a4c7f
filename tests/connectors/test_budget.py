"""The rate budget: windows enforced before calls, in memory and shared through Redis."""

from __future__ import annotations

import multiprocessing
import time

import pytest

from connectors.budget import (
    ALL_CALLS,
    BudgetStorageError,
    RateBudget,
    Window,
    hubspot_windows,
)
from connectors.errors import BudgetExhaustedError


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "redis+nope://worker:s3cret@cache.internal:6379/0",
            "redis+nope://***@cache.internal:6379/0",
        ),
        ("nope://cache.internal/0?password=s3cret", "nope://cache.internal/0"),
        ("async+redis://:s3cret@cache.internal:6379", "async+redis://***@cache.internal:6379"),
        ("s3cret", "<an unreadable storage URL>"),
        ("redis://:pa/s3cret@cache.internal:6379/0", "redis://***@cache.internal:6379/0"),
    ],
)
def test_a_storage_url_the_budget_cannot_use_is_refused_without_its_password(
    url: str, shown: str
) -> None:
    with pytest.raises(BudgetStorageError) as refused:
        RateBudget(hubspot_windows(), storage_uri=url)
    assert "s3cret" not in str(refused.value)
    assert str(refused.value).startswith(f"cannot keep the rate budget in {shown}: ")


def test_calls_beyond_a_window_wait_for_it() -> None:
    budget = RateBudget({ALL_CALLS: Window(5, 1)})
    started = time.monotonic()
    for _ in range(10):
        budget.acquire()
    elapsed = time.monotonic() - started
    # 5 go at once, the next 5 once the first second has passed.
    assert 0.9 <= elapsed < 2.5
    report = budget.report()
    assert report.calls == 10
    assert report.waited_seconds > 0.5


def test_a_search_counts_against_both_its_own_window_and_all_calls() -> None:
    budget = RateBudget({ALL_CALLS: Window(100, 1), "search": Window(2, 1)})
    started = time.monotonic()
    for _ in range(3):
        budget.acquire("search")
    assert time.monotonic() - started >= 0.9
    assert budget.report().calls_by_kind == {"search": 3}


def test_pause_holds_every_call() -> None:
    budget = RateBudget({ALL_CALLS: Window(100, 1)})
    budget.pause(0.3)
    started = time.monotonic()
    budget.acquire()
    assert time.monotonic() - started >= 0.25
    assert budget.report().rate_limited == 1


def test_daily_share_stops_the_next_call_with_a_clear_message() -> None:
    budget = RateBudget({ALL_CALLS: Window(100, 1)}, max_daily_share=0.5)
    budget.observe(daily_used=400, daily_limit=1000)
    budget.acquire()
    budget.observe(daily_used=501, daily_limit=1000)  # that call was answered: no raise here
    with pytest.raises(
        BudgetExhaustedError,
        match=r"501 of 1,000 daily API calls used, above this run's share of 50%",
    ) as stopped:
        budget.acquire()
    assert stopped.value.code == "DAILY_SHARE"


def test_a_stopped_budget_refuses_every_later_call_at_once_with_a_fresh_error() -> None:
    slept: list[float] = []
    budget = RateBudget({ALL_CALLS: Window(1, 60)}, sleep=slept.append)
    budget.acquire()  # the window is now full for a minute
    budget.stop(BudgetExhaustedError("allowance spent", status=403, code="REQUEST_LIMIT_EXCEEDED"))
    errors = []
    for _ in range(2):
        with pytest.raises(BudgetExhaustedError) as refused:
            budget.acquire()
        errors.append(refused.value)
    assert slept == []  # refused before waiting for the window
    assert errors[0] is not errors[1]  # each caller may attach its own results
    assert {(e.code, e.status, e.message) for e in errors} == {
        ("REQUEST_LIMIT_EXCEEDED", 403, "allowance spent")
    }


def test_a_short_pause_never_cuts_a_longer_one_short() -> None:
    budget = RateBudget({ALL_CALLS: Window(100, 1)})
    budget.pause(0.4)
    budget.pause(0.05)
    started = time.monotonic()
    budget.acquire()
    assert time.monotonic() - started >= 0.3


def test_hubspot_windows_stay_under_the_crm_limits() -> None:
    windows = hubspot_windows(190, 10, 5)
    assert windows[ALL_CALLS].calls < 190
    assert windows["search"].calls < 5


def test_a_pause_shared_through_redis_holds_another_budget_exactly_as_long(
    redis_url: str,
) -> None:
    one = RateBudget({ALL_CALLS: Window(100, 1)}, storage_uri=redis_url, namespace="pause")
    other = RateBudget({ALL_CALLS: Window(100, 1)}, storage_uri=redis_url, namespace="pause")
    apart = RateBudget({ALL_CALLS: Window(100, 1)}, storage_uri=redis_url, namespace="elsewhere")
    one.pause(1.6)  # longer than a second, not a whole number of seconds
    started = time.monotonic()
    other.acquire()
    held = time.monotonic() - started
    assert 1.4 <= held < 1.9
    assert apart.acquire() == 0.0  # another namespace shares nothing


def test_a_spent_allowance_stops_every_budget_sharing_redis_until_the_crm_window_resets(
    redis_url: str,
) -> None:
    one = RateBudget({ALL_CALLS: Window(100, 1)}, storage_uri=redis_url, namespace="spent")
    later = RateBudget({ALL_CALLS: Window(100, 1)}, storage_uri=redis_url, namespace="spent")
    apart = RateBudget({ALL_CALLS: Window(100, 1)}, storage_uri=redis_url, namespace="other")
    spent = BudgetExhaustedError("daily allowance used", status=429, code="DAILY")
    spent.wait_seconds = 1.2
    one.stop(spent)
    with pytest.raises(BudgetExhaustedError, match="daily allowance used") as refused:
        later.acquire()  # another worker, or the next task: nothing is sent
    assert refused.value.code == "DAILY"
    assert apart.acquire() == 0.0
    time.sleep(1.3)
    assert later.acquire() == 0.0  # the window may have reset: one call finds out


def _worker(url: str, calls: int, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    budget = RateBudget({ALL_CALLS: Window(10, 1)}, storage_uri=url, namespace="shared-test")
    stamps = []
    for _ in range(calls):
        budget.acquire()
        stamps.append(time.time())
    out.put(stamps)


def test_processes_sharing_redis_share_one_window(redis_url: str) -> None:
    """Three processes, 10 calls each, one 10-per-second window: never more than 10 in any
    second, so 30 calls take at least two seconds."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    workers = [context.Process(target=_worker, args=(redis_url, 10, queue)) for _ in range(3)]
    for worker in workers:
        worker.start()
    stamps = sorted(s for _ in workers for s in queue.get(timeout=60))
    for worker in workers:
        worker.join(timeout=30)
    assert len(stamps) == 30
    assert stamps[-1] - stamps[0] >= 1.9
    for i, start in enumerate(stamps):
        in_window = sum(1 for s in stamps[i:] if s < start + 1.0 - 0.02)
        assert in_window <= 10, f"{in_window} calls within one second starting at call {i}"
