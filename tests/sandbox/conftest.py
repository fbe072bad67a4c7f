"""A tiny hand-written org, and the sandbox's apps called in-process (no sockets, no TLS).

These tests pin how the sandbox answers requests; the connector tests (tests/connectors/) run
it over real HTTP against the official clients.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from anyio.from_thread import BlockingPortal

from sandbox.gate import Limits
from sandbox.server import CONTROL_PATH, SandboxConfig, apps, build
from sandbox.state import Sandbox
from tests.sandbox.asgi import AsgiClient, asgi_portal

COMPANY_HEADER = (
    "id", "name", "domain", "owner_id", "industry", "employees", "annual_revenue", "country",
    "lifecycle", "parent_id", "last_activity_at", "signal_funding",
)  # fmt: skip
OWNERS = (
    ("50000001", "ana@example.com", "Ana", "Ng", "true"),
    ("50000002", "bo@example.com", "Bo", "Li", "true"),
    ("50000003", "cy@example.com", "Cy", "Oz", "false"),
)
COMPANIES = (
    ("1000000001", "Acme", "acme.example", "50000001", "COMPUTER_SOFTWARE", "120", "1500000",
     "Germany", "lead", "", "2026-11-02T10:00:00Z", "2026-10-01"),
    ("1000000002", "Bolt", "bolt.example", "50000002", "RETAIL", "40", "", "United States",
     "customer", "1000000001", "", ""),
    ("1000000003", "Cask", "cask.example", "50000003", "BANKING", "9000", "2.5e8", "FR", "lead",
     "", "", ""),
    ("1000000004", "Dune", "dune.example", "", "MACHINERY", "", "", "", "", "", "", ""),
)  # fmt: skip
ACTIVITIES = (
    ("1000000001", "50000001", "call", "2026-11-02T10:00:00Z", "Called about the renewal"),
    ("1000000002", "50000002", "meeting", "2026-10-15T09:30:00Z", ""),
)


def write_org(
    directory: Path,
    *,
    companies: Sequence[Sequence[str]] = COMPANIES,
    company_header: Sequence[str] = COMPANY_HEADER,
    owners: Sequence[Sequence[str]] = OWNERS,
    activities: Sequence[Sequence[str]] | None = ACTIVITIES,
) -> Path:
    """A CSV directory in the CSV source's canonical layout (rows as given, unchecked)."""
    directory.mkdir(parents=True, exist_ok=True)
    _write(directory / "companies.csv", company_header, companies)
    _write(directory / "owners.csv", ("id", "email", "first_name", "last_name", "active"), owners)
    if activities is not None:
        header = ("account_id", "owner_id", "type", "occurred_at", "body")
        _write(directory / "activities.csv", header, activities)
    return directory


def _write(path: Path, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


@pytest.fixture
def tiny_org(tmp_path: Path) -> Path:
    return write_org(tmp_path / "org")


@dataclass
class InProcess:
    """One sandbox's three APIs, each a client that sends the right credentials."""

    sandbox: Sandbox
    hubspot: AsgiClient
    salesforce: AsgiClient
    control: AsgiClient


def in_process(data: Path, portal: BlockingPortal, **settings: Any) -> InProcess:
    """A sandbox serving `data` (limits off unless given), called without sockets."""
    settings.setdefault("limits", Limits(enforce=False))
    sandbox = build(SandboxConfig(data=data, **settings))
    http_app, https_app = apps(sandbox)
    sandbox.hubspot_url, sandbox.salesforce_url = "http://sandbox", "https://sandbox"
    return InProcess(
        sandbox=sandbox,
        hubspot=AsgiClient(http_app, portal, _bearer(sandbox.hubspot_token)),
        salesforce=AsgiClient(https_app, portal, _bearer(sandbox.salesforce_session_id)),
        control=AsgiClient(http_app, portal, _bearer(sandbox.control_token), CONTROL_PATH),
    )


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="session")
def portal() -> Iterator[BlockingPortal]:
    with asgi_portal() as running:
        yield running


@pytest.fixture
def crm(tiny_org: Path, portal: BlockingPortal) -> InProcess:
    """The tiny org behind the sandbox's APIs, in-process, with limits off."""
    return in_process(tiny_org, portal)
