"""One contract, every connector: the same org in gives the same domain objects out, and every
write answers with one outcome per input.

Each case serves the conftest's sample org through one connector (the CSV directory itself,
HubSpot via the sandbox, Salesforce via the sandbox) and maps its ids back to the CSV ids, so
the assertions compare against what the CSV source reads from the same files. Times compare at
day precision (Salesforce's LastActivityDate is a date).

Writes go in batches of two, so a fault can hit exactly the second batch: the sandbox's
`skip`/`times` faults on the CRMs, a file that cannot be written on the CSV directory. Company
reads come in pages (100 companies on the CRMs, the whole file on the CSV directory), so a
fault can stop a read on the page after the first.
"""

from __future__ import annotations

import csv
import shutil
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import SecretStr

from connectors.base import (
    CompanyPage,
    Connector,
    Note,
    OwnerWrite,
    WriteOutcome,
    WriteResult,
    accounts_in,
    note_marker,
)
from connectors.errors import ConnectorError, TerminalError, TransientError
from connectors.files import connector as csv_files
from connectors.files.connector import CsvConnector
from connectors.files.csv_source import load_csv_directory
from connectors.hubspot import HubSpotConfig, HubSpotConnector, RetryPolicy
from connectors.snapshot import pull_snapshot
from rules.domain import Account, Snapshot
from rules.loader import load_rules
from rules.schema import RuleFile
from sandbox.server import RunningSandbox
from tests.connectors.conftest import control
from tests.connectors.salesforce_support import close_sessions, connector_for

CONNECTORS = ("csv", "hubspot", "salesforce")
CRMS = ("hubspot", "salesforce")
WRITE_BATCH = 2
PAGE = 100  # companies per page on the CRMs (HubSpot's listing size; Salesforce set to it)
# Every sample company was last modified after this: an incremental read from here reads all.
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)
Target = Literal["owners", "notes"]
Fault = Literal["refuse", "server_error", "drop"]
# Each fault hits the second batch's call: a 401 once, a 503 on it and every retry, or the
# connection cut once the write was applied.
CRM_FAULTS: dict[Fault, str] = {
    "refuse": "times=1,401=1",
    "server_error": "503=1",
    "drop": "times=1,drop_after_write=1",
}

APPLIED, FAILED, UNKNOWN, NOT_SENT = (
    WriteOutcome.APPLIED,
    WriteOutcome.FAILED,
    WriteOutcome.UNKNOWN,
    WriteOutcome.NOT_SENT,
)


@dataclass(slots=True)
class Case:
    """A connector over the sample org, with its ids mapped to and from the CSV's, a way to
    break the second write call of owners or notes, a way to stop a company read on a given
    page, the CRM account it should name, and a way to lock companies as a person would."""

    kind: str
    connector: Connector
    company_id: dict[str, str]  # CSV id -> connector id
    owner_id: dict[str, str]
    inject: Callable[[Target, Fault], None]
    break_page: Callable[[int, bool], None]  # (page number from 1, incremental)
    account: str
    lock: Callable[[list[str]], None]  # CSV ids
    running: RunningSandbox | None = None

    def back(self) -> tuple[dict[str, str], dict[str, str]]:
        return (
            {v: k for k, v in self.company_id.items()},
            {v: k for k, v in self.owner_id.items()},
        )


def _crm_faults(running: RunningSandbox, endpoints: dict[Target, tuple[str, int]]) -> Any:
    """Inject a fault on the second write call: `endpoints` names each target's endpoint and
    the requests one batch of it takes."""

    def inject(target: Target, fault: Fault) -> None:
        endpoint, requests_per_batch = endpoints[target]
        spec = f"{endpoint}:skip={requests_per_batch},{CRM_FAULTS[fault]}"
        control(running, "POST", "/faults", spec=spec)

    return inject


def _crm_page_fault(running: RunningSandbox, full: str, incremental: str) -> Any:
    """Refuse (401, once) the request for page `number` of a full or incremental read."""

    def break_page(number: int, is_incremental: bool) -> None:
        endpoint = incremental if is_incremental else full
        control(running, "POST", "/faults", spec=f"{endpoint}:skip={number - 1},times=1,401=1")

    return break_page


def _crm_lock(running: RunningSandbox) -> Any:
    def lock(csv_ids: list[str]) -> None:
        for csv_id in csv_ids:
            control(running, "POST", f"/companies/{csv_id}/lock", locked=True)

    return lock


def _csv_page_fault(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The directory's one page fails once (as a read of a file being replaced might)."""

    def break_page(number: int, is_incremental: bool) -> None:
        del is_incremental
        assert number == 1, "a CSV directory is one page"
        load = csv_files.load_csv_directory
        calls = []

        def fails_once(directory: Path, rule: RuleFile | None) -> Any:
            calls.append(directory)
            if len(calls) == 1:
                raise TransientError("companies.csv is being replaced", code="FILE")
            return load(directory, rule)

        monkeypatch.setattr(csv_files, "load_csv_directory", fails_once)

    return break_page


def _csv_lock(directory: Path) -> Any:
    """Add a `territory_lock` column, true for `csv_ids` and false, no or empty elsewhere."""

    def lock(csv_ids: list[str]) -> None:
        path = directory / "companies.csv"
        rows = list(csv.reader(path.read_text(encoding="utf-8").splitlines()))
        rows[0].append("territory_lock")
        unlocked = ("false", "no", "")
        for number, row in enumerate(rows[1:]):
            row.append("true" if row[0] in csv_ids else unlocked[number % 3])
        with path.open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows(rows)

    return lock


def _csv_faults(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The CSV directory's second write of companies.csv or notes.csv is refused."""

    def inject(target: Target, fault: Fault) -> None:
        assert fault == "refuse", "a CSV directory has no connection to lose"
        name = "_replace" if target == "owners" else "_append"
        write = getattr(csv_files, name)
        calls = []

        def second_refused(path: Path, rows: list[list[str]]) -> None:
            calls.append(path)
            if len(calls) == 2:
                raise PermissionError(13, "Permission denied", str(path))
            write(path, rows)

        monkeypatch.setattr(csv_files, name, second_refused)

    return inject


def _rule(org: Path) -> RuleFile:
    path = org / "rules.yaml"
    return load_rules(path.read_text(encoding="utf-8"), str(path)).rule


def _csv_case(org: Path, tmp_path: Path, request: pytest.FixtureRequest) -> Case:
    copy = tmp_path / "org"
    shutil.copytree(org, copy)
    reference = load_csv_directory(copy, _rule(copy)).snapshot
    monkeypatch = request.getfixturevalue("monkeypatch")
    return Case(
        kind="csv",
        connector=CsvConnector(copy, _rule(copy), write_batch_size=WRITE_BATCH),
        company_id={a.id: a.id for a in reference.accounts},
        owner_id={o.id: o.id for o in reference.owners},
        inject=_csv_faults(monkeypatch),
        break_page=_csv_page_fault(monkeypatch),
        account=str(copy.resolve()),
        lock=_csv_lock(copy),
    )


def _hubspot_case(org: Path, _: Path, request: pytest.FixtureRequest) -> Case:
    running = request.getfixturevalue("sandbox_factory")(data=org)
    ids = control(running, "GET", "/ids")
    config = HubSpotConfig(
        token=SecretStr(running.info.hubspot_token),
        base_url=running.info.hubspot_url,
        retry=RetryPolicy(first_wait=0),
        write_batch_size=WRITE_BATCH,
    )
    endpoints: dict[Target, tuple[str, int]] = {
        "owners": ("hubspot.companies.batch_update", 1),
        "notes": ("hubspot.notes.batch_create", 1),
    }
    return Case(
        kind="hubspot",
        connector=HubSpotConnector(config, rule=_rule(org)),
        company_id={k: v["hubspot"] for k, v in ids["companies"].items()},
        owner_id={k: v["hubspot"] for k, v in ids["owners"].items()},
        inject=_crm_faults(running, endpoints),
        break_page=_crm_page_fault(running, "hubspot.companies.list", "hubspot.companies.search"),
        account=str(running.sandbox.portal_id),
        lock=_crm_lock(running),
        running=running,
    )


def _salesforce_case(org: Path, _: Path, request: pytest.FixtureRequest) -> Case:
    running = request.getfixturevalue("sandbox_factory")(data=org)
    request.addfinalizer(close_sessions)  # before the sandbox stops
    ids = control(running, "GET", "/ids")
    # A batch of notes is a call pair: the ContentNotes, then their ContentDocumentLinks.
    endpoints: dict[Target, tuple[str, int]] = {
        "owners": ("salesforce.collections", 1),
        "notes": ("salesforce.collections.create", 2),
    }
    return Case(
        kind="salesforce",
        connector=connector_for(
            running, rule=_rule(org), write_batch_size=WRITE_BATCH, page_size=PAGE
        ),
        company_id={k: v["salesforce"] for k, v in ids["companies"].items()},
        owner_id={k: v["salesforce"] for k, v in ids["owners"].items()},
        inject=_crm_faults(running, endpoints),
        break_page=_crm_page_fault(running, "salesforce.query", "salesforce.query"),
        account=running.sandbox.salesforce_org_id,
        lock=_crm_lock(running),
        running=running,
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


def test_the_account_id_names_the_crm_account(case: Case) -> None:
    assert case.connector.account_id() == case.account


@pytest.mark.parametrize("incremental", [False, True], ids=["full", "incremental"])
def test_a_read_stopped_on_a_page_resumes_after_the_last_page_and_reads_every_company_once(
    case: Case, reference: Snapshot, incremental: bool
) -> None:
    since = LONG_AGO if incremental else None
    stopped_on = 1 if case.kind == "csv" else 2  # a CSV directory is one page
    case.break_page(stopped_on, incremental)
    read: list[Account] = []
    pages, resume, stopped = _read_pages(case.connector.iter_company_pages(since=since), read)
    assert stopped is not None
    assert pages == stopped_on - 1
    pages, last, stopped = _read_pages(
        case.connector.iter_company_pages(since=since, resume=resume), read
    )
    assert stopped is None
    assert pages >= 1
    assert last is None
    companies, _ = case.back()
    ids = [companies[a.id] for a in read]
    assert len(ids) == len(set(ids))
    assert set(ids) == {a.id for a in reference.accounts}


def _read_pages(
    pages: Iterator[CompanyPage], read: list[Account]
) -> tuple[int, str | None, ConnectorError | None]:
    """Read `pages` into `read` until they end or fail: (pages read, the last one's token,
    the error that stopped them)."""
    count, resume = 0, None
    try:
        for page in pages:
            read += page.accounts
            resume = page.resume
            count += 1
    except ConnectorError as error:
        return count, resume, error
    return count, resume, None


def test_the_companies_read_in_pages_are_the_companies_read_whole(case: Case) -> None:
    pages = list(case.connector.iter_company_pages())
    whole = list(case.connector.iter_companies())
    assert [a.id for a in accounts_in(pages)] == [a.id for a in whole]
    assert [p.resume is None for p in pages] == [False] * (len(pages) - 1) + [True]


def test_the_territory_lock_reads_as_a_locked_account(case: Case, reference: Snapshot) -> None:
    locked = [a.id for a in reference.accounts[3:5]]
    case.lock(locked)
    companies, _ = case.back()
    assert sorted(companies[a.id] for a in case.connector.iter_companies() if a.locked) == locked


def _served(case: Case) -> Counter[str]:
    """Requests the sandbox served so far, per endpoint (none for a CSV directory)."""
    if case.running is None:
        return Counter()
    return Counter(control(case.running, "GET", "/stats")["requests"])  # type: ignore[arg-type]  # control answers JSON


def test_the_owner_read_before_a_write_carries_the_lock_in_the_same_calls(
    case: Case, reference: Snapshot
) -> None:
    locked = [a.id for a in reference.accounts[3:5]]
    case.lock(locked)  # set in the CRM after any sync: only the owner read can see it
    accounts = [case.company_id[a.id] for a in reference.accounts[:20]]
    case.connector.ensure_fields(create=False)  # as write-back does before its first read
    before = _served(case)
    states = case.connector.read_owner_states(accounts)
    between = _served(case)
    owners = case.connector.read_owners(accounts)
    after = _served(case)
    assert between - before == after - between, "the lock cost no call of its own"
    assert (between - before).total() == (0 if case.running is None else 1)
    assert {a: s.owner_id for a, s in states.items()} == owners
    companies, _ = case.back()
    assert sorted(companies[a] for a, s in states.items() if s.locked) == locked


def test_a_write_to_no_owner_clears_it_where_the_crm_allows_it(
    case: Case, reference: Snapshot
) -> None:
    owned = next(a for a in reference.accounts if a.owner_id)
    account = case.company_id[owned.id]
    [result] = case.connector.write_owners([OwnerWrite(account, None)])
    assert case.connector.clears_owner is (case.kind != "salesforce")
    if case.connector.clears_owner:
        assert result.ok, result.error
        assert case.connector.read_owners([account]) == {account: None}
    else:
        assert (result.outcome, result.attempts) == (FAILED, 0)
        assert result.error is not None
        assert result.error.code == "HOLDING_OWNER_REQUIRED"
        assert case.connector.read_owners([account]) == {account: case.owner_id[owned.owner_id]}


def test_owners_include_deactivated_ones(case: Case, reference: Snapshot) -> None:
    _, owners = case.back()
    got = {
        owners[o.id]: (o.email, o.active) for o in case.connector.iter_owners() if o.id in owners
    }
    expected = {o.id: (o.email, o.active) for o in reference.owners}
    assert got == expected
    assert any(not active for _, active in got.values())


@dataclass(frozen=True, slots=True)
class Moves:
    """Six accounts to move to one active owner, in the connector's ids."""

    writes: list[OwnerWrite]
    before: list[str | None]  # each account's owner now
    to: str

    @classmethod
    def of(cls, case: Case, reference: Snapshot) -> Moves:
        owner = next(o for o in reference.owners if o.active)
        accounts = [a for a in reference.accounts if a.owner_id != owner.id][:6]
        to = case.owner_id[owner.id]
        return cls(
            writes=[OwnerWrite(case.company_id[a.id], to) for a in accounts],
            before=[_owner_or_none(case, a) for a in accounts],
            to=to,
        )

    def owners_now(self, connector: Connector) -> list[str | None]:
        current = connector.read_owners([w.account_id for w in self.writes])
        return [current[w.account_id] for w in self.writes]

    def expected(self, moved: list[bool]) -> list[str | None]:
        return [self.to if m else b for m, b in zip(moved, self.before, strict=True)]


def _owner_or_none(case: Case, account: Account) -> str | None:
    return case.owner_id[account.owner_id] if account.owner_id else None


def _outcomes(results: list[WriteResult] | tuple[WriteResult, ...]) -> list[WriteOutcome]:
    return [r.outcome for r in results]


def test_a_refused_record_in_the_second_batch_fails_alone(case: Case, reference: Snapshot) -> None:
    moves = Moves.of(case, reference)
    writes = list(moves.writes)
    writes[3] = OwnerWrite(writes[3].account_id, "000000000000000")  # no such owner
    results = case.connector.write_owners(writes)
    assert [r.account_id for r in results] == [w.account_id for w in writes]
    assert _outcomes(results) == [APPLIED, APPLIED, APPLIED, FAILED, APPLIED, APPLIED]
    assert results[3].error is not None
    assert all(r.attempts >= 1 for r in results)
    assert moves.owners_now(case.connector) == moves.expected([True] * 3 + [False] + [True] * 2)


def test_a_refusal_on_the_second_batch_stops_the_run_with_every_outcome(
    case: Case, reference: Snapshot
) -> None:
    moves = Moves.of(case, reference)
    case.inject("owners", "refuse")
    with pytest.raises(TerminalError) as stopped:
        case.connector.write_owners(moves.writes)
    results = stopped.value.results
    assert [r.account_id for r in results] == [w.account_id for w in moves.writes]
    assert _outcomes(results) == [APPLIED, APPLIED, FAILED, FAILED, NOT_SENT, NOT_SENT]
    assert [r.attempts for r in results] == [1, 1, 1, 1, 0, 0]
    assert all(r.error is stopped.value for r in results[2:4])
    assert moves.owners_now(case.connector) == moves.expected([True, True] + [False] * 4)


def _second_batch_lost(
    kind: str, fault: Fault, request: pytest.FixtureRequest
) -> tuple[Case, Moves, tuple[WriteResult, ...]]:
    """Six moves through `kind` with `fault` on the second batch: the run stops there, with
    that batch unknown (the request went out) and the last one never sent."""
    case = BUILDERS[kind](
        request.getfixturevalue("sample_org"), request.getfixturevalue("tmp_path"), request
    )
    moves = Moves.of(case, request.getfixturevalue("reference"))
    case.inject("owners", fault)
    with pytest.raises(TransientError) as stopped:
        case.connector.write_owners(moves.writes)
    results = stopped.value.results
    assert _outcomes(results) == [APPLIED, APPLIED, UNKNOWN, UNKNOWN, NOT_SENT, NOT_SENT]
    return case, moves, results


@pytest.mark.parametrize("kind", CRMS)
def test_a_server_error_past_the_retries_leaves_the_second_batch_unknown_until_read_back(
    kind: str, request: pytest.FixtureRequest
) -> None:
    case, moves, results = _second_batch_lost(kind, "server_error", request)
    assert results[2].attempts == results[3].attempts > 1  # retried, then given up
    # Read back: the server failed before writing, so nothing of that batch landed.
    assert moves.owners_now(case.connector) == moves.expected([True, True] + [False] * 4)


@pytest.mark.parametrize("kind", CRMS)
def test_a_write_whose_answer_was_lost_is_unknown_and_read_back_shows_it_landed(
    kind: str, request: pytest.FixtureRequest
) -> None:
    case, moves, results = _second_batch_lost(kind, "drop", request)
    assert [r.attempts for r in results] == [1, 1, 1, 1, 0, 0]  # an update is not resent blindly
    assert moves.owners_now(case.connector) == moves.expected([True] * 4 + [False] * 2)
    assert case.running is not None
    companies, _ = case.back()
    written = control(case.running, "GET", "/stats")["owner_writes"]
    assert written == {companies[w.account_id]: 1 for w in moves.writes[:4]}


def test_notes_refused_on_the_second_batch_stop_the_run_and_only_the_first_exist(
    case: Case, reference: Snapshot
) -> None:
    accounts = [case.company_id[a.id] for a in reference.accounts[:6]]
    notes = [
        Note(a, f"{i:024x}", f"Owner changed. {note_marker(f'{i:024x}')}", datetime.now(UTC))
        for i, a in enumerate(accounts)
    ]
    case.inject("notes", "refuse")
    with pytest.raises(TerminalError) as stopped:
        case.connector.post_notes(notes)
    results = stopped.value.results
    batch = WRITE_BATCH
    assert [r.account_id for r in results] == accounts
    assert _outcomes(results) == [APPLIED] * batch + [FAILED] * batch + [NOT_SENT] * (6 - 2 * batch)
    assert all(r.record_id for r in results[:batch])
    found = case.connector.find_notes(accounts, [n.marker for n in notes])
    assert set(found) == {n.marker for n in notes[:batch]}


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
