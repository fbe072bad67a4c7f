"""A CRM that refuses and fails a good share of every request: write-back gets there anyway,
within the CRM's limits, and each change says what went wrong on its way."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.integration.conftest import Deployment, assert_applied_exactly_once, install
from tests.integration.processes import wait_until
from worker.ledger.states import ChangeState

FAULTS = "*:429=0.3,500=0.04,502=0.03,503=0.03"  # 30% refused, 10% server errors


class FailureWatch:
    """Reads the ledger while the run goes on and keeps every error a change carried, by change
    id and how often it had been claimed (a call failing as a whole spends no attempt: the
    record was not at fault, so `attempts` may stay 0)."""

    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment
        self.seen: dict[tuple[str, int], dict[str, Any]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(0.05):
            for change in self.deployment.changes():
                if change.error is not None and change.state is not ChangeState.APPLIED:
                    self.seen[(change.change_id, change.claims)] = change.error

    def stop(self) -> dict[tuple[str, int], dict[str, Any]]:
        self._stop.set()
        self._thread.join(timeout=10)
        return self.seen


def test_under_30pc_429s_and_10pc_5xx_every_change_is_applied_and_no_real_429_is_served(
    deployment: Deployment, sample_org: Callable[[int], Path]
) -> None:
    # A 429 says to wait for the window: a short one keeps the test short.
    installed = install(deployment, sample_org(300), "--window-seconds", "0.25")
    due = len(installed.due_changes())
    installed.crm.inject(FAULTS, seed=9)
    watch = FailureWatch(deployment)
    deployment.beat()
    deployment.worker()

    wait_until(lambda: deployment.states()[ChangeState.APPLIED] == due, 150, deployment.explain)
    failures = watch.stop()

    stats = installed.crm.stats()
    served = stats["faults_served"]
    assert sum(n for k, n in served.items() if k.endswith(":429")) > 0, served
    assert sum(n for k, n in served.items() if k.endswith(("500", "502", "503"))) > 0, served
    assert stats["rate_limited"] == 0  # every 429 was an injected one
    assert_applied_exactly_once(installed)
    assert failures, "some change met a failure on its way"
    for (change_id, claims), error in failures.items():
        assert change_id
        assert claims >= 1
        assert error["class"] in {"RateLimitedError", "TransientError"}, error
