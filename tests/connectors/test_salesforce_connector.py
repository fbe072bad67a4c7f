"""The Salesforce connector against the sandbox over HTTPS: what it reads equals what the CSV
source reads from the same files, and it writes, pages, stops and re-authenticates as designed."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connectors.base import Note, OwnerWrite, WriteOutcome, note_marker
from connectors.budget import RateBudget, salesforce_windows
from connectors.errors import BudgetExhaustedError, ConflictError, TerminalError, TransientError
from connectors.files.csv_source import load_csv_directory
from connectors.salesforce import SalesforceConfig, SalesforceConnector
from rules.domain import Account
from sandbox.sample import write_sample
from sandbox.server import RunningSandbox
from tests.connectors.conftest import ci_limits, control
from tests.connectors.salesforce_support import (
    LOGIN_SETTINGS,
    LOGIN_URL,
    SoapLoginAdapter,
    close_sessions,
    connector_for,
    rule_of,
    sandbox_ids,
    stats,
    tracked_session,
)


@pytest.fixture(autouse=True)
def _sessions_closed(sandbox_factory: Callable[..., RunningSandbox]) -> Iterator[None]:
    """Close client sessions before the sandboxes stop (set up after them, torn down before)."""
    yield
    close_sessions()


@pytest.fixture
def connector(sandbox: RunningSandbox, sample_org: Path) -> SalesforceConnector:
    return connector_for(sandbox, rule=rule_of(sample_org))


def id_maps(running: RunningSandbox) -> tuple[dict[str, str], dict[str, str]]:
    """Salesforce id -> CSV id, for companies and for owners."""
    ids = sandbox_ids(running)
    companies = {v["salesforce"]: k for k, v in ids["companies"].items()}
    owners = {v["salesforce"]: k for k, v in ids["owners"].items()}
    return companies, owners


def to_csv_view(account: Account, companies: dict[str, str], owners: dict[str, str]) -> Account:
    """`account` with CSV ids and its activity at day precision (LastActivityDate is a date)."""
    at = account.last_activity_at
    return replace(
        account,
        id=companies.get(account.id, account.id),
        owner_id=owners.get(account.owner_id, account.owner_id) if account.owner_id else None,
        parent_id=companies.get(account.parent_id, account.parent_id)
        if account.parent_id
        else None,
        last_activity_at=datetime.combine(at.date(), datetime.min.time(), UTC) if at else None,
    )


# ---- reads --------------------------------------------------------------------------------------


def test_full_sync_equals_the_csv_sources_view_of_the_same_org(
    sandbox: RunningSandbox, connector: SalesforceConnector, sample_org: Path
) -> None:
    reference = load_csv_directory(sample_org, rule_of(sample_org)).snapshot
    companies, owners = id_maps(sandbox)
    got = sorted(
        (to_csv_view(a, companies, owners) for a in connector.iter_companies()), key=lambda a: a.id
    )
    expected = sorted((to_csv_view(a, {}, {}) for a in reference.accounts), key=lambda a: a.id)
    assert got == expected
    got_owners = {owners[o.id]: replace(o, id=owners[o.id]) for o in connector.iter_owners()}
    assert got_owners == {o.id: o for o in reference.owners}
    activity = {(companies[a], owners[o]): at for a, o, at in connector.iter_owner_activity()}
    assert activity == reference.owner_activity


def test_owner_activity_for_some_accounts_reads_only_theirs(
    sandbox: RunningSandbox, connector: SalesforceConnector
) -> None:
    every = list(connector.iter_owner_activity())
    some = sorted({a for a, _, _ in every})[:3]
    assert list(connector.iter_owner_activity(some)) == [t for t in every if t[0] in some]


@pytest.fixture(scope="module")
def large_org(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """More accounts than one query page: a Salesforce-flavoured sample (its ids are 001…)."""
    out = tmp_path_factory.mktemp("large") / "org"
    write_sample(out, accounts=2500, reps=6, seed=3, flavour="salesforce")
    return out


def test_pages_of_2000_are_keyset_queries_that_never_need_a_query_locator(
    sandbox_factory: Callable[..., RunningSandbox], large_org: Path
) -> None:
    running = sandbox_factory(data=large_org)
    reference = load_csv_directory(large_org, rule_of(large_org)).snapshot
    pages = list(connector_for(running, rule=rule_of(large_org)).iter_company_pages())
    pulled = [a for page in pages for a in page.accounts]
    assert [len(page.accounts) for page in pages] == [2000, 500]
    assert [page.resume for page in pages] == [pages[0].accounts[-1].id, None]
    assert len(pulled) == len({a.id for a in pulled}) == 2500
    got = sorted((to_csv_view(a, {}, {}) for a in pulled), key=lambda a: a.id)
    assert got == sorted((to_csv_view(a, {}, {}) for a in reference.accounts), key=lambda a: a.id)
    assert stats(running)["salesforce.query"] == 2
    assert "salesforce.query_more" not in stats(running)


def test_an_incremental_read_resumes_after_the_modstamp_and_id_of_its_last_page(
    sandbox_factory: Callable[..., RunningSandbox], sample_org: Path
) -> None:
    running = sandbox_factory()
    connector = connector_for(running, rule=rule_of(sample_org), page_size=40)
    # Every loaded account shares one SystemModstamp: only the Id orders them.
    since = datetime(2026, 1, 1, tzinfo=UTC)
    pages = list(connector.iter_company_pages(since=since))
    assert len(pages) == 8  # 300 accounts: seven of 40, then 20
    third = pages[2].resume
    assert third is not None
    resumed = list(connector.iter_company_pages(since=since, resume=third))
    assert [a.id for p in resumed for a in p.accounts] == [
        a.id for p in pages[3:] for a in p.accounts
    ]


def test_a_resume_token_from_elsewhere_is_refused(
    sandbox: RunningSandbox, connector: SalesforceConnector
) -> None:
    with pytest.raises(TerminalError) as refused:
        list(connector.iter_company_pages(since=datetime.now(UTC), resume="1000000001"))
    assert refused.value.code == "RESUME"
    with pytest.raises(TerminalError) as malformed:
        list(connector.iter_company_pages(resume="x' OR Name != '"))
    assert malformed.value.code == "MALFORMED_ID"


def test_incremental_reads_edits_since_the_cursor_minus_the_look_back(
    sandbox: RunningSandbox, sample_org: Path
) -> None:
    edited = sorted(sandbox_ids(sandbox)["companies"])[:2]
    for csv_id in edited:
        control(sandbox, "POST", f"/companies/{csv_id}/values", values={"employees": "4242"})
    cursor = datetime.now(UTC) + timedelta(seconds=1)  # just after the edits
    companies, _ = id_maps(sandbox)
    with_look_back = connector_for(sandbox, rule=rule_of(sample_org))
    assert sorted(companies[a.id] for a in with_look_back.iter_companies(since=cursor)) == edited
    assert all(a.employees == 4242 for a in with_look_back.iter_companies(since=cursor))
    without = connector_for(sandbox, rule=rule_of(sample_org), look_back=timedelta(0))
    assert list(without.iter_companies(since=cursor)) == []


def test_deleted_accounts_come_from_query_all_and_leave_the_live_set(
    sandbox: RunningSandbox, connector: SalesforceConnector
) -> None:
    csv_id, ids = next(iter(sandbox_ids(sandbox)["companies"].items()))
    control(sandbox, "POST", f"/companies/{csv_id}/archive")
    assert list(connector.iter_archived_company_ids()) == [ids["salesforce"]]
    assert ids["salesforce"] not in {a.id for a in connector.iter_companies()}


def test_a_deactivated_user_is_still_an_owner_but_inactive(
    sandbox: RunningSandbox, connector: SalesforceConnector
) -> None:
    csv_id, ids = next((k, v) for k, v in sandbox_ids(sandbox)["owners"].items() if k != "50000001")
    before = {o.id: o.active for o in connector.iter_owners()}
    control(sandbox, "POST", f"/owners/{csv_id}/deactivate")
    after = {o.id: o.active for o in connector.iter_owners()}
    assert before[ids["salesforce"]] is True
    assert after == {**before, ids["salesforce"]: False}


# ---- writes -------------------------------------------------------------------------------------


def test_writes_answer_per_record_in_input_order_across_batches(
    sandbox_factory: Callable[..., RunningSandbox], sample_org: Path
) -> None:
    running = sandbox_factory(faults="salesforce.collections:partial=0.2", seed=7)
    connector = connector_for(running, rule=rule_of(sample_org))
    accounts = [a.id for a in connector.iter_companies()]
    target = next(o.id for o in connector.iter_owners() if o.active)
    writes = [OwnerWrite(a, target, {"territory": "EMEA", "lock": "false"}) for a in accounts]
    writes[5] = OwnerWrite(accounts[5], "005000000000000AAA")  # no such user
    writes[250] = OwnerWrite(accounts[250], target, {"lock": "maybe"})  # refused before sending
    results = connector.write_owners(writes)
    assert [r.account_id for r in results] == accounts
    assert stats(running)["salesforce.collections"] == 2  # 299 records sent: 200 + 99
    codes = {i: r.error.code for i, r in enumerate(results) if r.error and i in {5, 250}}
    assert codes == {5: "INVALID_CROSS_REFERENCE_KEY", 250: "INVALID_FIELD_VALUE"}
    locked = [r for i, r in enumerate(results) if not r.ok and i not in {5, 250}]
    assert locked
    assert all(
        isinstance(r.error, TransientError) and r.error.code == "UNABLE_TO_LOCK_ROW" for r in locked
    )
    owners = connector.read_owners(accounts)
    assert all(owners[r.account_id] == target for r in results if r.ok)


def test_the_reconciler_writes_only_over_the_version_it_read(
    sandbox: RunningSandbox, connector: SalesforceConnector
) -> None:
    companies, _ = id_maps(sandbox)
    account = next(iter(companies))
    users = [o.id for o in connector.iter_owners() if o.active]
    _, tag = connector.read_owner_version(account)
    assert tag is not None
    assert connector.write_owner_if_unchanged(OwnerWrite(account, users[1]), tag).ok
    result = connector.write_owner_if_unchanged(OwnerWrite(account, users[2]), tag)
    assert isinstance(result.error, ConflictError)
    assert connector.read_owners([account]) == {account: users[1]}


def test_notes_are_posted_once_and_found_by_their_marker(
    sandbox: RunningSandbox, connector: SalesforceConnector
) -> None:
    account = next(iter(id_maps(sandbox)[0]))
    change_id = "0123456789abcdef01234567"
    note = Note(
        account, change_id, f"Owner changed. {note_marker(change_id)}\n<b>&</b>", datetime.now(UTC)
    )
    assert connector.find_notes([account], [note.marker]) == {}
    [posted] = connector.post_notes([note])
    assert posted.ok, posted.error
    assert connector.find_notes([account], [note.marker, note_marker("f" * 24)]) == {
        note.marker: posted.record_id
    }
    assert control(sandbox, "GET", "/stats")["notes_by_marker"] == {note.marker: 1}


def test_a_note_create_is_never_repeated_blindly(
    sandbox_factory: Callable[..., RunningSandbox], sample_org: Path
) -> None:
    running = sandbox_factory(faults="salesforce.collections.create:500=1")
    connector = connector_for(running)
    account = next(iter(id_maps(running)[0]))
    with pytest.raises(TransientError) as failed:
        connector.post_notes([Note(account, "abcdef0123456789", "body", datetime.now(UTC))])
    assert [r.outcome for r in failed.value.results] == [WriteOutcome.UNKNOWN]
    assert stats(running)["salesforce.collections.create"] == 1


def test_notes_go_in_two_collection_calls_per_200(
    sandbox: RunningSandbox, connector: SalesforceConnector
) -> None:
    accounts = list(id_maps(sandbox)[0])[:250]
    notes = [
        Note(a, f"{i:024x}", f"Owner changed. {note_marker(f'{i:024x}')}", datetime.now(UTC))
        for i, a in enumerate(accounts)
    ]
    results = connector.post_notes(notes)
    assert all(r.ok for r in results)
    assert stats(sandbox)["salesforce.collections.create"] == 4  # notes, links; twice
    found = connector.find_notes(accounts, [n.marker for n in notes])
    assert found == {n.marker: r.record_id for n, r in zip(notes, results, strict=True)}
    assert set(control(sandbox, "GET", "/stats")["notes_by_marker"].values()) == {1}


def test_a_note_created_but_never_linked_is_found_and_linked_not_posted_again(
    sandbox_factory: Callable[..., RunningSandbox], sample_org: Path
) -> None:
    # The link call fails on every try: the run stops between the two calls.
    running = sandbox_factory(faults="salesforce.collections.create:skip=1,503=1")
    connector = connector_for(running)
    accounts = list(id_maps(running)[0])[:3]
    notes = [
        Note(a, f"{i:024x}", f"Owner changed. {note_marker(f'{i:024x}')}", datetime.now(UTC))
        for i, a in enumerate(accounts)
    ]
    with pytest.raises(TransientError) as stopped:
        connector.post_notes(notes)
    unlinked = stopped.value.results
    assert [r.outcome for r in unlinked] == [WriteOutcome.UNKNOWN] * 3
    assert all(r.record_id for r in unlinked)
    control(running, "POST", "/faults", spec="")
    found = connector.find_notes(accounts, [n.marker for n in notes])
    assert found == {n.marker: r.record_id for n, r in zip(notes, unlinked, strict=True)}
    assert set(control(running, "GET", "/stats")["notes_by_marker"].values()) == {1}
    # Now linked: found through the account, by a finder that names no pairing.
    assert connector.find_notes(accounts[:1], [n.marker for n in notes]) == {
        notes[0].marker: unlinked[0].record_id
    }


def test_a_write_to_no_owner_fails_unsent_with_holding_owner_required(
    sandbox: RunningSandbox, connector: SalesforceConnector
) -> None:
    account = next(iter(id_maps(sandbox)[0]))
    before = connector.read_owners([account])
    [result] = connector.write_owners([OwnerWrite(account, None)])
    assert result.outcome is WriteOutcome.FAILED
    assert result.error is not None
    assert result.error.code == "HOLDING_OWNER_REQUIRED"
    assert result.attempts == 0
    assert "salesforce.collections" not in stats(sandbox)
    assert connector.read_owners([account]) == before
    assert connector.clears_owner is False


def test_a_note_on_an_unknown_account_fails_alone(
    sandbox: RunningSandbox, connector: SalesforceConnector
) -> None:
    account = next(iter(id_maps(sandbox)[0]))
    notes = [
        Note("001000000000000AAA", "aaaaaaaa00000001", "x", datetime.now(UTC)),
        Note(account, "aaaaaaaa00000002", "y", datetime.now(UTC)),
    ]
    first, second = connector.post_notes(notes)
    assert (first.ok, second.ok) == (False, True)
    assert first.error is not None
    assert first.error.code == "INVALID_CROSS_REFERENCE_KEY"


# ---- fields -------------------------------------------------------------------------------------


def test_describe_names_the_missing_territory_fields(
    sandbox: RunningSandbox, connector: SalesforceConnector
) -> None:
    assert connector.ensure_fields().ok
    sandbox.sandbox.salesforce_custom_fields -= {"Territory__c", "Territory_Lock__c"}
    check = connector.ensure_fields(create=True)
    assert check.missing == ("Territory__c", "Territory_Lock__c")
    assert check.created == ()
    assert "docs/salesforce/" in check.detail


# ---- limits, failures, sessions -----------------------------------------------------------------


def test_request_limit_exceeded_stops_the_run_without_another_request(
    sandbox_factory: Callable[..., RunningSandbox],
) -> None:
    running = sandbox_factory(limits=ci_limits(salesforce_daily_limit=2))
    connector = connector_for(running, max_daily_share=1.0)
    list(connector.iter_owners())
    list(connector.iter_owners())
    with pytest.raises(BudgetExhaustedError) as stopped:
        list(connector.iter_owners())
    assert stopped.value.code == "REQUEST_LIMIT_EXCEEDED"
    refused = stats(running)["salesforce.query"]
    with pytest.raises(BudgetExhaustedError):
        connector.read_owners(["001000000000000AAA"])
    assert stats(running)["salesforce.query"] == refused == 3


def test_the_run_stops_past_its_share_of_the_daily_allowance(
    sandbox_factory: Callable[..., RunningSandbox],
) -> None:
    running = sandbox_factory(limits=ci_limits(salesforce_daily_limit=10))
    budget = RateBudget(salesforce_windows(), max_daily_share=0.3)
    connector = connector_for(running, budget=budget)
    for _ in range(4):  # the 4th call crosses 30% of 10; its answer still arrives
        assert len(list(connector.iter_owners())) == 12
    with pytest.raises(BudgetExhaustedError) as stopped:
        list(connector.iter_owners())
    assert stopped.value.code == "DAILY_SHARE"
    assert stats(running)["salesforce.query"] == 4
    assert connector.budget().daily_used == 4


def test_server_errors_are_retried_within_bounds(
    sandbox_factory: Callable[..., RunningSandbox],
) -> None:
    failing = sandbox_factory(faults="salesforce.query:503=1")
    with pytest.raises(TransientError):
        list(connector_for(failing).iter_owners())
    assert stats(failing)["salesforce.query"] == 3  # NO_WAIT allows 3 attempts
    flaky = sandbox_factory(faults="salesforce.query:500=0.5", seed=2)
    assert len(list(connector_for(flaky).iter_owners())) == 12


def test_an_expired_session_logs_in_again_with_login_settings(
    sandbox: RunningSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    session = tracked_session()
    adapter = SoapLoginAdapter(sandbox)
    session.mount(LOGIN_URL, adapter)
    connector = connector_for(sandbox, session=session, login=LOGIN_SETTINGS)
    caplog.set_level(logging.DEBUG)
    assert len(list(connector.iter_owners())) == 12
    adapter.session_id = str(
        control(sandbox, "POST", "/salesforce/expire-session")["salesforce_session_id"]
    )
    assert len(list(connector.iter_owners())) == 12
    assert len(adapter.logins) == 1
    assert b"password-not-logged" in adapter.logins[0]  # sent to the login endpoint only
    for secret in ("password-not-logged", "token-not-logged", adapter.session_id):
        assert secret not in caplog.text


def test_an_expired_bare_session_is_a_clear_terminal_error(
    sandbox: RunningSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    connector = connector_for(sandbox)
    caplog.set_level(logging.DEBUG)
    control(sandbox, "POST", "/salesforce/expire-session")
    with pytest.raises(TerminalError) as expired:
        list(connector.iter_owners())
    assert expired.value.code == "INVALID_SESSION_ID"
    assert "fresh session id" in str(expired.value)
    old = sandbox.info.salesforce_session_id
    chain: BaseException | None = expired.value
    while chain is not None:
        assert old not in str(chain)
        chain = chain.__cause__ or chain.__context__
    assert old not in caplog.text
    assert old not in repr(connector.config)


def test_a_failed_login_is_terminal(sandbox: RunningSandbox) -> None:
    session = tracked_session()
    session.mount(LOGIN_URL, SoapLoginAdapter(sandbox, session_id=None))
    connector = connector_for(sandbox, session=session, login=LOGIN_SETTINGS)
    control(sandbox, "POST", "/salesforce/expire-session")
    with pytest.raises(TerminalError) as failed:
        list(connector.iter_owners())
    assert failed.value.code == "INVALID_LOGIN"


def test_the_ca_bundle_is_trusted_whatever_the_environment_says(
    sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    assert len(list(connector_for(sandbox).iter_owners())) == 12


def test_config_needs_a_session_or_login_settings_and_hides_secrets() -> None:
    with pytest.raises(ValueError, match="login settings"):
        SalesforceConfig(instance_url="https://acme.my.salesforce.com")
    config = SalesforceConfig(login=LOGIN_SETTINGS)
    assert "password-not-logged" not in repr(config)
    assert "token-not-logged" not in repr(config)
