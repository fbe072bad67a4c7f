"""The ledger is the source of truth: a Redis that comes back empty loses nothing but time."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import redis as redis_client

from tests.integration.conftest import Deployment, assert_applied_exactly_once, install
from tests.integration.processes import wait_until
from tests.support.redis_server import RedisServer
from worker.ledger.states import ChangeState


def test_a_run_completes_within_30_s_of_redis_coming_back_empty_after_a_restart(
    deployment: Deployment, redis: RedisServer, sample_org: Callable[[int], Path]
) -> None:
    deployment.configure(apply_chunk="25", lease_seconds="5")
    installed = install(deployment, sample_org(300))
    due = len(installed.due_changes())
    installed.crm.inject("hubspot.*:latency_ms=150")  # an apply long enough to interrupt
    worker, beat = deployment.worker(), deployment.beat()

    def applied() -> int:
        return deployment.states()[ChangeState.APPLIED]

    wait_until(lambda: applied() >= 25, 60, deployment.explain)
    redis.stop()
    time.sleep(5)
    assert applied() < due, "the run finished before Redis stopped: nothing was tested"
    redis.start()  # on the same port, without persistence: empty
    took = wait_until(lambda: applied() == due, 30, deployment.explain)

    assert_applied_exactly_once(installed)
    assert worker.running(), worker.log()
    assert beat.running(), beat.log()
    print(f"run completed {took:.1f} s after Redis came back ({due} changes)")


def test_a_beat_started_while_redis_is_down_waits_for_it_and_then_fires(
    deployment: Deployment, redis: RedisServer
) -> None:
    redis.stop()
    beat = deployment.beat()
    wait_until(lambda: "Redis does not answer" in beat.log(), 60, beat.log)
    time.sleep(3)
    assert beat.running(), beat.log()
    redis.start()

    queue = redis_client.Redis.from_url(redis.url)
    wait_until(lambda: queue.llen("writeback") > 0, 20, beat.log)  # the relay, sent

    assert "beat: Acquired lock" in beat.log()
    assert "Traceback" not in beat.log()
