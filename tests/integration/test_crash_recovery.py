"""Exactly-once effect over at-least-once delivery: a worker killed mid-apply, and a connection
cut after the CRM applied a write, never make a second write or a second note. Each test runs on
both ledgers: the embedded SQLite file (one worker process) and a PostgreSQL database of its own
(the worker's default prefork pool, claims by `FOR UPDATE SKIP LOCKED`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from tests.integration.conftest import Deployment, assert_applied_exactly_once, install
from tests.integration.processes import wait_until
from worker.ledger.states import ChangeState

# About 85% of a sample's accounts change owner under the test revision.
KILL_ORG_ACCOUNTS = 5900


def test_a_worker_killed_mid_apply_and_started_again_applies_every_change_once(
    deployment_on_each_ledger: Deployment, sample_org: Callable[[int], Path]
) -> None:
    """About 5,000 changes on both ledgers: PostgreSQL's run takes about as long as SQLite's
    (some 20 s here), so its change count is not scaled down."""
    deployment = deployment_on_each_ledger
    installed = install(deployment, sample_org(KILL_ORG_ACCOUNTS))
    due = len(installed.due_changes())
    beat = deployment.beat()
    worker = deployment.worker()

    def states() -> dict[str, int]:
        return deployment.states()

    wait_until(lambda: states()[ChangeState.APPLIED] >= due // 4, 120, deployment.explain)
    wait_until(lambda: states()[ChangeState.APPLYING] > 0, 30, deployment.explain, every=0.02)
    worker.kill_group()
    killed = states()
    restarted = deployment.worker(name="worker-restarted")
    start = time.monotonic()
    wait_until(
        lambda: states()[ChangeState.APPLIED] == due and not states()[ChangeState.APPLYING],
        120,
        deployment.explain,
    )

    assert killed[ChangeState.APPLYING] > 0, "the kill must land inside a chunk"
    assert killed[ChangeState.APPLIED] < due
    assert_applied_exactly_once(installed)
    assert restarted.running()
    assert beat.running()
    print(
        f"{due} changes; killed with {dict(killed)}; all applied "
        f"{time.monotonic() - start:.1f} s after the restart"
    )


def test_a_connection_cut_after_the_crm_applied_a_write_makes_no_second_write_or_note(
    deployment_on_each_ledger: Deployment, sample_org: Callable[[int], Path]
) -> None:
    deployment = deployment_on_each_ledger
    installed = install(deployment, sample_org(300))
    # Every owner write and every note batch lands, and its answer is lost on the way back.
    installed.crm.inject(
        "hubspot.companies.batch_update:drop_after_write=1;"
        "hubspot.notes.batch_create:drop_after_write=1"
    )
    deployment.beat()
    deployment.worker()

    wait_until(
        lambda: deployment.states()[ChangeState.APPLIED] == len(installed.due_changes()),
        90,
        deployment.explain,
    )

    served = installed.crm.stats()["faults_served"]
    assert served.get("hubspot.companies.batch_update:drop", 0) > 0, served
    assert served.get("hubspot.notes.batch_create:drop", 0) > 0, served
    assert_applied_exactly_once(installed)
