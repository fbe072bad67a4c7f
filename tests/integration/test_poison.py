"""A task message whose every delivery kills its worker process is parked, not run forever."""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Callable
from functools import partial
from pathlib import Path

import sqlalchemy as sa
from celery import Celery

from tests.integration.conftest import Deployment
from tests.integration.processes import wait_until
from tests.integration.sandbox_crm import SandboxCrm
from tests.support.redis_server import RedisServer
from worker.ledger.tables import deliveries

MAX_DELIVERIES = 2


def counted(deployment: Deployment, key: str, deliveries: int) -> bool:
    return delivery_count(deployment, key)[0] >= deliveries


def delivery_count(deployment: Deployment, key: str) -> tuple[int, bool]:
    with deployment.ledger.read() as connection:
        row = connection.execute(
            sa.select(deliveries.c.count, deliveries.c.parked).where(deliveries.c.task_key == key)
        ).first()
    return (0, False) if row is None else (int(row.count), bool(row.parked))


def test_a_task_redelivered_more_than_max_deliveries_times_is_parked(
    deployment: Deployment, redis: RedisServer, sample_org: Callable[[int], Path]
) -> None:
    crm = SandboxCrm.serve(sample_org(300), deployment.env, deployment.workdir)
    deployment.services.append(crm.service)
    deployment.env.update(crm.settings())
    deployment.configure(max_deliveries=str(MAX_DELIVERIES))
    deployment.territory("sync", "--source", "hubspot")
    crm.inject("hubspot.*:latency_ms=3000")  # every sync now runs long enough to be killed
    worker = deployment.worker()
    wait_until(lambda: " ready." in worker.log(), 60, deployment.explain)

    task_id = str(uuid.uuid4())
    key = f"territory.sync:{task_id}"
    sender = Celery("test-sender", broker=redis.url)
    sender.send_task("territory.sync", task_id=task_id, queue="sync", serializer="json")
    sender.close()
    for delivery in range(1, MAX_DELIVERIES + 1):
        wait_until(partial(counted, deployment, key, delivery), 60, deployment.explain)
        # The delivery runs in the pool's child: kill it as the kernel's OOM killer would.
        for pid in worker.members()[1:]:
            os.kill(pid, signal.SIGKILL)
    wait_until(lambda: delivery_count(deployment, key)[1], 60, deployment.explain)
    requests_when_parked = sum(crm.stats()["requests"].values())
    time.sleep(3)

    with deployment.ledger.read() as connection:
        row = connection.execute(sa.select(deliveries).where(deliveries.c.task_key == key)).one()
    assert row.count == MAX_DELIVERIES + 1
    assert row.error["class"] == "Poison"
    assert f"delivered {MAX_DELIVERIES + 1} times" in row.error["message"]
    assert f"task {key} parked after {MAX_DELIVERIES + 1} deliveries" in worker.log(200)
    assert sum(crm.stats()["requests"].values()) == requests_when_parked  # never run again
    assert worker.running()
