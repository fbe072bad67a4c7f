"""One scheduler: two `territory beat` processes never fire a scheduled task twice."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from tests.integration.conftest import Deployment
from tests.integration.processes import wait_until
from tests.integration.worker_log import received
from worker.ledger.tables import runs

EVERY_SECONDS = {"territory.sync": 3, "territory.apply_due": 3, "territory.reconcile": 3}
RELAY_SECONDS = 2
WINDOW_SECONDS = 10


def test_two_beats_fire_each_scheduled_task_once(
    deployment: Deployment, sample_org: Callable[[int], Path]
) -> None:
    org = sample_org(300)
    deployment.configure(
        sync_every_minutes=str(EVERY_SECONDS["territory.sync"] / 60),
        apply_every_minutes=str(EVERY_SECONDS["territory.apply_due"] / 60),
        reconcile_every_minutes=str(EVERY_SECONDS["territory.reconcile"] / 60),
    )
    deployment.territory("sync", "--source", f"csv:{org}")
    worker = deployment.worker()
    wait_until(lambda: " ready." in worker.log(), 60, deployment.explain)
    beats = [deployment.beat("beat-1"), deployment.beat("beat-2")]
    wait_until(lambda: all("beat: Starting..." in b.log() for b in beats), 60, deployment.explain)

    start = datetime.now()
    time.sleep(WINDOW_SECONDS)
    end = datetime.now()
    for beat in beats:
        beat.kill_group()
    time.sleep(3)  # let the worker finish what the beats sent

    fired = Counter(name for at, name, _ in received(worker.log_path) if start <= at <= end)
    with deployment.ledger.read() as connection:
        syncs = connection.scalars(
            sa.select(runs.c.started_at).where(runs.c.kind == "sync", runs.c.actor.like("worker@%"))
        ).all()
    synced = [at for at in syncs if start.astimezone() <= at <= end.astimezone()]

    every = {**EVERY_SECONDS, "territory.relay": RELAY_SECONDS}
    for task, seconds in every.items():
        once = WINDOW_SECONDS / seconds
        assert once - 2 <= fired[task] <= once + 1, (task, fired, deployment.explain())
    once = WINDOW_SECONDS / EVERY_SECONDS["territory.sync"]
    assert once - 2 <= len(synced) <= once + 1, (synced, deployment.explain())
    assert sum("beat: Acquired lock" in b.log() for b in beats) == 1, deployment.explain()
