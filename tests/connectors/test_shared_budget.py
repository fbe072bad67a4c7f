"""Worker processes sharing one rate budget through Redis stay under HubSpot's limit together,
and a 429 one of them earns holds the others too.

Two processes sync the same sandbox at once, each within a budget of 80% of the limit. Sharing
the budget through a private redis-server, they never earn a 429; each counting alone, they
send twice what the limit allows and do (the contrast shows the Redis windows are what holds).
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable
from multiprocessing.synchronize import Barrier, Event

from pydantic import SecretStr

from connectors.budget import RateBudget, hubspot_windows
from connectors.hubspot import HubSpotConfig, HubSpotConnector, RetryPolicy
from sandbox.server import RunningSandbox
from tests.connectors.conftest import ci_limits, control

LIMIT = 16
SYNCS = 3


def _worker(
    url: str,
    token: str,
    redis_url: str | None,
    start: Barrier,
    out: multiprocessing.Queue,  # type: ignore[type-arg]
) -> None:
    budget = RateBudget(
        hubspot_windows(LIMIT, 1, 20, margin=0.8), storage_uri=redis_url, namespace="shared"
    )
    connector = HubSpotConnector(
        HubSpotConfig(token=SecretStr(token), base_url=url, retry=RetryPolicy(attempts=20)),
        budget=budget,
    )
    start.wait(timeout=60)  # both sync at once, however long each took to start
    seen = [sum(1 for _ in connector.iter_companies()) for _ in range(SYNCS)]
    out.put((seen, budget.report().rate_limited))


def _run_two(running: RunningSandbox, redis_url: str | None) -> list[tuple[list[int], int]]:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    start = context.Barrier(2)
    args = (running.info.hubspot_url, running.info.hubspot_token, redis_url, start, queue)
    workers = [context.Process(target=_worker, args=args) for _ in range(2)]
    for worker in workers:
        worker.start()
    results = [queue.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
    return results


def test_workers_sharing_redis_never_earn_a_429(
    sandbox_factory: Callable[..., RunningSandbox], redis_url: str
) -> None:
    running = sandbox_factory(limits=ci_limits(limit_per_window=LIMIT))
    shared = _run_two(running, redis_url)
    assert [seen for seen, _ in shared] == [[300] * SYNCS] * 2
    assert control(running, "GET", "/stats")["rate_limited"] == 0

    control(running, "POST", "/reset")
    alone = _run_two(running, None)
    assert [seen for seen, _ in alone] == [[300] * SYNCS] * 2
    served = control(running, "GET", "/stats")["rate_limited"]
    assert isinstance(served, int)
    assert served > 0
    assert sum(limited for _, limited in alone) == served


WINDOW = 2  # seconds: a 429 holds every worker for HubSpot's window (from its headers)


class _Signalling(RateBudget):
    """A shared budget that tells the test when it was paused (a 429 arrived)."""

    def __init__(self, redis_url: str, paused: Event) -> None:
        super().__init__(hubspot_windows(50, 1, 20), storage_uri=redis_url, namespace="paused")
        self.paused = paused

    def pause(self, seconds: float) -> None:
        super().pause(seconds)
        self.paused.set()


def _earns_a_429(url: str, token: str, redis_url: str, paused: Event) -> None:
    connector = HubSpotConnector(
        HubSpotConfig(token=SecretStr(token), base_url=url, retry=RetryPolicy(attempts=3)),
        budget=_Signalling(redis_url, paused),
    )
    list(connector.iter_owners())


def _calls_after_it(redis_url: str, paused: Event, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    budget = RateBudget(hubspot_windows(50, 1, 20), storage_uri=redis_url, namespace="paused")
    assert paused.wait(timeout=60)
    started = time.monotonic()
    budget.acquire()
    out.put(time.monotonic() - started)


def test_a_429_seen_by_one_worker_pauses_another_for_the_window(
    sandbox_factory: Callable[..., RunningSandbox], redis_url: str
) -> None:
    running = sandbox_factory(
        limits=ci_limits(window_seconds=float(WINDOW)), faults="hubspot.owners.list:times=1,429=1"
    )
    context = multiprocessing.get_context("spawn")
    paused, queue = context.Event(), context.Queue()
    other = context.Process(target=_calls_after_it, args=(redis_url, paused, queue))
    other.start()
    first = context.Process(
        target=_earns_a_429,
        args=(running.info.hubspot_url, running.info.hubspot_token, redis_url, paused),
    )
    first.start()
    held = queue.get(timeout=90)
    for process in (first, other):
        process.join(timeout=30)
    assert (first.exitcode, other.exitcode) == (0, 0)
    assert control(running, "GET", "/stats")["faults_served"] == {"hubspot.owners.list:429": 1}
    assert WINDOW - 0.5 <= held <= WINDOW + 0.5
