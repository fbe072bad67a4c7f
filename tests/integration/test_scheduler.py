"""One scheduler: two `territory beat` processes never fire a scheduled task twice."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import redis as redis_client
import sqlalchemy as sa

from tests.integration.conftest import Deployment
from tests.integration.processes import wait_until
from tests.integration.worker_log import ended, first, received
from tests.support.redis_server import RedisServer
from worker.ledger.states import RunKind
from worker.ledger.tables import runs

EVERY_SECONDS = {
    "territory.sync": 3,
    "territory.apply_due": 3,
    "territory.reconcile": 3,
    "territory.relay": 2,
}
BEATS_RUN_SECONDS = 10


def test_two_beats_fire_each_scheduled_task_once(
    deployment: Deployment, redis: RedisServer, sample_org: Callable[[int], Path]
) -> None:
    deployment.configure(
        sync_every_minutes=str(EVERY_SECONDS["territory.sync"] / 60),
        apply_every_minutes=str(EVERY_SECONDS["territory.apply_due"] / 60),
        reconcile_every_minutes=str(EVERY_SECONDS["territory.reconcile"] / 60),
        relay_every_seconds=str(EVERY_SECONDS["territory.relay"]),
    )
    deployment.territory("sync", "--source", f"csv:{sample_org(300)}")
    worker = deployment.worker()
    wait_until(lambda: " ready." in worker.log(), 60, deployment.explain)
    beats = [deployment.beat("beat-1"), deployment.beat("beat-2")]
    wait_until(lambda: all("beat: Starting..." in b.log() for b in beats), 60, deployment.explain)
    time.sleep(BEATS_RUN_SECONDS)
    for beat in beats:
        beat.kill_group()
    stopped = datetime.now()
    queues = redis_client.Redis.from_url(redis.url)

    def drained() -> bool:
        idle = not queues.llen("sync") and not queues.llen("writeback")
        return idle and {i for _, i in received(worker.log_path)} <= ended(worker.log_path)

    wait_until(drained, 60, deployment.explain)

    started = min(filter(None, (first(b.log_path, "beat: Starting...") for b in beats)))
    ticking = (stopped - started).total_seconds()  # the longest either beat could fire
    fired = Counter(name for name, _ in received(worker.log_path))
    with deployment.ledger.read() as connection:
        syncs = connection.scalar(
            sa.select(sa.func.count()).where(
                runs.c.kind == RunKind.SYNC, runs.c.actor.like("worker@%")
            )
        )
    for task, seconds in EVERY_SECONDS.items():
        once = ticking / seconds  # what one scheduler fires at most
        assert once - 3 <= fired[task] <= once + 1, (task, ticking, fired, deployment.explain())
    assert syncs == fired["territory.sync"]  # each fire left its run in the ledger
    assert sum("beat: Acquired lock" in b.log() for b in beats) == 1, deployment.explain()
