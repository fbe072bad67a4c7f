"""Checks across the rule file: references resolve, ids are unique, conditions make sense."""

from __future__ import annotations

import pytest

from rules.data_checks import check_rule_against_data
from rules.domain import Account, Owner, Snapshot
from rules.inert import NOT_YET, inert_settings
from tests.unit.rule_text import edited, example_text, issues_of, load, minimal

_TEAMS = "(known: account-management, emea-midmarket, na-enterprise, sdr-pool)"
_ROLES = "(known: account_manager, ae_full_cycle, ae_sdr_assisted, enterprise_ae)"
_ISO = "expected an ISO 3166 alpha-2 country code such as US or GB"

# --- references --------------------------------------------------------------------------------


def test_unknown_team_in_a_routing_row_suggests_the_close_match() -> None:
    text = edited(
        "{team: na-enterprise, strategy: balanced", "{team: na-enterprize, strategy: balanced"
    )

    assert issues_of(text) == [
        (
            "rules.yaml:151:22: routing.rows[3].assign.team: unknown team 'na-enterprize'; did you "
            f"mean 'na-enterprise'? {_TEAMS}"
        )
    ]


def test_watchlist_pool_must_be_a_known_team() -> None:
    text = edited(
        "assign: {watchlist: true, team: sdr-pool", "assign: {watchlist: true, team: sdrs"
    )

    assert issues_of(text) == [
        f"rules.yaml:148:39: routing.rows[2].assign.team: unknown team 'sdrs' {_TEAMS}"
    ]


def test_unknown_team_role_suggests_the_close_match() -> None:
    assert issues_of(edited("role: enterprise_ae", "role: enterprise")) == [
        (
            "rules.yaml:95:11: teams[0].role: unknown role 'enterprise'; did you mean "
            f"'enterprise_ae'? {_ROLES}"
        )
    ]


def test_unknown_member_role_is_located_on_the_member() -> None:
    text = edited("{email: finn@example.com}", "{email: finn@example.com, role: sdr}")

    assert issues_of(text) == [
        f"rules.yaml:123:41: teams[3].members[0].role: unknown role 'sdr' {_ROLES}"
    ]


def test_protected_routing_row_must_exist() -> None:
    assert issues_of(edited("routing_rows: [customers]", "routing_rows: [customer]")) == [
        (
            "rules.yaml:161:40: balance.protect.routing_rows[0]: unknown routing row 'customer'; "
            "did you mean 'customers'? (known: catch-all, cold-watchlist, customers, emea, "
            "na-enterprise, out-of-scope)"
        )
    ]


def test_signal_in_fields_must_be_an_intent_signal() -> None:
    text = edited("signals.hiring: last_hiring", "signals.hirin: last_hiring")

    assert issues_of(text) == [
        (
            "rules.yaml:21:5: fields.hubspot.signals.hirin: unknown signal 'hirin'; did you mean "
            "'hiring'? (known: funding, hiring, leadership_change, product_usage, rfp, "
            "tech_adoption); add it to intent.signals"
        )
    ]


def test_values_must_map_a_text_field_read_from_the_crm() -> None:
    assert issues_of(edited("  lifecycle:\n    hubspot:", "  lifecycel:\n    hubspot:")) == [
        (
            "rules.yaml:38:3: values.lifecycel: unknown field 'lifecycel'; did you mean "
            "'lifecycle'? (known: country, industry, lifecycle); values: maps text read from the "
            "CRM"
        )
    ]


# --- routing rows ------------------------------------------------------------------------------


def test_last_routing_row_must_match_every_account() -> None:
    text = edited(
        "    - id: catch-all\n      assign:",
        "    - id: catch-all\n      when: {fit: {eq: C}}\n      assign:",
    )

    assert issues_of(text) == [
        (
            "rules.yaml:156:13: routing.rows[5].when: the last routing row ('catch-all') must "
            "match every account: remove its `when`, or add a catch-all row after it"
        )
    ]


def test_row_matching_everything_before_the_end_hides_the_rows_after_it() -> None:
    text = edited("    - id: emea\n      when: {region: {eq: EMEA}}\n", "    - id: emea\n")

    assert issues_of(text) == [
        (
            "rules.yaml:152:11: routing.rows[4].id: row 'emea' matches every account, so the rows "
            "after it (catch-all) can never match; give it a `when` or move it last"
        )
    ]


# --- duplicates --------------------------------------------------------------------------------


def test_duplicate_team_id_names_the_first_one() -> None:
    issues = issues_of(edited("  - id: sdr-pool", "  - id: na-enterprise"))

    assert (
        issues[0]
        == "rules.yaml:119:9: teams[3].id: duplicate team id 'na-enterprise' (also teams[0])"
    )


def test_duplicate_routing_row_id_names_the_first_one() -> None:
    assert issues_of(edited("    - id: emea\n", "    - id: customers\n")) == [
        "rules.yaml:152:11: routing.rows[4].id: duplicate routing row id 'customers' (also rows[0])"
    ]


def test_duplicate_fit_row_id_names_the_first_one() -> None:
    text = edited("  - band: A\n", "  - band: A\n    id: core\n")
    text = edited("  - band: B\n", "  - band: B\n    id: core\n", text)

    assert issues_of(text) == [
        "rules.yaml:54:9: fit[1].id: duplicate fit row id 'core' (also fit[0])"
    ]


@pytest.mark.parametrize("written", ["ana@example.com", "Ana@Example.COM"])
def test_rep_in_two_teams_names_both(written: str) -> None:
    text = edited("{email: eve@example.com}", f"{{email: {written}}}")

    assert issues_of(text) == [
        (
            "rules.yaml:117:17: teams[2].members[0].email: ana@example.com is already in team "
            "'na-enterprise' (teams[0].members[0]); a rep belongs to one team"
        )
    ]


def test_named_account_named_twice_is_an_error_whatever_the_case() -> None:
    text = edited(
        "    reason: exec relationship\n",
        "    reason: exec relationship\n"
        "  - account: {domain: BigBank.example}\n"
        "    owner: ben@example.com\n"
        "    approved_by: cro@example.com\n"
        "    expires: 2027-03-31\n",
    )

    assert issues_of(text) == [
        (
            "rules.yaml:131:14: named_accounts[1].account: account domain 'BigBank.example' is "
            "already named in named_accounts[0]; an account has one named owner"
        )
    ]


# --- conditions ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (
            "{lifecycel: {eq: customer}}",
            (
                "rules.yaml:140:14: routing.rows[0].when.lifecycel: unknown field 'lifecycel'; did "
                "you mean 'lifecycle'? (known: annual_revenue, country, domain, employees, fit, "
                "industry, intent, lifecycle, …)"
            ),
        ),
        (
            "{lifecycle: {gte: 3}}",
            (
                "rules.yaml:140:31: routing.rows[0].when.lifecycle.gte: gte compares numbers, but "
                "lifecycle is text; use eq or in"
            ),
        ),
        (
            "{industry: {between: [1, 2]}}",
            (
                "rules.yaml:140:34: routing.rows[0].when.industry.between: between compares "
                "numbers, but industry is text; use eq or in"
            ),
        ),
        (
            "{employees: {eq: many}}",
            (
                "rules.yaml:140:30: routing.rows[0].when.employees.eq: employees is a number; "
                "expected a number, got 'many'"
            ),
        ),
        (
            "{lifecycle: {eq: 1.10}}",
            (
                "rules.yaml:140:30: routing.rows[0].when.lifecycle.eq: lifecycle is text; quote "
                "the "
                'value: "1.10"'
            ),
        ),
        (
            "{fit: {eq: E}}",
            (
                "rules.yaml:140:24: routing.rows[0].when.fit.eq: unknown fit value 'E' (known: A, "
                "B, C, D)"
            ),
        ),
        (
            "{intent: {in: [hot, cool]}}",
            (
                "rules.yaml:140:33: routing.rows[0].when.intent.in[1]: unknown intent value "
                "'cool'; did you mean 'cold'? (known: cold, hot, warm)"
            ),
        ),
        (
            "{region: {ne: EMEA2}}",
            (
                "rules.yaml:140:27: routing.rows[0].when.region.ne: unknown region value 'EMEA2'; "
                "did you mean 'EMEA'? (known: EMEA, NA)"
            ),
        ),
        (
            "{country: {in: [US, USA]}}",
            (
                f"rules.yaml:140:33: routing.rows[0].when.country.in[1]: {_ISO}, got 'USA'; did "
                "you mean 'US'?"
            ),
        ),
        (
            "{country: {not_in: [UK]}}",
            (
                f"rules.yaml:140:33: routing.rows[0].when.country.not_in[0]: {_ISO}, got 'UK'; ISO "
                "writes 'GB'"
            ),
        ),
        (
            "{country: {eq: ZZ}}",
            f"rules.yaml:140:28: routing.rows[0].when.country.eq: {_ISO}, got 'ZZ'",
        ),
    ],
    ids=[
        "unknown-field",
        "numeric-operator-on-text",
        "between-on-text",
        "text-on-number",
        "number-on-text",
        "fit-band",
        "intent-tier",
        "region",
        "alpha-3-country",
        "uk-country",
        "unassigned-country",
    ],
)
def test_routing_conditions_are_checked_against_the_field(when: str, expected: str) -> None:
    text = edited("when: {lifecycle: {eq: customer}}", f"when: {when}")

    assert issues_of(text) == [expected]


def test_conditions_match_text_case_insensitively_and_may_test_derived_fields() -> None:
    text = edited("when: {lifecycle: {eq: customer}}", "when: {lifecycle: {exists: true}}")
    text = edited("when: {fit: {eq: D}}", "when: {fit: {eq: d}, country: {in: [XK, GB]}}", text)
    text = edited("when: {intent: {eq: cold}}", "when: {intent: {in: [Cold, WARM]}}", text)
    text = edited(
        "{region: {eq: NA}, employees: {gte: 1000}}",
        "{region: {eq: na}, potential: {gte: 50}, tier: {lte: 2}}",
        text,
    )

    rule = load(text).rule

    assert rule.routing.rows[3].when["tier"].lte == 2


def test_fit_rows_cannot_test_what_is_worked_out_after_the_fit_band() -> None:
    text = edited(
        "      region: {in: [NA, EMEA]}\n  - band: B", "      intent: {eq: hot}\n  - band: B"
    )

    assert issues_of(text) == [
        (
            "rules.yaml:51:7: fit[0].when.intent: fit rows cannot test 'intent': it is worked out "
            "after the fit band (fit rows may test: annual_revenue, country, domain, employees, "
            "industry, lifecycle, name, region)"
        )
    ]


def test_custom_field_from_fields_can_be_tested_and_mapped() -> None:
    text = edited(
        "    signals.hiring: last_hiring_signal_date\n",
        "    signals.hiring: last_hiring_signal_date\n    segment: hs_segment\n",
    )
    text = edited(
        "  lifecycle:\n    hubspot:",
        "  segment:\n    hubspot: {SMB: smb}\n  lifecycle:\n    hubspot:",
        text,
    )
    text = edited("when: {lifecycle: {eq: customer}}", "when: {segment: {in: [smb]}}", text)

    rule = load(text).rule

    assert rule.routing.rows[0].when["segment"].in_ == ["smb"]


# --- regions and countries --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("new", "expected"),
    [
        ("ITA", f"rules.yaml:44:44: regions.EMEA[8]: {_ISO}, got 'ITA'; did you mean 'IT'?"),
        ("it", f"rules.yaml:44:44: regions.EMEA[8]: {_ISO}, got 'it'; write it as 'IT'"),
        ("UK", f"rules.yaml:44:44: regions.EMEA[8]: {_ISO}, got 'UK'; ISO writes 'GB'"),
        ("Italy", f"rules.yaml:44:44: regions.EMEA[8]: {_ISO}, got 'Italy'"),
        ("CA", "rules.yaml:44:44: regions.EMEA[8]: CA is already in region 'NA'"),
    ],
    ids=["alpha-3", "lower-case", "uk", "name", "in-two-regions"],
)
def test_region_countries_are_iso_alpha_2_codes_in_one_region(new: str, expected: str) -> None:
    assert issues_of(edited('"NO", ES, IT]', f'"NO", ES, {new}]')) == [expected]


# --- potential factors ---------------------------------------------------------------------


def test_scale_needs_a_numeric_field() -> None:
    text = edited("employees: {weight: 3, scale: log", "industry: {weight: 3, scale: log")

    assert issues_of(text) == [
        (
            "rules.yaml:67:5: potential.factors.industry: scale: needs a numeric field "
            "(annual_revenue, employees), got 'industry'; use values: for a text field"
        )
    ]


def test_value_table_needs_a_known_text_field() -> None:
    text = edited("    intent: {weight: 2, values:", "    intnt: {weight: 2, values:")

    assert issues_of(text) == [
        (
            "rules.yaml:69:5: potential.factors.intnt: unknown field 'intnt'; did you mean "
            "'intent'? (known: country, fit, industry, intent, lifecycle, region); a values: table "
            "scores a text field"
        )
    ]


def test_value_table_keys_must_be_values_of_the_field() -> None:
    assert issues_of(edited("C: 0.33, D: 0.0}", "C: 0.33, E: 0.0}")) == [
        (
            "rules.yaml:70:57: potential.factors.fit.values.E: unknown fit value 'E' (known: A, B, "
            "C, D)"
        )
    ]


def test_every_check_reports_at_once_in_file_order() -> None:
    text = edited("role: enterprise_ae", "role: enterprise")
    text = edited("routing_rows: [customers]", "routing_rows: [nobody]", text)
    text = edited(
        "{team: emea-midmarket, strategy: balanced}", "{team: emea, strategy: balanced}", text
    )

    issues = issues_of(text)

    assert [i.split(": ")[1] for i in issues] == [
        "teams[0].role",
        "routing.rows[4].assign.team",
        "balance.protect.routing_rows[0]",
    ]


def test_minimal_rule_file_passes_every_check() -> None:
    rule = load(minimal()).rule

    assert [row.id for row in rule.routing.rows] == ["everyone"]


# --- against the data (validate --source) ------------------------------------------------------

_REPS = ("ana", "ben", "chloe", "dmitri", "eve", "gus", "finn")


def data_warnings(text: str, *, inactive: tuple[str, ...] = ()) -> list[str]:
    """Warnings for `text` against an org of the example's reps (`inactive` ones inactive)."""
    loaded = load(text)
    owners = [Owner(id=r, email=f"{r}@example.com", active=r not in inactive) for r in _REPS]
    owners.append(Owner(id="queue", email="territory-queue@example.com"))
    snapshot = Snapshot(accounts=[Account(id="c1", domain="bigbank.example")], owners=owners)
    return [str(w) for w in check_rule_against_data(loaded.rule, snapshot, loaded.locate, {})]


def unstaffed(team: str, who: str) -> str:
    return (
        f"team '{team}' has no active member ({who}); the accounts this row sends there are left "
        "unassigned (over capacity) and the plan shows the team outside its band "
        "(no_active_members)"
    )


def test_team_routing_rows_send_accounts_to_without_an_active_member_is_a_located_warning() -> None:
    warnings = data_warnings(example_text(), inactive=("chloe", "dmitri", "finn"))

    assert [w for w in warnings if "routing.rows" in w] == [
        "rules.yaml:154:22: warning: routing.rows[4].assign.team: "
        + unstaffed("emea-midmarket", "none of its 2 member(s) is an active CRM owner"),
        # The watchlist row (rows[2]) only parks accounts in sdr-pool's pool; catch-all sends them.
        "rules.yaml:156:22: warning: routing.rows[5].assign.team: "
        + unstaffed("sdr-pool", "none of its 1 member(s) is an active CRM owner"),
    ]


def test_team_with_one_active_member_is_not_warned_about() -> None:
    assert [w for w in data_warnings(example_text(), inactive=("chloe",)) if "routing" in w] == []


def test_team_without_members_is_warned_about_once_at_the_first_row_that_routes_to_it() -> None:
    text = (
        minimal()
        .replace(
            "    members: [{email: ana@example.com}]\n",
            "    members: [{email: ana@example.com}]\n  - {id: empty, role: ae_full_cycle}\n",
        )
        .replace(
            "    - id: everyone\n",
            "    - {id: big, when: {employees: {gte: 500}}, assign: {team: empty}}\n"
            "    - {id: bigger, when: {employees: {gte: 5000}}, assign: {team: empty}}\n"
            "    - id: everyone\n",
        )
    )

    assert [w for w in data_warnings(text) if "routing" in w] == [
        "rules.yaml:10:63: warning: routing.rows[0].assign.team: "
        + unstaffed("empty", "it has no members")
    ]


# --- settings accepted but not yet acted on ------------------------------------------------


def test_settings_no_code_acts_on_yet_are_located_notices_in_file_order() -> None:
    notices = inert_settings(load(example_text()))

    assert [(str(n.location), n.path) for n in notices] == [
        ("rules.yaml:76:1", "activity"),
        ("rules.yaml:96:5", "teams[0].manager"),
        ("rules.yaml:136:3", "routing.enrichment_wait_minutes"),
        ("rules.yaml:137:3", "routing.keep_creator"),
        ("rules.yaml:170:1", "coverage"),
        ("rules.yaml:174:1", "neglect"),
        ("rules.yaml:181:1", "alerts"),
    ]
    assert {n.severity for n in notices} == {"notice"}
    assert str(notices[3]) == (
        f"rules.yaml:137:3: note: routing.keep_creator: {NOT_YET}: the rep who created an "
        "account is not read yet; new accounts route like any other"
    )


def test_a_file_that_leaves_those_settings_out_gets_no_notice() -> None:
    assert inert_settings(load(minimal("changes: {notice_days: 10}\n"))) == []


def test_a_notice_is_given_once_at_the_first_place_a_setting_is_written() -> None:
    text = minimal().replace(
        "    role: ae_full_cycle\n",
        "    role: ae_full_cycle\n    escalate_to: cro@example.com\n",
    )

    assert [n.path for n in inert_settings(load(text))] == ["teams[0].escalate_to"]
