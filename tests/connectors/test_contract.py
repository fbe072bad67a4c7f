"""One contract, every connector: the same org in gives the same domain objects out.

Each case serves the conftest's sample org through one connector (the CSV directory itself,
HubSpot via the sandbox, Salesforce via the sandbox) and maps its ids back to the CSV ids, so
the assertions compare against what the CSV source reads from the same files. Times compare at
day precision (Salesforce's LastActivityDate is a date).
"""

from __future__ import annotations

import csv
import shutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr

from connectors.base import Connector, Note, OwnerWrite, note_marker
from connectors.files.connector import CsvConnector
from connectors.files.csv_source import load_csv_directory
from connectors.hubspot import HubSpotConfig, HubSpotConnector, RetryPolicy
from connectors.snapshot import pull_snapshot
from rules.domain import Account, Snapshot
from rules.loader import load_rules
from rules.schema import RuleFile
from tests.connectors.conftest import control
from tests.connectors.salesforce_support import close_sessions, connector_for

CONNECTORS = ("csv", "hubspot", "salesforce")


@dataclass(slots=True)
class Case:
    """A connector over the sample org, with its ids mapped to and from the CSV's."""

    connector: Connector
    company_id: dict[str, str]  # CSV id -> connector id
    owner_id: dict[str, str]

    def back(self) -> tuple[dict[str, str], dict[str, str]]:
        return (
            {v: k for k, v in self.company_id.items()},
            {v: k for k, v in self.owner_id.items()},
        )


def _rule(org: Path) -> RuleFile:
    path = org / "rules.yaml"
    return load_rules(path.read_text(encoding="utf-8"), str(path)).rule


def _csv_case(org: Path, tmp_path: Path, _: pytest.FixtureRequest) -> Case:
    copy = tmp_path / "org"
    shutil.copytree(org, copy)
    reference = load_csv_directory(copy, _rule(copy)).snapshot
    return Case(
        connector=CsvConnector(copy, _rule(copy)),
        company_id={a.id: a.id for a in reference.accounts},
        owner_id={o.id: o.id for o in reference.owners},
    )


def _hubspot_case(org: Path, _: Path, request: pytest.FixtureRequest) -> Case:
    running = request.getfixturevalue("sandbox_factory")(data=org)
    ids = control(running, "GET", "/ids")
    config = HubSpotConfig(
        token=SecretStr(running.info.hubspot_token),
        base_url=running.info.hubspot_url,
        retry=RetryPolicy(first_wait=0),
    )
    return Case(
        connector=HubSpotConnector(config, rule=_rule(org)),
        company_id={k: v["hubspot"] for k, v in ids["companies"].items()},
        owner_id={k: v["hubspot"] for k, v in ids["owners"].items()},
    )


def _salesforce_case(org: Path, _: Path, request: pytest.FixtureRequest) -> Case:
    running = request.getfixturevalue("sandbox_factory")(data=org)
    request.addfinalizer(close_sessions)  # before the sandbox stops
    ids = control(running, "GET", "/ids")
    return Case(
        connector=connector_for(running, rule=_rule(org)),
        company_id={k: v["salesforce"] for k, v in ids["companies"].items()},
        owner_id={k: v["salesforce"] for k, v in ids["owners"].items()},
    )


BUILDERS: dict[str, Callable[..., Case]] = {
    "csv": _csv_case,
    "hubspot": _hubspot_case,
    "salesforce": _salesforce_case,
}


@pytest.fixture(params=CONNECTORS)
def case(request: pytest.FixtureRequest, sample_org: Path, tmp_path: Path) -> Case:
    return BUILDERS[request.param](sample_org, tmp_path, request)


@pytest.fixture(scope="module")
def reference(sample_org: Path) -> Snapshot:
    return load_csv_directory(sample_org, _rule(sample_org)).snapshot


def _canonical(account: Account, companies: dict[str, str], owners: dict[str, str]) -> Account:
    """`account` with CSV ids and its activity time at day precision."""
    at = account.last_activity_at
    return replace(
        account,
        id=companies[account.id],
        owner_id=owners.get(account.owner_id, account.owner_id) if account.owner_id else None,
        parent_id=companies.get(account.parent_id, account.parent_id)
        if account.parent_id
        else None,
        last_activity_at=None
        if at is None
        else datetime.combine(at.date(), datetime.min.time(), UTC),
        extra=None,
    )


def test_companies_are_the_csv_sources_companies(case: Case, reference: Snapshot) -> None:
    companies, owners = case.back()
    pulled = pull_snapshot(case.connector)
    got = sorted(
        (_canonical(a, companies, owners) for a in pulled.snapshot.accounts), key=lambda a: a.id
    )
    identity = {a.id: a.id for a in reference.accounts}
    expected = sorted((_canonical(a, identity, {}) for a in reference.accounts), key=lambda a: a.id)
    assert len(got) == len(expected)
    for mine, theirs in zip(got, expected, strict=True):
        assert mine == theirs


def test_owners_include_deactivated_ones(case: Case, reference: Snapshot) -> None:
    _, owners = case.back()
    got = {
        owners[o.id]: (o.email, o.active) for o in case.connector.iter_owners() if o.id in owners
    }
    expected = {o.id: (o.email, o.active) for o in reference.owners}
    assert got == expected
    assert any(not active for _, active in got.values())


def test_writes_read_back_and_fail_per_record(case: Case, reference: Snapshot) -> None:
    active = [o for o in reference.owners if o.active]
    targets = [a for a in reference.accounts if a.owner_id != active[0].id][:3]
    to = case.owner_id[active[0].id]
    writes = [
        OwnerWrite(case.company_id[targets[0].id], to),
        OwnerWrite(case.company_id[targets[1].id], "000000000000000"),  # no such owner
        OwnerWrite(case.company_id[targets[2].id], to),
    ]
    results = case.connector.write_owners(writes)
    assert [r.account_id for r in results] == [w.account_id for w in writes]
    assert [r.ok for r in results] == [True, False, True]
    assert results[1].error is not None
    current = case.connector.read_owners([w.account_id for w in writes])
    assert current[writes[0].account_id] == to
    assert current[writes[2].account_id] == to
    assert current[writes[1].account_id] == _owner_or_none(case, targets[1])


def _owner_or_none(case: Case, account: Account) -> str | None:
    return case.owner_id[account.owner_id] if account.owner_id else None


def test_notes_are_found_again_by_marker(case: Case, reference: Snapshot) -> None:
    account = case.company_id[reference.accounts[0].id]
    change_id = "0123456789abcdef01234567"
    note = Note(
        account_id=account,
        change_id=change_id,
        body=f"Owner changed by territory-sync. {note_marker(change_id)}",
        timestamp=datetime(2027, 1, 4, 9, 0, tzinfo=UTC),
    )
    assert case.connector.find_notes([account], [note.marker]) == {}
    [posted] = case.connector.post_notes([note])
    assert posted.ok, posted.error
    found = case.connector.find_notes([account], [note.marker, note_marker("f" * 24)])
    assert list(found) == [note.marker]


def test_fields_are_there_or_named(case: Case) -> None:
    check = case.connector.ensure_fields()
    assert check.ok, check.detail


def test_owner_activity_matches_the_csv_at_day_precision(case: Case, reference: Snapshot) -> None:
    companies, owners = case.back()
    got = {
        (companies[a], owners[o]): at.date()
        for a, o, at in case.connector.iter_owner_activity()
        if a in companies and o in owners
    }
    expected = {key: at.date() for key, at in reference.owner_activity.items()}
    assert got == expected


@pytest.fixture
def org_with_our_notes(sample_org: Path, tmp_path: Path, reference: Snapshot) -> Path:
    """The sample org plus activities of every type carrying our note marker, each later
    than anything else on its account: had any counted, it would be the latest touch."""
    org = tmp_path / "marked"
    shutil.copytree(sample_org, org)
    path = org / "activities.csv"
    rows = list(csv.reader(path.read_text(encoding="utf-8").splitlines()))
    rows[0].append("body")
    for row in rows[1:]:
        row.append("")
    account = reference.accounts[0]
    owner = next(o.id for o in reference.owners if o.active)
    ours = f"Owner changed by territory-sync. {note_marker('cd' * 12)}"
    for day, kind in enumerate(("call", "email", "meeting", "task"), start=1):
        rows.append([account.id, owner, kind, f"2027-09-0{day}T10:00:00Z", ours])
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return org


@pytest.mark.parametrize("kind", CONNECTORS)
def test_our_own_notes_are_never_activity(
    kind: str, org_with_our_notes: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    case = BUILDERS[kind](org_with_our_notes, tmp_path, request)
    marked = load_csv_directory(org_with_our_notes, _rule(org_with_our_notes)).snapshot
    unmarked = request.getfixturevalue("reference")
    # The CSV source drops the marked rows too: the marked org reads as the plain one.
    assert marked.owner_activity == unmarked.owner_activity
    companies, owners = case.back()
    got = {
        (companies[a], owners[o]): at.date()
        for a, o, at in case.connector.iter_owner_activity()
        if a in companies and o in owners
    }
    assert got == {key: at.date() for key, at in unmarked.owner_activity.items()}
