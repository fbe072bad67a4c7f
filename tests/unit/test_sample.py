"""`territory sample`: a synthetic org whose files are deterministic, consistent and realistic."""

from __future__ import annotations

import csv
import statistics
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from connectors.files.csv_source import load_csv_directory
from rules.loader import load_rules
from rules.schema import RuleFile
from sandbox import sample
from sandbox.sample import SampleSummary, write_sample
from sandbox.sample.vocab import INDUSTRIES, SIGNALS

AS_OF = date(2027, 1, 4)
QUEUE = "territory-queue@example.com"

# Every HubSpot industry enum the sample may write (a subset of HubSpot's ~150 options).
HUBSPOT_INDUSTRY_ENUMS = {
    "COMPUTER_SOFTWARE",
    "INFORMATION_TECHNOLOGY_AND_SERVICES",
    "FINANCIAL_SERVICES",
    "BANKING",
    "LOGISTICS_AND_SUPPLY_CHAIN",
    "TRANSPORTATION_TRUCKING_RAILROAD",
    "HOSPITAL_HEALTH_CARE",
    "MEDICAL_DEVICES",
    "RETAIL",
    "CONSUMER_GOODS",
    "MACHINERY",
    "INDUSTRIAL_AUTOMATION",
    "EDUCATION_MANAGEMENT",
    "HIGHER_EDUCATION",
    "MARKETING_AND_ADVERTISING",
    "ONLINE_MEDIA",
}


@dataclass
class Sample:
    """A written sample, read back the way a CSV reader would see it."""

    summary: SampleSummary
    directory: Path
    companies: list[dict[str, str]]
    owners: list[dict[str, str]]
    activities: list[dict[str, str]]
    rule: RuleFile

    def team_emails(self) -> set[str]:
        return {m.email for team in self.rule.teams for m in team.members}

    def owner_by_id(self) -> dict[str, dict[str, str]]:
        return {o["id"]: o for o in self.owners}

    def column(self, name: str) -> list[str]:
        return [c[name] for c in self.companies]


def make_sample(
    directory: Path,
    *,
    accounts: int = 3000,
    reps: int = 40,
    seed: int = 11,
    flavour: sample.Flavour = "canonical",
    as_of: date = AS_OF,
) -> Sample:
    summary = write_sample(
        directory, accounts=accounts, reps=reps, seed=seed, flavour=flavour, as_of=as_of
    )
    rules_path = directory / "rules.yaml"
    return Sample(
        summary=summary,
        directory=directory,
        companies=_read_csv(directory / "companies.csv"),
        owners=_read_csv(directory / "owners.csv"),
        activities=_read_csv(directory / "activities.csv"),
        rule=load_rules(rules_path.read_text(encoding="utf-8"), str(rules_path)).rule,
    )


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _file_bytes(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def _days_before_as_of(value: str) -> int:
    return (AS_OF - date.fromisoformat(value[:10])).days


@pytest.fixture(scope="module", params=["canonical", "hubspot", "salesforce"])
def any_flavour(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Sample:
    return make_sample(tmp_path_factory.mktemp(request.param), flavour=request.param)


@pytest.fixture(scope="module")
def canonical(tmp_path_factory: pytest.TempPathFactory) -> Sample:
    return make_sample(tmp_path_factory.mktemp("canonical"))


# Determinism


def test_same_arguments_write_byte_identical_files(tmp_path: Path) -> None:
    make_sample(tmp_path / "a", accounts=800, seed=5)
    make_sample(tmp_path / "b", accounts=800, seed=5)
    assert _file_bytes(tmp_path / "a") == _file_bytes(tmp_path / "b")


def test_another_seed_writes_a_different_org(tmp_path: Path) -> None:
    first = make_sample(tmp_path / "a", accounts=800, seed=5)
    second = make_sample(tmp_path / "b", accounts=800, seed=6)
    assert first.column("domain") != second.column("domain")
    assert first.column("employees") != second.column("employees")


def test_dates_follow_as_of_not_the_clock(tmp_path: Path) -> None:
    early = make_sample(tmp_path / "a", accounts=500, as_of=date(2027, 1, 4))
    late = make_sample(tmp_path / "b", accounts=500, as_of=date(2027, 4, 4))
    shift = timedelta(days=90)
    for a, b in zip(early.activities, late.activities, strict=True):
        moved = datetime.fromisoformat(a["occurred_at"]) + shift
        assert moved == datetime.fromisoformat(b["occurred_at"])
    assert late.rule.effective_from == date(2027, 4, 4)


def test_flavours_spell_the_same_org_differently(tmp_path: Path) -> None:
    plain = make_sample(tmp_path / "c", accounts=800)
    hubspot = make_sample(tmp_path / "h", accounts=800, flavour="hubspot")
    assert plain.column("employees") == hubspot.column("employees")
    assert plain.column("industry") != hubspot.column("industry")


def test_progress_reports_every_chunk_and_sums_to_the_accounts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sample, "CHUNK_ROWS", 1000)
    calls: list[int] = []
    write_sample(tmp_path, accounts=3500, reps=8, seed=1, progress=calls.append)
    assert calls == [1000, 1000, 1000, 500]


# Shape


def test_files_have_the_canonical_headers(canonical: Sample) -> None:
    companies = (canonical.directory / "companies.csv").read_text().splitlines()[0]
    assert companies.split(",") == [
        "id", "name", "domain", "owner_id", "industry", "employees", "annual_revenue",
        "country", "lifecycle", "parent_id", "last_activity_at",
        *(f"signal_{name}" for name in SIGNALS),
    ]  # fmt: skip
    owners = (canonical.directory / "owners.csv").read_text().splitlines()[0]
    assert owners == "id,email,first_name,last_name,active"
    activities = (canonical.directory / "activities.csv").read_text().splitlines()[0]
    assert activities == "account_id,owner_id,type,occurred_at"


def test_summary_counts_what_was_written(any_flavour: Sample) -> None:
    summary = any_flavour.summary
    assert summary.accounts == len(any_flavour.companies) == 3000
    assert summary.owners == len(any_flavour.owners)
    assert summary.inactive_owners == sum(o["active"] == "false" for o in any_flavour.owners)
    assert summary.active_owners + summary.inactive_owners == summary.owners
    assert summary.activities == len(any_flavour.activities)
    assert summary.teams == len(any_flavour.rule.teams)
    assert {p.name for p in summary.files} == {
        "companies.csv", "owners.csv", "activities.csv", "rules.yaml",
    }  # fmt: skip
    assert not list(any_flavour.directory.glob(".*partial"))


def test_rule_file_validates_for_every_flavour(any_flavour: Sample) -> None:
    text = (any_flavour.directory / "rules.yaml").read_text(encoding="utf-8")
    loaded = load_rules(text, "rules.yaml")
    assert loaded.rule.effective_from == AS_OF
    assert loaded.rule.routing.rows[-1].id == "catch-all"
    assert not loaded.rule.routing.rows[-1].when


def test_dates_are_iso_and_before_as_of(any_flavour: Sample) -> None:
    for activity in any_flavour.activities:
        assert activity["occurred_at"].endswith("Z")
        assert datetime.fromisoformat(activity["occurred_at"]).date() < AS_OF
    for company in any_flavour.companies:
        for name in SIGNALS:
            if company[f"signal_{name}"]:
                assert date.fromisoformat(company[f"signal_{name}"]) < AS_OF


# Referential integrity


def test_every_owner_id_names_an_owner(any_flavour: Sample) -> None:
    owner_ids = set(any_flavour.owner_by_id())
    assert {c["owner_id"] for c in any_flavour.companies} - {""} <= owner_ids
    assert {a["owner_id"] for a in any_flavour.activities} <= owner_ids
    company_ids = {c["id"] for c in any_flavour.companies}
    assert {a["account_id"] for a in any_flavour.activities} <= company_ids


def test_ids_and_domains_are_unique(any_flavour: Sample) -> None:
    assert len(set(any_flavour.column("id"))) == len(any_flavour.companies)
    assert len(set(any_flavour.column("domain"))) == len(any_flavour.companies)
    assert len({o["id"] for o in any_flavour.owners}) == len(any_flavour.owners)
    assert len({o["email"] for o in any_flavour.owners}) == len(any_flavour.owners)


def test_parents_exist_and_families_never_cycle(any_flavour: Sample) -> None:
    parent_of = {c["id"]: c["parent_id"] for c in any_flavour.companies if c["parent_id"]}
    assert set(parent_of.values()) <= set(any_flavour.column("id"))
    for child in parent_of:
        seen = {child}
        node = child
        while node in parent_of:
            node = parent_of[node]
            assert node not in seen, f"cycle through {child}"
            seen.add(node)
    depths = [2 if parent_of[c] in parent_of else 1 for c in parent_of]
    assert max(depths) == 2, "a few families have grandchildren"
    assert any_flavour.summary.families == len(
        {p for c, p in parent_of.items() if p not in parent_of}
        | {parent_of[p] for p in parent_of.values() if p in parent_of}
    )


def test_last_activity_at_is_the_latest_activity(canonical: Sample) -> None:
    latest: dict[str, str] = {}
    for activity in canonical.activities:
        latest[activity["account_id"]] = max(
            latest.get(activity["account_id"], ""), activity["occurred_at"]
        )
    for company in canonical.companies:
        assert company["last_activity_at"] == latest.get(company["id"], "")


def test_team_members_are_active_owners_and_the_queue_is_one(canonical: Sample) -> None:
    active = {o["email"] for o in canonical.owners if o["active"] == "true"}
    assert canonical.team_emails() <= active
    holding = {row.assign.holding_owner for row in canonical.rule.routing.rows} - {None}
    assert holding == {QUEUE}
    assert QUEUE in active


# Realism


def test_current_ownership_is_skewed(canonical: Sample) -> None:
    email_of = {o["id"]: o["email"] for o in canonical.owners}
    held = dict.fromkeys(canonical.team_emails(), 0)
    for company in canonical.companies:
        email = email_of.get(company["owner_id"])
        if email in held:
            held[email] += 1
    assert max(held.values()) >= 3 * statistics.median(held.values())


def test_some_accounts_are_unowned(canonical: Sample) -> None:
    unowned = canonical.column("owner_id").count("") / len(canonical.companies)
    assert 0.02 < unowned < 0.15


def test_inactive_owners_still_hold_accounts(canonical: Sample) -> None:
    owners = canonical.owner_by_id()
    inactive_holders = {
        c["owner_id"]
        for c in canonical.companies
        if c["owner_id"] and owners[c["owner_id"]]["active"] == "false"
    }
    assert len(inactive_holders) >= 2


def test_one_active_owner_outside_every_team_holds_accounts(canonical: Sample) -> None:
    outsiders = {
        o["id"]
        for o in canonical.owners
        if o["active"] == "true" and o["email"] not in canonical.team_emails()
        and o["email"] != QUEUE
    }  # fmt: skip
    assert len(outsiders) == 1
    assert outsiders & set(canonical.column("owner_id"))


def test_company_sizes_are_lognormal_with_revenue_following_size(canonical: Sample) -> None:
    pairs = [
        (int(c["employees"]), int(c["annual_revenue"]))
        for c in canonical.companies
        if c["employees"] and c["annual_revenue"]
    ]
    employees = sorted(e for e, _ in pairs)
    median = statistics.median(employees)
    assert 30 <= median <= 120
    assert employees[int(len(employees) * 0.99)] > 20 * median, "a long right tail"
    small = statistics.median(r for e, r in pairs if e < 50)
    large = statistics.median(r for e, r in pairs if e >= 500)
    assert large > 10 * small


def test_accounts_span_regions_industries_and_lifecycles(canonical: Sample) -> None:
    countries = set(canonical.column("country")) - {""}
    assert {"US", "CA", "GB", "DE", "FR", "AU", "JP"} <= countries
    assert all(len(c) == 2 and c.isupper() for c in countries)
    assert set(canonical.column("industry")) - {""} == set(INDUSTRIES)
    lifecycles = canonical.column("lifecycle")
    assert set(lifecycles) == {"customer", "prospect"}
    assert 0.02 < lifecycles.count("customer") / len(lifecycles) < 0.15


def test_a_minority_has_signals_spread_over_hot_warm_and_old(canonical: Sample) -> None:
    ages = []
    for company in canonical.companies:
        dates = [company[f"signal_{name}"] for name in SIGNALS if company[f"signal_{name}"]]
        ages.append(min(_days_before_as_of(d) for d in dates) if dates else None)
    share = {
        "hot": sum(a is not None and a <= 30 for a in ages) / len(ages),
        "warm": sum(a is not None and 30 < a <= 90 for a in ages) / len(ages),
        "old": sum(a is not None and a > 90 for a in ages) / len(ages),
    }
    assert 0.04 < share["hot"] < 0.15
    assert 0.06 < share["warm"] < 0.20
    assert 0.10 < share["old"] < 0.30
    assert sum(share.values()) < 0.5


def test_activity_is_mostly_the_owners_and_often_stale(canonical: Sample) -> None:
    owner_of = {c["id"]: c["owner_id"] for c in canonical.companies}
    by_owner = sum(a["owner_id"] == owner_of[a["account_id"]] for a in canonical.activities)
    assert 0.5 < by_owner / len(canonical.activities) < 0.9, "some off-territory work"
    assert 1.0 <= len(canonical.activities) / len(canonical.companies) <= 2.0
    last = canonical.column("last_activity_at")
    untouched = sum(not t or _days_before_as_of(t) > 90 for t in last) / len(last)
    assert untouched > 0.3


def test_departed_owners_accounts_went_quiet_when_they_left(canonical: Sample) -> None:
    inactive = {o["id"] for o in canonical.owners if o["active"] == "false"}
    quiet = [
        _days_before_as_of(c["last_activity_at"])
        for c in canonical.companies
        if c["owner_id"] in inactive and c["last_activity_at"]
    ]
    assert min(quiet) >= 20


def test_rule_file_has_ramping_away_and_named_reps(canonical: Sample) -> None:
    members = [m for team in canonical.rule.teams for m in team.members]
    starts = [m.start_date for m in members if m.start_date is not None]
    assert 1 <= len(starts) <= 2
    assert all(AS_OF - timedelta(days=90) < s < AS_OF for s in starts)
    assert [m.out_of_office_until > AS_OF for m in members if m.out_of_office_until] == [True]
    domains = set(canonical.column("domain"))
    assert len(canonical.rule.named_accounts) == 2
    for named in canonical.rule.named_accounts:
        assert named.account.domain in domains
        assert named.expires > AS_OF
        assert named.owner in canonical.team_emails()


def test_capacity_leaves_headroom_over_the_worked_book(canonical: Sample) -> None:
    roles = canonical.rule.capacity.roles
    members = sum(len(t.members) for t in canonical.rule.teams)
    per_rep = len(canonical.companies) / members
    assert all(20 <= role.max_accounts <= 3 * per_rep for role in roles.values())


@pytest.mark.parametrize("reps", [1, 2, 3, 4])
def test_small_orgs_field_fewer_teams_never_empty_ones(tmp_path: Path, reps: int) -> None:
    small = make_sample(tmp_path, accounts=300, reps=reps)
    assert all(team.members for team in small.rule.teams)
    assert sum(len(t.members) for t in small.rule.teams) == reps
    assert len(small.rule.teams) == [1, 2, 3, 4][reps - 1]


# CRM flavours


def test_hubspot_flavour_writes_hubspot_enums_that_values_maps(tmp_path: Path) -> None:
    hubspot = make_sample(tmp_path, accounts=2000, flavour="hubspot")
    industries = set(hubspot.column("industry")) - {""}
    assert industries <= HUBSPOT_INDUSTRY_ENUMS
    assert {"COMPUTER_SOFTWARE", "FINANCIAL_SERVICES", "RETAIL"} <= industries
    mapping = hubspot.rule.values
    assert industries <= set(mapping["industry"]["hubspot"])
    assert set(mapping["industry"]["hubspot"].values()) == set(INDUSTRIES)
    lifecycles = set(hubspot.column("lifecycle"))
    assert {"customer", "lead", "opportunity"} <= lifecycles
    assert lifecycles <= set(mapping["lifecycle"]["hubspot"])
    assert set(mapping["lifecycle"]["hubspot"].values()) == {"customer", "prospect"}
    assert {"United States", "USA", "Germany"} <= set(hubspot.column("country"))


def test_salesforce_flavour_uses_18_character_ids_and_salesforce_values(tmp_path: Path) -> None:
    salesforce = make_sample(tmp_path, accounts=2000, flavour="salesforce")
    assert all(len(i) == 18 and i.startswith("001") for i in salesforce.column("id"))
    assert all(len(o["id"]) == 18 and o["id"].startswith("005") for o in salesforce.owners)
    mapping = salesforce.rule.values
    assert set(salesforce.column("industry")) - {""} <= set(mapping["industry"]["salesforce"])
    assert set(salesforce.column("lifecycle")) == {
        "Customer - Direct", "Customer - Channel", "Prospect",
    }  # fmt: skip
    assert set(salesforce.column("lifecycle")) <= set(mapping["lifecycle"]["salesforce"])


def test_salesforce_id_suffix_is_the_case_checksum(tmp_path: Path) -> None:
    salesforce = make_sample(tmp_path, accounts=200, flavour="salesforce")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
    for full in salesforce.column("id"):
        blocks = [full[i : i + 5] for i in (0, 5, 10)]
        expected = "".join(
            alphabet[sum(1 << i for i, ch in enumerate(block) if ch.isupper())] for block in blocks
        )
        assert full[15:] == expected


def test_canonical_values_are_the_targets_of_every_crm_mapping(canonical: Sample) -> None:
    for field, values in (("industry", set(INDUSTRIES)), ("lifecycle", {"customer", "prospect"})):
        for crm in ("hubspot", "salesforce"):
            assert set(canonical.rule.values[field][crm].values()) == values
    assert all(i.isdigit() for i in canonical.column("id"))


def test_no_raw_value_maps_to_two_canonical_values(canonical: Sample) -> None:
    # The reader merges every CRM's table case-insensitively (Retail, RETAIL, Banking, ...).
    for per_crm in canonical.rule.values.values():
        merged: dict[str, str] = {}
        for table in per_crm.values():
            for raw, value in table.items():
                assert merged.setdefault(raw.lower(), value) == value, raw


def test_csv_reader_loads_every_flavour_strictly_with_nothing_unmapped(any_flavour: Sample) -> None:
    loaded = load_csv_directory(any_flavour.directory, any_flavour.rule, strict=True)
    assert len(loaded.snapshot.accounts) == len(any_flavour.companies)
    assert not loaded.issues
    assert {name: count.unmapped_total for name, count in loaded.unmapped.items()} == {
        "industry": 0, "lifecycle": 0, "country": 0,
    }  # fmt: skip


# Arguments and scale


@pytest.mark.parametrize(("accounts", "reps"), [(0, 5), (10, 0)])
def test_an_empty_org_is_refused(tmp_path: Path, accounts: int, reps: int) -> None:
    with pytest.raises(ValueError, match="at least one"):
        write_sample(tmp_path, accounts=accounts, reps=reps, seed=1)


@pytest.mark.slow
def test_fifty_thousand_accounts_are_written_quickly(tmp_path: Path) -> None:
    started = time.perf_counter()
    calls: list[int] = []
    summary = write_sample(tmp_path, accounts=50_000, reps=100, seed=3, progress=calls.append)
    elapsed = time.perf_counter() - started
    assert summary.accounts == sum(calls) == 50_000
    with (tmp_path / "companies.csv").open(encoding="utf-8") as handle:
        assert sum(1 for _ in handle) == 50_001
    # ~0.3 s on a 2-core machine; the bound only catches an accidental per-row slow path.
    assert elapsed < 10
