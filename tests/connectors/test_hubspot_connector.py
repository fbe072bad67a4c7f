"""The HubSpot connector, through the official client, against the sandbox over real HTTP.

Each test starts its own sandbox (scaled-down limits: a 1 s window) unless it only reads. The
sample org is HubSpot-flavoured, so its CSV ids are the sandbox's HubSpot ids and the CSV
source's view of the same files is the reference.
"""

from __future__ import annotations

import csv
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from pydantic import SecretStr

from connectors.base import Note, OwnerWrite, WriteOutcome, note_marker
from connectors.budget import RateBudget, hubspot_windows
from connectors.errors import BudgetExhaustedError, TerminalError, TransientError
from connectors.files.csv_source import load_csv_directory
from connectors.hubspot import HubSpotConfig, HubSpotConnector, RetryPolicy
from rules.domain import Snapshot
from rules.loader import load_rules
from rules.schema import RuleFile
from sandbox.gate import Limits
from sandbox.org import LOADED_AT
from sandbox.server import RunningSandbox
from tests.connectors.conftest import ci_limits, control

FAST = RetryPolicy(attempts=4, max_seconds=10.0, first_wait=0.0)
Factory = Callable[..., RunningSandbox]


@pytest.fixture(scope="module")
def rule(sample_org: Path) -> RuleFile:
    path = sample_org / "rules.yaml"
    return load_rules(path.read_text(encoding="utf-8"), str(path)).rule


@pytest.fixture(scope="module")
def reference(sample_org: Path, rule: RuleFile) -> Snapshot:
    return load_csv_directory(sample_org, rule).snapshot


def budget_for(limits: Limits, margin: float = 0.95) -> RateBudget:
    """A budget matched to the sandbox's limits, as a worker's would be to HubSpot's."""
    return RateBudget(
        hubspot_windows(
            limits.limit_per_window,
            int(limits.window_seconds),
            limits.search_per_second,
            margin=margin,
        )
    )


def connect(
    running: RunningSandbox,
    *,
    rule: RuleFile | None = None,
    budget: RateBudget | None = None,
    retry: RetryPolicy = FAST,
    look_back: timedelta = timedelta(minutes=10),
    token: str | None = None,
) -> HubSpotConnector:
    config = HubSpotConfig(
        token=SecretStr(token or running.info.hubspot_token),
        base_url=running.info.hubspot_url,
        look_back=look_back,
        retry=retry,
    )
    budget = budget or budget_for(running.sandbox.gate.limits)
    return HubSpotConnector(config, rule=rule, budget=budget)


def stats(running: RunningSandbox) -> dict[str, object]:
    return control(running, "GET", "/stats")


def requests_to(running: RunningSandbox, endpoint: str) -> int:
    counts = stats(running)["requests"]
    assert isinstance(counts, dict)
    return int(counts.get(endpoint, 0))


def edit(running: RunningSandbox, company_id: str, **values: str) -> None:
    control(running, "POST", f"/companies/{company_id}/values", values=values)


def other_active_owner(reference: Snapshot, account_id: str) -> str:
    current = next(a.owner_id for a in reference.accounts if a.id == account_id)
    return next(o.id for o in reference.owners if o.active and o.id != current)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory, sample_org: Path) -> Iterator[RunningSandbox]:
    """One sandbox for the tests that only read."""
    from sandbox.server import SandboxConfig  # noqa: PLC0415 - fixture-local

    running = RunningSandbox(
        SandboxConfig(data=sample_org, limits=ci_limits(), tls_dir=tmp_path_factory.mktemp("tls"))
    )
    running.start()
    yield running
    running.stop()


# ---- reading ------------------------------------------------------------------------------


def test_full_sync_returns_every_company_once_as_the_csv_source_builds_it(
    shared: RunningSandbox, rule: RuleFile, reference: Snapshot
) -> None:
    accounts = list(connect(shared, rule=rule).iter_companies())
    assert len(accounts) == len({a.id for a in accounts}) == len(reference.accounts)
    assert sorted(accounts, key=lambda a: a.id) == sorted(reference.accounts, key=lambda a: a.id)


def test_owners_include_queues_and_the_deactivated_as_inactive(
    shared: RunningSandbox, reference: Snapshot
) -> None:
    owners = {o.id: o for o in connect(shared).iter_owners()}
    assert {i: (o.email, o.active) for i, o in owners.items()} == {
        o.id: (o.email, o.active) for o in reference.owners
    }
    assert owners["50000001"].email.startswith("territory-queue@")  # a QUEUE owner
    inactive = {o.id for o in reference.owners if not o.active}
    assert inactive
    assert {i for i, o in owners.items() if not o.active} == inactive


def test_owner_activity_is_the_csv_sources_latest_touch_per_owner(
    shared: RunningSandbox, reference: Snapshot
) -> None:
    connector = connect(shared)
    everything = list(connector.iter_owner_activity())
    expected = sorted((a, o, at) for (a, o), at in reference.owner_activity.items())
    assert everything == expected
    some = {a.id for a in reference.accounts[:40]}
    assert list(connector.iter_owner_activity(sorted(some))) == [
        row for row in expected if row[0] in some
    ]


def test_read_owners_leaves_out_unknown_companies(
    shared: RunningSandbox, reference: Snapshot
) -> None:
    ids = [a.id for a in reference.accounts[:150]]
    owners = connect(shared).read_owners([*ids, "999999"])
    assert owners == {a.id: a.owner_id for a in reference.accounts[:150]}


def test_incremental_sync_finds_exactly_the_edited_companies(
    sandbox: RunningSandbox, rule: RuleFile
) -> None:
    connector = connect(sandbox, rule=rule)
    since = datetime.now(UTC)
    for company_id in ("1000000007", "1000000150", "1000000299"):
        edit(sandbox, company_id, name=f"Renamed {company_id}")
    found = list(connector.iter_companies(since=since))
    assert sorted(a.id for a in found) == ["1000000007", "1000000150", "1000000299"]
    assert {a.name for a in found} == {f"Renamed {a.id}" for a in found}


def test_the_look_back_catches_an_edit_the_search_had_not_indexed(
    sandbox_factory: Factory,
) -> None:
    running = sandbox_factory(search_lag=1.0)
    started = datetime.now(UTC)
    edit(running, "1000000042", name="Late")
    # The previous run ends now: its search cannot see the edit yet.
    assert list(connect(running).iter_companies(since=started)) == []
    cursor = datetime.now(UTC)
    time.sleep(1.05)
    late = connect(running, look_back=timedelta(seconds=30)).iter_companies(since=cursor)
    blind = connect(running, look_back=timedelta(0)).iter_companies(since=cursor)
    assert [a.id for a in late] == ["1000000042"]
    assert list(blind) == []


def test_incremental_sync_past_the_search_cap_returns_every_company_once(
    sandbox_factory: Factory, reference: Snapshot
) -> None:
    running = sandbox_factory(limits=ci_limits(search_cap=50))
    found = [a.id for a in connect(running).iter_companies(since=LOADED_AT)]
    assert sorted(found) == sorted(a.id for a in reference.accounts)
    assert len(found) == len(set(found))
    assert requests_to(running, "hubspot.companies.search") == len(reference.accounts) // 50


def test_a_company_edited_mid_sync_does_not_hide_a_later_one(
    sandbox: RunningSandbox, reference: Snapshot
) -> None:
    companies = connect(sandbox).iter_companies(since=LOADED_AT)
    first = next(companies)  # the first page (200) is read: the window is fixed now
    edit(sandbox, "1000000010", name="Moved out of the window")
    rest = [a.id for a in companies]
    assert sorted([first.id, *rest]) == sorted(a.id for a in reference.accounts)


def test_archived_companies_appear_only_in_the_archived_pass(sandbox: RunningSandbox) -> None:
    control(sandbox, "POST", "/companies/1000000020/archive")
    connector = connect(sandbox)
    assert list(connector.iter_archived_company_ids()) == ["1000000020"]
    assert "1000000020" not in {a.id for a in connector.iter_companies()}
    assert "1000000020" not in {a.id for a in connector.iter_companies(since=LOADED_AT)}
    assert connector.read_owners(["1000000020"]) == {}


def test_a_deactivated_owner_is_listed_as_inactive(sandbox: RunningSandbox) -> None:
    control(sandbox, "POST", "/owners/50000003/deactivate")
    owners = {o.id: o.active for o in connect(sandbox).iter_owners()}
    assert owners["50000003"] is False
    assert len(owners) == 12


# ---- limits and failures ------------------------------------------------------------------


def test_concurrent_syncs_sharing_a_budget_never_earn_a_429(sandbox_factory: Factory) -> None:
    running = sandbox_factory(limits=ci_limits(limit_per_window=16))
    # A request is counted by the budget when sent and by the CRM when it arrives; in a 1 s
    # window that delay is a real share of the window, so the margin is wider than HubSpot's.
    budget = budget_for(running.sandbox.gate.limits, margin=0.8)
    counts = run_concurrently(running, budget, workers=4)
    assert counts == [300] * 4
    assert stats(running)["rate_limited"] == 0
    assert budget.report().rate_limited == 0


def test_a_429_storm_is_waited_out_and_every_sync_completes(sandbox_factory: Factory) -> None:
    running = sandbox_factory(limits=ci_limits(limit_per_window=16))
    generous = RateBudget(hubspot_windows(1000, 1, 100))  # misconfigured: above the CRM's limit
    counts = run_concurrently(running, generous, workers=4, retry=RetryPolicy(attempts=10))
    assert counts == [300] * 4
    served = stats(running)["rate_limited"]
    assert isinstance(served, int)
    assert served > 0
    assert generous.report().rate_limited == served


def run_concurrently(
    running: RunningSandbox, budget: RateBudget, *, workers: int, retry: RetryPolicy = FAST
) -> list[int]:
    """Full syncs plus an owner read on `workers` threads with one shared budget."""
    connector = connect(running, budget=budget, retry=retry)
    counts: list[int] = []
    failures: list[BaseException] = []

    def work() -> None:
        try:
            ids = [a.id for a in connector.iter_companies()]
            connector.read_owners(ids)
            counts.append(len(set(ids)))
        except BaseException as exc:  # noqa: BLE001 - collected and re-raised by the test
            failures.append(exc)

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures
    return counts


def test_server_errors_are_retried_within_the_attempts(sandbox_factory: Factory) -> None:
    running = sandbox_factory(faults="hubspot.companies.list:500=0.3", seed=3)
    assert len(list(connect(running).iter_companies())) == 300
    served = stats(running)["faults_served"]
    assert isinstance(served, dict)
    assert served.get("hubspot.companies.list:500", 0) > 0


def test_a_server_error_that_persists_surfaces_as_transient(sandbox_factory: Factory) -> None:
    running = sandbox_factory(faults="hubspot.owners.list:503=1")
    with pytest.raises(TransientError) as caught:
        list(connect(running, retry=RetryPolicy(attempts=3, first_wait=0)).iter_owners())
    assert caught.value.status == 503
    assert requests_to(running, "hubspot.owners.list") == 3


def test_retries_stop_before_a_wait_would_pass_the_total_time(sandbox_factory: Factory) -> None:
    running = sandbox_factory(faults="hubspot.owners.list:502=1")
    policy = RetryPolicy(attempts=50, max_seconds=0.5, first_wait=0.1, max_wait=0.1)
    started = time.monotonic()
    with pytest.raises(TransientError) as gave_up:
        list(connect(running, retry=policy).iter_owners())
    assert time.monotonic() - started < 0.5 + 0.3  # the last wait that fits, then the last try
    sent = requests_to(running, "hubspot.owners.list")
    assert 2 <= sent < 50
    assert gave_up.value.attempts == sent


def test_rate_limit_headers_feed_the_budget(shared: RunningSandbox) -> None:
    connector = connect(shared)
    list(connector.iter_owners())
    report = connector.budget()
    assert report.limit == shared.sandbox.gate.limits.limit_per_window
    assert report.remaining is not None
    assert report.daily_limit == shared.sandbox.gate.limits.daily_limit
    assert report.calls == 2


def test_a_bad_token_is_terminal_and_never_shown(shared: RunningSandbox) -> None:
    secret = "pat-na1-not-the-right-token"
    connector = connect(shared, token=secret)
    with pytest.raises(TerminalError) as caught:
        list(connector.iter_owners())
    assert caught.value.status == 401
    assert secret not in str(caught.value)
    assert secret not in orjson.dumps(caught.value.to_json()).decode()
    assert secret not in repr(connector.config)
    assert shared.info.hubspot_token not in repr(connect(shared).config)


def test_the_run_stops_cleanly_past_its_share_of_the_daily_allowance(
    sandbox_factory: Factory,
) -> None:
    running = sandbox_factory(limits=ci_limits(daily_limit=10))
    budget = RateBudget(hubspot_windows(50, 1, 20), max_daily_share=0.3)
    with pytest.raises(BudgetExhaustedError) as caught:
        list(connect(running, budget=budget).iter_owner_activity())
    assert caught.value.code == "DAILY_SHARE"
    assert sum(stats(running)["requests"].values()) == 4  # type: ignore[union-attr]


# ---- writing ------------------------------------------------------------------------------


def test_writes_answer_per_record_in_input_order_through_partial_failures(
    sandbox_factory: Factory, reference: Snapshot
) -> None:
    running = sandbox_factory(faults="hubspot.companies.batch_update:partial=0.3", seed=5)
    accounts = [a.id for a in reference.accounts[:150]]
    writes = [OwnerWrite(a, other_active_owner(reference, a)) for a in reversed(accounts)]
    connector = connect(running)
    results = connector.write_owners(writes)
    assert [r.account_id for r in results] == [w.account_id for w in writes]
    failed = [r for r in results if not r.ok]
    assert 0 < len(failed) < len(writes)
    assert all(isinstance(r.error, TransientError) for r in failed)
    current = connector.read_owners(accounts)
    for write, result in zip(writes, results, strict=True):
        assert (current[write.account_id] == write.owner_id) == result.ok
    assert stats(running)["owner_writes"] == {r.account_id: 1 for r in results if r.ok}


def test_one_invalid_owner_in_a_batch_fails_alone(
    sandbox: RunningSandbox, reference: Snapshot
) -> None:
    accounts = [a.id for a in reference.accounts[:64]]
    writes = [OwnerWrite(a, other_active_owner(reference, a)) for a in accounts]
    writes[37] = OwnerWrite(accounts[37], "77777777")  # no such owner
    inactive = next(o.id for o in reference.owners if not o.active)
    writes[50] = OwnerWrite(accounts[50], inactive)  # a deactivated owner
    results = connect(sandbox).write_owners(writes)
    assert [r.ok for r in results] == [i not in {37, 50} for i in range(64)]
    for index in (37, 50):
        error = results[index].error
        assert isinstance(error, TerminalError)
        assert error.status == 400
        assert "not a valid owner id" in str(error)
    # Halving finds both bad inputs in far fewer calls than one per record.
    assert requests_to(sandbox, "hubspot.companies.batch_update") <= 2 * 2 * 6 + 1


def test_writes_to_one_company_twice_land_in_order(
    sandbox: RunningSandbox, reference: Snapshot
) -> None:
    account = reference.accounts[0].id
    first, second = [o.id for o in reference.owners if o.active][1:3]
    results = connect(sandbox).write_owners(
        [OwnerWrite(account, first), OwnerWrite(account, second)]
    )
    assert [r.ok for r in results] == [True, True]
    assert connect(sandbox).read_owners([account]) == {account: second}


def test_a_dropped_connection_after_a_write_is_unknown_never_resent_and_the_write_landed(
    sandbox_factory: Factory, reference: Snapshot
) -> None:
    running = sandbox_factory(faults="hubspot.companies.batch_update:drop_after_write=1")
    account = reference.accounts[3].id
    owner = other_active_owner(reference, account)
    connector = connect(running)
    with pytest.raises(TransientError) as lost:
        connector.write_owners([OwnerWrite(account, owner)])
    [result] = lost.value.results
    assert (result.outcome, result.attempts) == (WriteOutcome.UNKNOWN, 1)
    assert result.error is lost.value
    assert connector.read_owners([account]) == {account: owner}
    assert stats(running)["owner_writes"] == {account: 1}  # not sent again


def test_territory_fields_are_created_then_written(
    sandbox: RunningSandbox, reference: Snapshot
) -> None:
    connector = connect(sandbox)
    created = connector.ensure_fields()
    assert created.ok
    assert created.created == (
        "territory",
        "rule_revision",
        "effective_date",
        "assigned_at",
        "lock",
    )
    again = connector.ensure_fields()
    assert again.created == ()
    assert again.present == created.created
    account = reference.accounts[5].id
    fields = {"territory": "EMEA-1", "effective_date": "2027-02-01", "lock": "false"}
    [result] = connector.write_owners([OwnerWrite(account, "50000004", fields)])
    assert result.ok, result.error
    company = sandbox.sandbox.org.by_hubspot[account]
    assert company.territory == {
        "territory": "EMEA-1",
        "territory_effective_date": "2027-02-01",
    }
    assert company.locked is False  # the lock is the company's own, one for both CRMs


def test_ensure_fields_names_the_missing_scope(sandbox: RunningSandbox) -> None:
    control(sandbox, "POST", "/scopes/crm.schemas.companies.write/revoke")
    check = connect(sandbox).ensure_fields()
    assert not check.ok
    assert check.missing == ("territory", "rule_revision", "effective_date", "assigned_at", "lock")
    assert "crm.schemas.companies.write" in check.detail
    assert connect(sandbox).ensure_fields(create=False).missing == check.missing
    control(sandbox, "POST", "/scopes/crm.schemas.companies.read/revoke")
    unreadable = connect(sandbox).ensure_fields()
    assert unreadable.missing == check.missing
    assert "crm.schemas.companies.read" in unreadable.detail


def test_an_unreachable_hubspot_is_transient(sandbox: RunningSandbox) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there now
    config = HubSpotConfig(
        token=SecretStr("pat-unused"), base_url=f"http://127.0.0.1:{port}", retry=FAST
    )
    with pytest.raises(TransientError) as caught:
        list(HubSpotConnector(config).iter_owners())
    assert caught.value.code == "CONNECTION"
    assert sandbox.info.hubspot_url not in str(caught.value)


# ---- notes --------------------------------------------------------------------------------


def make_note(account_id: str, change_id: str) -> Note:
    return Note(
        account_id=account_id,
        change_id=change_id,
        body=f"Owner changed by territory-sync (rule sample). {note_marker(change_id)}",
        timestamp=datetime(2027, 1, 4, 9, 0, tzinfo=UTC),
    )


def test_notes_are_posted_once_owned_by_the_integration_and_found_by_marker(
    sandbox: RunningSandbox,
) -> None:
    notes = [make_note("1000000001", "aa" * 12), make_note("1000000002", "bb" * 12)]
    connector = connect(sandbox)
    assert connector.find_notes(["1000000001", "1000000002"], [n.marker for n in notes]) == {}
    results = connector.post_notes(notes)
    assert [r.ok for r in results] == [True, True]
    found = connector.find_notes(
        ["1000000001", "1000000002"], [*(n.marker for n in notes), note_marker("cc" * 12)]
    )
    assert found == {n.marker: r.record_id for n, r in zip(notes, results, strict=True)}
    assert stats(sandbox)["notes_by_marker"] == {n.marker: 1 for n in notes}
    org = sandbox.sandbox.org
    assert all(org.notes[str(r.record_id)].owner_key is None for r in results)
    # Our notes never count as a rep's activity.
    assert ("1000000001", "50000006") not in {
        (a, o) for a, o, _ in connector.iter_owner_activity(["1000000001"])
    }


def test_a_note_whose_answer_was_lost_is_unknown_and_found_before_reposting(
    sandbox_factory: Factory,
) -> None:
    running = sandbox_factory(faults="hubspot.notes.batch_create:drop_after_write=1")
    note = make_note("1000000009", "dd" * 12)
    connector = connect(running)
    with pytest.raises(TransientError) as lost:
        connector.post_notes([note])
    assert [r.outcome for r in lost.value.results] == [WriteOutcome.UNKNOWN]
    assert connector.find_notes(["1000000009"], [note.marker]).keys() == {note.marker}
    assert stats(running)["notes_by_marker"] == {note.marker: 1}


def test_a_server_error_on_a_note_create_is_never_retried_and_leaves_it_unknown(
    sandbox_factory: Factory,
) -> None:
    running = sandbox_factory(faults="hubspot.notes.batch_create:500=1")
    with pytest.raises(TransientError) as failed:
        connect(running).post_notes([make_note("1000000009", "ee" * 12)])
    assert [(r.outcome, r.attempts) for r in failed.value.results] == [(WriteOutcome.UNKNOWN, 1)]
    assert requests_to(running, "hubspot.notes.batch_create") == 1


def test_partial_note_failures_are_reported_per_note(sandbox_factory: Factory) -> None:
    running = sandbox_factory(faults="hubspot.notes.batch_create:partial=0.5", seed=2)
    notes = [make_note(str(1000000001 + i), f"{i:024x}") for i in range(20)]
    results = connect(running).post_notes(notes)
    assert [r.account_id for r in results] == [n.account_id for n in notes]
    assert 0 < sum(r.ok for r in results) < 20
    created = stats(running)["notes_by_marker"]
    assert created == {n.marker: 1 for n, r in zip(notes, results, strict=True) if r.ok}


def test_a_note_without_its_marker_is_refused_before_sending(sandbox: RunningSandbox) -> None:
    note = Note("1000000001", "ab" * 12, "no marker here", datetime(2027, 1, 4, tzinfo=UTC))
    [result] = connect(sandbox).post_notes([note])
    assert isinstance(result.error, TerminalError)
    assert (result.outcome, result.attempts) == (WriteOutcome.FAILED, 0)
    assert requests_to(sandbox, "hubspot.notes.batch_create") == 0


# ---- activities ---------------------------------------------------------------------------


def test_owner_activity_since_a_moment_reads_by_search_only_the_activities_edited_since(
    sandbox: RunningSandbox,
) -> None:
    connector = connect(sandbox)
    everything = list(connector.iter_owner_activity())
    assert everything
    # Every sample activity was last edited when the sandbox loaded the org.
    assert list(connector.iter_owner_activity(since=LOADED_AT)) == everything
    control(sandbox, "POST", "/reset")
    assert list(connector.iter_owner_activity(since=datetime.now(UTC))) == []
    searches = {f"hubspot.{kind}.search": 1 for kind in ("calls", "emails", "meetings", "tasks")}
    assert stats(sandbox)["requests"] == searches  # no listing, no association read


def test_an_activity_whose_body_carries_our_marker_is_not_a_reps_touch(
    sample_org: Path, tmp_path: Path, sandbox_factory: Factory, reference: Snapshot
) -> None:
    account = reference.accounts[0].id
    owner = other_active_owner(reference, account)
    org = tmp_path / "org"
    shutil.copytree(sample_org, org)
    path = org / "activities.csv"
    rows = list(csv.reader(path.read_text(encoding="utf-8").splitlines()))
    for row in rows:
        row.append("body" if row is rows[0] else "")
    # A rep's call, then one activity of ours of every type, each later than the call: had
    # any of them counted, it would be the pair's latest touch.
    rows.append([account, owner, "call", "2027-06-01T10:00:00Z", "Called about the renewal"])
    ours = f"Owner changed by territory-sync (rule sample). {note_marker('ab' * 12)}"
    for day, kind in enumerate(("call", "email", "meeting", "task"), start=2):
        rows.append([account, owner, kind, f"2027-06-0{day}T10:00:00Z", ours])
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    connector = connect(sandbox_factory(data=org))
    expected = {**reference.owner_activity, (account, owner): datetime(2027, 6, 1, 10, tzinfo=UTC)}
    assert list(connector.iter_owner_activity()) == sorted(
        (a, o, t) for (a, o), t in expected.items()
    )
    assert list(connector.iter_owner_activity([account])) == sorted(
        (a, o, t) for (a, o), t in expected.items() if a == account
    )


def test_one_note_on_a_company_gone_since_fails_alone_and_the_rest_are_created(
    sandbox: RunningSandbox,
) -> None:
    """HubSpot refuses a whole batch create with a 400 for one invalid input: the batch is
    halved until that note fails on its own (before, the whole batch stopped the apply, and
    every later apply stalled on the same batch)."""
    notes = [make_note(str(1000000001 + i), f"{i + 0x100:024x}") for i in range(16)]
    notes[11] = make_note("9999999999", f"{0x999:024x}")  # no such company
    results = connect(sandbox).post_notes(notes)

    assert [r.ok for r in results] == [i != 11 for i in range(16)]
    error = results[11].error
    assert isinstance(error, TerminalError)
    assert error.status == 400
    created = stats(sandbox)["notes_by_marker"]
    assert created == {n.marker: 1 for i, n in enumerate(notes) if i != 11}
    assert requests_to(sandbox, "hubspot.notes.batch_create") <= 2 * 4 + 1
