"""Connector benchmark: full sync, incremental sync and owner writes against the sandbox.

The sandbox runs in its own process (`territory sandbox serve`) enforcing HubSpot's limits (the
rolling window may be scaled down with --window-seconds: the ratios are what count). Calls are
counted by the sandbox itself (`GET /stats`), not by the client.

Figures, per CRM:
- full sync: calls ÷ the batch minimum (ceil(N/100) list pages for HubSpot, ceil(N/2000) query
  pages for Salesforce); wall time ÷ the floor, where the floor is the larger of the rate-limit
  floor (the calls the window lets through, back to back) and the same sync with limits off,
  measured in the same run (best of three; a rate-bound HubSpot sync once, Salesforce's best
  of three too); 429s the sandbox served (each handled, or the sync would fail);
- incremental sync after 1% of companies change: its calls ÷ the full sync's;
- 10k owner changes: update calls ÷ ceil(N/100) (HubSpot) or ceil(N/200) (Salesforce).
"""

from __future__ import annotations

import math
import random
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from connectors.base import Connector, OwnerWrite
from connectors.budget import RateBudget, Window, hubspot_windows, salesforce_windows
from connectors.retry import RetryPolicy
from rules.loader import load_rules
from rules.schema import RuleFile
from tests.bench.sandbox_process import control, sandbox_process

HUBSPOT_PAGE = 100
HUBSPOT_BATCH = 100
SALESFORCE_PAGE = 2000
SALESFORCE_BATCH = 200
WRITES = 10_000


@dataclass(slots=True)
class SyncFigures:
    """One CRM's figures (see the module docstring)."""

    crm: str
    companies: int
    full_calls: int  # the live companies' pages
    archived_calls: int  # the separate archived pass
    full_minimum: int
    full_s: float
    unlimited_s: float
    rate_floor_s: float
    served_429: int
    incremental_changed: int
    incremental_found: int
    incremental_calls: int
    write_count: int
    write_calls: int
    write_minimum: int
    write_failed: int

    @property
    def floor_s(self) -> float:
        return max(self.rate_floor_s, self.unlimited_s)


def _requests(info: dict[str, str], prefix: str) -> dict[str, int]:
    stats = control(info, "GET", "/stats")
    return {k: v for k, v in stats["requests"].items() if k.startswith(prefix)}


def _delta(after: dict[str, int], before: dict[str, int], name: str | None = None) -> int:
    keys = [name] if name else set(after) | set(before)
    return sum(after.get(k, 0) - before.get(k, 0) for k in keys)


def _hubspot(info: dict[str, str], rule: RuleFile, windows: dict[str, Window]) -> Connector:
    from connectors.hubspot import HubSpotConfig, HubSpotConnector  # noqa: PLC0415

    config = HubSpotConfig(
        token=SecretStr(info["hubspot_token"]),
        base_url=info["hubspot_url"],
        retry=RetryPolicy(attempts=8, max_seconds=300),
    )
    return HubSpotConnector(config, rule=rule, budget=RateBudget(windows))


def _salesforce(info: dict[str, str], rule: RuleFile, windows: dict[str, Window]) -> Connector:
    from connectors.salesforce import SalesforceConfig, SalesforceConnector  # noqa: PLC0415

    config = SalesforceConfig(
        instance_url=info["salesforce_url"],
        session_id=SecretStr(info["salesforce_session_id"]),
        ca_bundle=Path(info["ca_cert"]),
    )
    return SalesforceConnector(
        config, rule=rule, budget=RateBudget(windows), retry=RetryPolicy(attempts=8)
    )


@dataclass(frozen=True, slots=True)
class Crm:
    """What differs between the CRMs in this benchmark."""

    name: str
    connect: Callable[[dict[str, str], RuleFile, dict[str, Window]], Connector]
    page: int
    batch: int
    update_endpoint: str

    def windows(self, limit: int, window_seconds: float) -> dict[str, Window]:
        if self.name == "hubspot":
            return hubspot_windows(limit, max(1, round(window_seconds)), 5)
        return salesforce_windows()


CRMS = {
    "hubspot": Crm(
        "hubspot", _hubspot, HUBSPOT_PAGE, HUBSPOT_BATCH, "hubspot.companies.batch_update"
    ),
    "salesforce": Crm(
        "salesforce", _salesforce, SALESFORCE_PAGE, SALESFORCE_BATCH, "salesforce.collections"
    ),
}


def _archived_pass(info: dict[str, str], connector: Connector, prefix: str) -> int:
    before = _requests(info, prefix)
    for _ in connector.iter_archived_company_ids():
        pass
    return _delta(_requests(info, prefix), before)


def _timed_count(run: Callable[[], int], repeats: int = 1) -> tuple[float, int]:
    """The best wall time of `repeats` runs (this machine is shared), and the count returned."""
    best, count = float("inf"), 0
    for _ in range(repeats):
        started = time.perf_counter()
        count = run()
        best = min(best, time.perf_counter() - started)
    return best, count


def measure(crm_name: str, data: Path, *, window_seconds: float) -> SyncFigures:
    """Full, incremental and write figures for one CRM on the org in `data`."""
    crm = CRMS[crm_name]
    prefix = f"{crm.name}."
    rule = load_rules((data / "rules.yaml").read_text(encoding="utf-8"), "rules.yaml").rule
    # A scaled-down window keeps HubSpot's rate (190 per 10 s), so the limit still binds.
    limit = max(1, round(190 * window_seconds / 10))
    with (
        tempfile.TemporaryDirectory() as tls,
        sandbox_process(
            data,
            Path(tls),
            "--limit-per-window",
            str(limit),
            "--window-seconds",
            str(window_seconds),
        ) as info,
    ):
        # Limits off: the floor the transport itself sets.
        control(info, "POST", "/limits", enforce=False)
        unlimited = crm.connect(info, rule, {"request": Window(1_000_000, 1)})
        # Best of three: a lower floor only makes the wall-time target harder.
        unlimited_s, companies = _timed_count(
            lambda: sum(1 for _ in unlimited.iter_companies()), repeats=3
        )
        # Limits on, as the CRM enforces them; the connector's budget keeps under them.
        control(info, "POST", "/limits", enforce=True)
        control(info, "POST", "/reset")
        connector = crm.connect(info, rule, crm.windows(limit, window_seconds))
        # A rate-bound HubSpot sync varies little; Salesforce's, bound by the transport, is
        # measured as often as its floor.
        repeats = 1 if crm.name == "hubspot" else 3
        before = _requests(info, prefix)
        full_s, seen = _timed_count(lambda: sum(1 for _ in connector.iter_companies()), repeats)
        after = _requests(info, prefix)
        assert seen == companies, f"limited sync saw {seen:,} of {companies:,} companies"
        full_calls = _delta(after, before) // repeats
        archived_calls = _archived_pass(info, connector, prefix)
        served_429 = control(info, "GET", "/stats")["rate_limited"]
        # HubSpot's rolling window lets `limit` calls through per window; Salesforce has none.
        rate_floor = (
            (math.ceil(full_calls / limit) - 1) * window_seconds if crm.name == "hubspot" else 0.0
        )
        changed, found, incremental_calls = _incremental(info, connector, companies, prefix)
        write_calls, failed = _writes(info, connector, crm)
    return SyncFigures(
        crm=crm.name,
        companies=companies,
        full_calls=full_calls,
        archived_calls=archived_calls,
        full_minimum=math.ceil(companies / crm.page),
        full_s=full_s,
        unlimited_s=unlimited_s,
        rate_floor_s=rate_floor,
        served_429=served_429,
        incremental_changed=changed,
        incremental_found=found,
        incremental_calls=incremental_calls,
        write_count=WRITES,
        write_calls=write_calls,
        write_minimum=math.ceil(WRITES / crm.batch),
        write_failed=failed,
    )


def _incremental(
    info: dict[str, str], connector: Connector, companies: int, prefix: str
) -> tuple[int, int, int]:
    """Edit 1% of companies through the control API, then sync incrementally."""
    ids = control(info, "GET", "/ids")["companies"]
    keys = sorted(ids)
    chosen = random.Random(5).sample(keys, max(1, companies // 100))
    cursor = datetime.now(UTC)
    time.sleep(0.01)
    for key in chosen:
        control(info, "POST", f"/companies/{key}/values", values={"name": f"Renamed {key}"})
    before = _requests(info, prefix)
    found = sum(1 for _ in connector.iter_companies(since=cursor))
    calls = _delta(_requests(info, prefix), before)
    return len(chosen), found, calls


def _writes(info: dict[str, str], connector: Connector, crm: Crm) -> tuple[int, int]:
    """Move 10k companies to another active owner in batches; count update calls."""
    ids: dict[str, Any] = control(info, "GET", "/ids")
    owners = [o for o in connector.iter_owners() if o.active]
    companies = [v[crm.name] for _, v in sorted(ids["companies"].items())][:WRITES]
    writes = [
        OwnerWrite(account, owners[i % len(owners)].id) for i, account in enumerate(companies)
    ]
    before = _requests(info, crm.name + ".")
    results = connector.write_owners(writes)
    calls = _delta(_requests(info, crm.name + "."), before, crm.update_endpoint)
    return calls, sum(1 for r in results if not r.ok)
