"""`territory apply` against the sandbox when the CRM will not take the writes: nothing is
written blindly, every change says why, and retries stop at TERRITORY_MAX_ATTEMPTS."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.conftest import Deployment, install
from worker.console import ExitCode
from worker.ledger.states import ChangeState


def test_an_apply_that_cannot_create_the_territory_fields_writes_nothing_and_names_them(
    deployment: Deployment, sample_org: Callable[[int], Path]
) -> None:
    installed = install(deployment, sample_org(100))
    installed.crm.control("POST", "/scopes/crm.schemas.companies.write/revoke")

    refused = deployment.territory("apply", expect=ExitCode.CRM_FAILED)

    assert "the territory fields territory, rule_revision" in refused.stderr, refused.stderr
    assert "crm.schemas.companies.write" in refused.stderr
    assert installed.crm.owner_writes() == {}
    assert installed.crm.notes_by_marker() == {}
    assert deployment.states()[ChangeState.APPLYING] == 0


@pytest.mark.parametrize(
    ("endpoint", "writes"), [("companies.batch_update", 0), ("notes.batch_create", 1)]
)
def test_writes_that_keep_failing_end_failed_after_max_attempts_with_their_error(
    deployment: Deployment, sample_org: Callable[[int], Path], endpoint: str, writes: int
) -> None:
    deployment.configure(max_attempts="2")
    installed = install(deployment, sample_org(100))
    due = {c.change_id for c in installed.due_changes()}
    installed.crm.inject(f"hubspot.{endpoint}:500=1")  # answered 500, never carried out

    for _ in range(2):
        deployment.territory("apply", expect=ExitCode.CRM_FAILED)

    ended = [c for c in deployment.changes() if c.change_id in due]
    assert Counter(str(c.state) for c in ended) == {ChangeState.FAILED: len(due)}
    for change in ended:
        assert change.attempts == 2
        assert change.error is not None
        assert change.error["class"] == "TransientError"
        assert change.error["status"] == 500
    assert set(installed.crm.owner_writes().values()) == ({writes} if writes else set())
    assert installed.crm.notes_by_marker() == {}
