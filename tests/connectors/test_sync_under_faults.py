"""A HubSpot sync that keeps failing part-way still ends with every company stored once.

The connector's pages carry the token after them and the worker's sync stores each page with
it, so a page whose retries ran out is asked again from there, not from the first page. Here
the sandbox fails 30% of HubSpot requests with a 429 and 15% with a 503, and the connector
gives each request two tries only, so whole pages (and the owner and deletion passes) fail and
the sync must resume them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from pydantic import SecretStr

from connectors.hubspot import HubSpotConfig, HubSpotConnector, RetryPolicy
from sandbox.server import RunningSandbox
from tests.connectors.conftest import SMALL_ORG, ci_limits, control
from worker.context import WorkerContext
from worker.ledger import open_ledger
from worker.ledger.migrations import upgrade
from worker.ledger.tables import mirror_companies
from worker.settings import Settings
from worker.sync import sync_mirror

FAULTS = "hubspot.*:429=0.3,503=0.15"


def test_a_sync_under_429s_and_5xx_resumes_failed_pages_and_stores_every_company_once(
    sandbox_factory: Callable[..., RunningSandbox], tmp_path: Path
) -> None:
    # A 429 holds the budget for the window HubSpot names: a short one keeps the test quick.
    running = sandbox_factory(faults=FAULTS, seed=1, limits=ci_limits(window_seconds=0.05))
    config = HubSpotConfig(
        token=SecretStr(running.info.hubspot_token),
        base_url=running.info.hubspot_url,
        retry=RetryPolicy(attempts=2, first_wait=0),
    )
    url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    ledger = open_ledger(url)
    upgrade(ledger)
    ctx = WorkerContext(
        settings=Settings(database_url=SecretStr(url)),
        ledger=ledger,
        actor="tester@host",
        connector_factory=lambda spec, rule: HubSpotConnector(config, rule=rule),
    )
    result = sync_mirror(
        ctx, "hubspot", full=True, page_policy=RetryPolicy(first_wait=0, attempts=12)
    )
    assert result.page_retries > 0  # whole pages failed and were asked again from their token
    assert result.companies == SMALL_ORG["accounts"]  # no page stored twice
    with ledger.read() as connection:
        stored = connection.execute(sa.select(sa.func.count()).select_from(mirror_companies))
        assert stored.scalar_one() == SMALL_ORG["accounts"]
    served = control(running, "GET", "/stats")["faults_served"]
    assert isinstance(served, dict)
    assert {key.rsplit(":", 1)[1] for key in served} == {"429", "503"}
