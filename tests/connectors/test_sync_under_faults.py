"""A HubSpot sync that keeps failing part-way still ends with every company stored once.

The connector's pages carry the token after them and the worker's sync stores each page with
it, so a page whose retries ran out is asked again from there, not from the first page. Here
the sandbox fails 30% of HubSpot requests with a 429 and 15% with a 503, and the connector
gives each request two tries only, so whole pages (and the owner and deletion passes) fail and
the sync must resume them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from pydantic import SecretStr

from connectors.base import CompanyPage, Connector
from connectors.errors import TransientError
from connectors.hubspot import HubSpotConfig, HubSpotConnector, RetryPolicy
from rules.domain import Account, Owner
from sandbox.server import RunningSandbox
from tests.connectors.conftest import SMALL_ORG, ci_limits, control
from tests.worker.fake_crm import FakeCrm
from worker.context import WorkerContext
from worker.ledger import open_ledger
from worker.ledger.migrations import upgrade
from worker.ledger.tables import mirror_companies
from worker.settings import Settings
from worker.sync import sync_mirror

FAULTS = "hubspot.*:429=0.3,503=0.15"


def ledger_context(tmp_path: Path, connector: Connector) -> WorkerContext:
    """A worker context on a fresh SQLite ledger whose every source is `connector`."""
    url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    ledger = open_ledger(url)
    upgrade(ledger)
    return WorkerContext(
        settings=Settings(database_url=SecretStr(url)),
        ledger=ledger,
        actor="tester@host",
        sleep=lambda _: None,
        connector_factory=lambda spec, rule: connector,
    )


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
    ctx = ledger_context(tmp_path, HubSpotConnector(config))
    result = sync_mirror(
        ctx, "hubspot", full=True, page_policy=RetryPolicy(first_wait=0, attempts=12)
    )
    assert result.page_retries > 0  # whole pages failed and were asked again from their token
    assert result.companies == SMALL_ORG["accounts"]  # no page stored twice
    with ctx.ledger.read() as connection:
        stored = connection.execute(sa.select(sa.func.count()).select_from(mirror_companies))
        assert stored.scalar_one() == SMALL_ORG["accounts"]
    served = control(running, "GET", "/stats")["faults_served"]
    assert isinstance(served, dict)
    assert {key.rsplit(":", 1)[1] for key in served} == {"429", "503"}


class EveryOtherPageFails(FakeCrm):
    """A CRM whose every second page request fails with a 503, however the read resumes."""

    requests: int = 0

    def iter_company_pages(
        self, *, since: datetime | None = None, resume: str | None = None
    ) -> Iterator[CompanyPage]:
        for page in super().iter_company_pages(since=since, resume=resume):
            self.requests += 1
            if self.requests % 2 == 0:
                raise TransientError("service unavailable", status=503)
            yield page


def test_the_retry_bound_is_per_stretch_without_progress_not_per_sync(tmp_path: Path) -> None:
    accounts = [Account(id=f"c{i:03d}", owner_id="o1") for i in range(60)]
    owners = [Owner("o1", "ana@example.com")]
    crm = EveryOtherPageFails.from_snapshot(accounts, owners, page_size=2)
    ctx = ledger_context(tmp_path, crm)
    # 30 pages, 29 failures: far more than the 3 tries the policy allows in a row.
    policy = RetryPolicy(attempts=3, first_wait=0)
    result = sync_mirror(ctx, "hubspot", full=True, page_policy=policy)
    assert result.page_retries == 29
    assert result.companies == 60
