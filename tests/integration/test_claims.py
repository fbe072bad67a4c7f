"""Claims, not locks: two workers on PostgreSQL and a `territory apply` beside them share the
due changes, and none is applied twice."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from tests.integration.conftest import Deployment, assert_applied_exactly_once, install
from tests.integration.processes import wait_until
from worker.ledger.states import ChangeState


def test_two_workers_on_postgresql_and_a_cli_apply_beside_them_apply_no_change_twice(
    postgres_deployment: Deployment, sample_org: Callable[[int], Path]
) -> None:
    deployment = postgres_deployment
    # Small chunks, a slow CRM and leases longer than a chunk: every claimant holds work at once.
    deployment.configure(apply_chunk="20", lease_seconds="60")
    installed = install(deployment, sample_org(600))
    due = len(installed.due_changes())
    installed.crm.inject("hubspot.*:latency_ms=100")
    deployment.beat()
    # One process each: while one holds an apply, the relay's next one goes to the other.
    workers = [deployment.worker("--concurrency", "1", name=f"worker-{n}") for n in "ab"]
    wait_until(lambda: all(" ready." in w.log() for w in workers), 60, deployment.explain)

    cli = deployment.run("apply", "--json")  # a process of its own: a claimant of its own
    wait_until(lambda: deployment.states()[ChangeState.APPLIED] == due, 120, deployment.explain)

    by_cli = [c for c in json.loads(cli.stdout)["changes"] if c["state"] == "applied"]
    claimants = Counter(int(str(c.claimed_by).split(":")[1]) for c in installed.due_changes())
    assert 0 < len(by_cli) < due, (len(by_cli), due, claimants)
    for worker in workers:  # each worker's processes applied some too
        assert set(worker.members()) & set(claimants), (worker.name, claimants)
    assert_applied_exactly_once(installed)
