"""Owner writes carry the territory fields: the first apply creates them in the CRM, and an
apply that cannot writes nothing and says which are missing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.integration.conftest import Deployment, install
from worker.console import ExitCode
from worker.ledger.states import ChangeState


def test_an_apply_that_cannot_create_the_territory_fields_writes_nothing_and_names_them(
    deployment: Deployment, sample_org: Callable[[int], Path]
) -> None:
    installed = install(deployment, sample_org(300))
    installed.crm.control("POST", "/scopes/crm.schemas.companies.write/revoke")

    refused = deployment.territory("apply", expect=ExitCode.CRM_FAILED)

    assert "the territory fields territory, rule_revision" in refused.stderr, refused.stderr
    assert "crm.schemas.companies.write" in refused.stderr
    assert installed.crm.owner_writes() == {}
    assert installed.crm.notes_by_marker() == {}
    assert deployment.states()[ChangeState.APPLYING] == 0
