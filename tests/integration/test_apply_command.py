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
def test_an_endpoint_that_keeps_failing_fails_no_change_and_writes_nothing_twice(
    deployment: Deployment, sample_org: Callable[[int], Path], endpoint: str, writes: int
) -> None:
    """Every call to one endpoint answered 500: an outage of the CRM, not of a record. More
    applies than TERRITORY_MAX_ATTEMPTS spend no attempt and fail nothing; each change waits in
    `due` with the error, an owner written before the notes failed is never written again, and
    once the outage ends one apply finishes every change with one note."""
    deployment.configure(max_attempts="2")
    installed = install(deployment, sample_org(100))
    due = {c.change_id for c in installed.due_changes()}
    installed.crm.inject(f"hubspot.{endpoint}:500=1")  # answered 500, never carried out

    for _ in range(3):
        deployment.territory("apply", expect=ExitCode.CRM_FAILED)

    waiting = [c for c in deployment.changes() if c.change_id in due]
    assert Counter(str(c.state) for c in waiting) == {ChangeState.DUE: len(due)}
    for change in waiting:
        assert change.attempts == 0
        assert change.error is not None
        assert change.error["class"] == "TransientError"
        assert change.error["status"] == 500
    assert set(installed.crm.owner_writes().values()) == ({writes} if writes else set())
    assert installed.crm.notes_by_marker() == {}

    installed.crm.inject("")  # the outage ends
    deployment.territory("apply")

    ended = [c for c in deployment.changes() if c.change_id in due]
    assert Counter(str(c.state) for c in ended) == {ChangeState.APPLIED: len(due)}
    assert set(installed.crm.owner_writes().values()) == {1}
    assert set(installed.crm.notes_by_marker().values()) == {1}
