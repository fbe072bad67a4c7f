"""The shape of the rule file: unknown keys, required keys, types and every field's bounds."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from rules.schema import RuleFile
from tests.unit.rule_text import edited, example_text, issues_of, load, minimal

# A small rule file for field-local tests: its lines read like the example's, and parsing it takes
# a tenth of the time (the pure-Python YAML scanner dominates the suite's run time).
_SMALL = (
    "version: 1\n"
    "revision: r1\n"
    "calendar:\n"
    "  fiscal_year_start: 01-01\n"
    "fit:\n"
    "  - band: A\n"
    "    when:\n"
    "      employees: {between: [200, 5000]}\n"
    "potential:\n"
    "  factors:\n"
    "    employees: {weight: 3, scale: log, range: [10, 100000]}\n"
    "teams:\n"
    "  - id: emea-midmarket\n"
    "    role: ae_full_cycle\n"
    "    members: [{email: chloe@example.com}]\n"
    "routing:\n"
    "  rows:\n"
    "    - id: out-of-scope\n"
    "      when: {fit: {eq: D}}\n"
    "      assign: {team: emea-midmarket, strategy: balanced}\n"
    "    - id: catch-all\n"
    "      assign: {team: emea-midmarket}\n"
)


def test_small_rule_file_is_valid() -> None:
    load(_SMALL)


# --- unknown and missing keys ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "hierarchy:\n",
            "hierarchi:\n",
            (
                "rules.yaml:132:1: hierarchi: unknown key 'hierarchi'; did you mean 'hierarchy'? "
                "(expected one of: activity, alerts, balance, calendar, capacity, changes, "
                "coverage, effective_from, fields, fit, hierarchy, intent, name, named_accounts, "
                "neglect, potential, regions, revision, routing, teams, tiers, values, version)"
            ),
        ),
        (
            "  hot_days: 30",
            "  hot_dayz: 30",
            (
                "rules.yaml:61:3: intent.hot_dayz: unknown key 'hot_dayz'; did you mean "
                "'hot_days'? (expected one of: hot_days, signals, warm_days)"
            ),
        ),
        (
            "{email: chloe@example.com, quota: 800000}",
            "{emial: chloe@example.com, quota: 800000}",
            (
                "rules.yaml:111:10: teams[1].members[0].emial: unknown key 'emial'; did you mean "
                "'email'? (expected one of: email, industries, out_of_office_until, quota, role, "
                "start_date)"
            ),
        ),
        (
            "when: {intent: {eq: cold}}",
            "when: {intent: {equals: cold}}",
            (
                "rules.yaml:147:23: routing.rows[2].when.intent.equals: unknown key 'equals' "
                "(expected one of: between, eq, exists, gt, gte, in, lt, lte, ne, not_in)"
            ),
        ),
        (
            "enterprise_ae: {max_accounts: 80}",
            "enterprise_ae: {max_account: 80}",
            (
                "rules.yaml:90:21: capacity.roles.enterprise_ae.max_account: unknown key "
                "'max_account'; did you mean 'max_accounts'? (expected one of: max_accounts)"
            ),
        ),
        (
            'slack: {channel: "#territory-alerts"}',
            'slack: {chanel: "#territory-alerts"}',
            (
                "rules.yaml:182:11: alerts.slack.chanel: unknown key 'chanel'; did you mean "
                "'channel'? (expected one of: channel)"
            ),
        ),
    ],
    ids=["top-level", "section", "list-item", "condition", "mapping-of-models", "optional"],
)
def test_unknown_key_points_at_the_key_and_suggests_the_close_match(
    old: str, new: str, expected: str
) -> None:
    # Only the unknown key: the misspelt required key is not reported missing as well.
    assert issues_of(edited(old, new)) == [expected]


@pytest.mark.parametrize(
    ("old", "expected"),
    [
        (
            "    approved_by: cro@example.com\n",
            (
                "rules.yaml:126:5: named_accounts[0].approved_by: missing required key "
                "'approved_by' (who approved the exception)"
            ),
        ),
        (
            "    expires: 2027-06-30\n",
            (
                "rules.yaml:126:5: named_accounts[0].expires: missing required key 'expires' "
                "(last day the exception holds)"
            ),
        ),
        (
            "    role: enterprise_ae\n",
            "rules.yaml:94:5: teams[0].role: missing required key 'role' (a key of capacity.roles)",
        ),
    ],
    ids=["named-approved_by", "named-expires", "team-role"],
)
def test_missing_required_key_is_located_at_its_parent(old: str, expected: str) -> None:
    assert issues_of(edited(old, "")) == [expected]


def test_missing_sections_are_named_at_the_top_of_the_file() -> None:
    assert issues_of("# rules\nversion: 1\nrevision: r1\n") == [
        "rules.yaml:2:1: routing: missing required key 'routing' (ordered routing rows)",
        "rules.yaml:2:1: teams: missing required key 'teams' (teams of reps; one team per rep)",
    ]


def test_missing_key_of_a_section_points_at_the_section_key() -> None:
    assert (
        issues_of(edited("  rows:\n", "  lines:\n"))
        == [
            (
                "rules.yaml:138:3: routing.lines: unknown key 'lines' (expected one of: "
                "enrichment_wait_minutes, keep_creator, rows)"
            ),
            (
                "rules.yaml:135:1: routing.rows: missing required key 'rows' (ordered rows; first "
                "match wins; the last matches everything)"
            ),
        ][::-1]
    )


# --- types ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "hot_days: 30",
            "hot_days: thirty",
            "rules.yaml:61:13: intent.hot_days: expected a whole number above 0, got thirty",
        ),
        (
            "hot_days: 30",
            "hot_days: 30.5",
            "rules.yaml:61:13: intent.hot_days: expected a whole number above 0, got 30.5",
        ),
        (
            "hot_days: 30",
            'hot_days: "30"',
            (
                'rules.yaml:61:13: intent.hot_days: expected a whole number above 0, got "30" '
                "(quoted text)"
            ),
        ),
        (
            "hot_days: 30",
            "hot_days: [30]",
            "rules.yaml:61:13: intent.hot_days: expected a whole number above 0, got a list",
        ),
        (
            "hot_days: 30",
            "hot_days: .inf",
            "rules.yaml:61:13: intent.hot_days: expected a whole number above 0, got .inf",
        ),
        (
            "tolerance: 0.10",
            "tolerance: .nan",
            (
                "rules.yaml:160:14: balance.tolerance: expected a finite number above 0 and below "
                "1, got .nan"
            ),
        ),
        (
            "quota: 1200000",
            "quota: lots",
            "rules.yaml:102:16: teams[0].members[0].quota: expected a number at least 0, got lots",
        ),
        (
            "off_territory: true",
            "off_territory: yes",
            "rules.yaml:78:18: activity.off_territory: expected true or false, got yes",
        ),
        (
            "keep_creator: false",
            "keep_creator: 0",
            "rules.yaml:137:17: routing.keep_creator: expected true or false, got 0",
        ),
        (
            "hierarchy:\n  children_follow_parent: true",
            "hierarchy: true",
            "rules.yaml:132:12: hierarchy: expected a mapping, got true",
        ),
        (
            (
                "regions:                        # derived field: region from the ISO country "
                "code\n"
                '  NA: [US, CA]\n  EMEA: [GB, IE, DE, FR, NL, SE, "NO", ES, IT]\n'
            ),
            "regions: [US, CA]\n",
            "rules.yaml:42:10: regions: expected a mapping, got a list",
        ),
        (
            "expires: 2027-06-30",
            "expires: 20270630",
            (
                "rules.yaml:129:14: named_accounts[0].expires: expected a date YYYY-MM-DD such as "
                "2027-06-30, got 20270630"
            ),
        ),
        (
            'revision: "fy27-q1.3"',
            'revision: ""',
            "rules.yaml:4:11: revision: expected text, got an empty string",
        ),
        (
            'channel: "#territory-alerts"',
            "channel: null",
            "rules.yaml:182:20: alerts.slack.channel: expected text, got null",
        ),
    ],
    ids=[
        "word-for-int",
        "fraction-for-int",
        "quoted-int",
        "list-for-int",
        "inf",
        "nan",
        "word-for-number",
        "yes-for-bool",
        "zero-for-bool",
        "bool-for-section",
        "list-for-mapping",
        "number-for-date",
        "empty-revision",
        "null-for-text",
    ],
)
def test_wrong_type_names_what_was_expected(old: str, new: str, expected: str) -> None:
    assert issues_of(edited(old, new)) == [expected]


@pytest.mark.parametrize(
    ("new", "expected"),
    [
        (
            "{eq: [D, C]}",
            (
                "rules.yaml:19:24: routing.rows[0].when.fit.eq: expected text or a number, got a "
                "list; to compare with several values use in: [...]"
            ),
        ),
        (
            "{eq: true}",
            "rules.yaml:19:24: routing.rows[0].when.fit.eq: expected text or a number, got true",
        ),
        (
            "{eq: }",
            (
                "rules.yaml:19:20: routing.rows[0].when.fit.eq: expected a value after the "
                "operator, got an empty value"
            ),
        ),
        (
            "{in: D}",
            "rules.yaml:19:24: routing.rows[0].when.fit.in: expected a list such as [D], got D",
        ),
        (
            "{}",
            (
                "rules.yaml:19:14: routing.rows[0].when.fit: a condition needs an operator: eq, "
                "ne, in, not_in, between, gte, gt, lte, lt or exists"
            ),
        ),
        (
            "{exists: maybe}",
            "rules.yaml:19:28: routing.rows[0].when.fit.exists: expected true or false, got maybe",
        ),
    ],
    ids=["list-for-eq", "bool-for-eq", "empty-eq", "scalar-for-in", "no-operator", "exists"],
)
def test_condition_operator_values(new: str, expected: str) -> None:
    assert issues_of(edited("when: {fit: {eq: D}}", f"when: {{fit: {new}}}", _SMALL)) == [expected]


# --- bounds of every number ----------------------------------------------------------------------

# (old, new): each edit puts one number of the example out of its bounds.
_OUT_OF_BOUNDS = [
    ("hot_days: 30", "hot_days: 0"),
    ("tier1: 0.20 ", "tier1: 0 "),
    ("working_days_per_quarter: 60", "working_days_per_quarter: 0"),
    ("focus_hours_per_day: 5", "focus_hours_per_day: 25"),
    ("{tier1: 90, tier2: 45", "{tier1: 0, tier2: 45"),
    ("{until_day: 30, share: 0.25}", "{until_day: 0, share: 1.5}"),
    ("enterprise_ae: {max_accounts: 80}", "enterprise_ae: {max_accounts: 0}"),
    ("avg_deal_size: 40000", "avg_deal_size: 0"),
    ("win_rate: 0.25", "win_rate: 25"),
    ("account_to_opportunity: 0.08", "account_to_opportunity: 0"),
    ("quota: 900000", "quota: -1"),
    ("enrichment_wait_minutes: 15", "enrichment_wait_minutes: -1"),
    ("index: {potential: 0.5, effort: 0.5}", "index: {potential: -1, effort: 0.5}"),
    ("tolerance: 0.10", "tolerance: 1"),
    ("max_moves_per_quarter: 0.15", "max_moves_per_quarter: 15"),
    ("notice_days: 30", "notice_days: -30"),
    ("max_share_per_run: 0.10", "max_share_per_run: 0"),
    ("max_forced_share: 0.30", "max_forced_share: 30"),
    ("respect_manual_days: 90", "respect_manual_days: -1"),
    ("window_days: {tier1: 30", "window_days: {tier1: 0"),
    ("targets: {tier1: 0.90", "targets: {tier1: 90"),
    (
        "  tier1: 30\n  tier2: 60\n  tier3: 90\n  escalate",
        "  tier1: -5\n  tier2: 60\n  tier3: 90\n  escalate",
    ),
    ("escalate_after_days: 14", "escalate_after_days: 0"),
    ("reclaim_after_days: null", "reclaim_after_days: 0"),
]


def test_every_number_out_of_its_bounds_is_located_with_its_range() -> None:
    # One load for all of them: each YAML parse of the example costs ~20 ms.
    text = example_text()
    for old, new in _OUT_OF_BOUNDS:
        text = edited(old, new, text)

    assert issues_of(text) == [
        "rules.yaml:61:13: intent.hot_days: expected a whole number above 0, got 0",
        "rules.yaml:73:10: tiers.tier1: expected a number above 0 and at most 1, got 0",
        (
            "rules.yaml:81:29: capacity.working_days_per_quarter: expected a whole number above 0, "
            "got 0"
        ),
        (
            "rules.yaml:82:24: capacity.focus_hours_per_day: expected a number above 0 and at most "
            "24, got 25"
        ),
        (
            "rules.yaml:83:32: capacity.minutes_per_account.tier1: expected a whole number above "
            "0, got 0"
        ),
        "rules.yaml:85:19: capacity.ramp[0].until_day: expected a whole number above 0, got 0",
        (
            "rules.yaml:85:29: capacity.ramp[0].share: expected a number above 0 and at most 1, "
            "got 1.5"
        ),
        (
            "rules.yaml:90:35: capacity.roles.enterprise_ae.max_accounts: expected a whole number "
            "above 0, got 0"
        ),
        "rules.yaml:98:31: teams[0].pipeline.avg_deal_size: expected a number above 0, got 0",
        (
            "rules.yaml:98:44: teams[0].pipeline.win_rate: expected a number above 0 and at most "
            "1, got 25"
        ),
        (
            "rules.yaml:98:72: teams[0].pipeline.account_to_opportunity: expected a number above 0 "
            "and at most 1, got 0"
        ),
        "rules.yaml:105:16: teams[0].members[1].quota: expected a number at least 0, got -1",
        (
            "rules.yaml:136:28: routing.enrichment_wait_minutes: expected a whole number at least "
            "0, got -1"
        ),
        "rules.yaml:159:22: balance.index.potential: expected a number at least 0, got -1",
        "rules.yaml:160:14: balance.tolerance: expected a number above 0 and below 1, got 1",
        (
            "rules.yaml:162:26: balance.max_moves_per_quarter: expected a number at least 0 and at "
            "most 1, got 15"
        ),
        (
            "rules.yaml:165:16: changes.notice_days: expected a whole number at least 0 and at "
            "most 3650, got -30"
        ),
        (
            "rules.yaml:166:22: changes.max_share_per_run: expected a number above 0 and at most "
            "1, got 0"
        ),
        (
            "rules.yaml:167:21: changes.max_forced_share: expected a number above 0 and at most 1, "
            "got 30"
        ),
        (
            "rules.yaml:168:24: changes.respect_manual_days: expected a whole number at least 0 "
            "and at most 3650, got -1"
        ),
        "rules.yaml:171:24: coverage.window_days.tier1: expected a whole number above 0, got 0",
        (
            "rules.yaml:172:20: coverage.targets.tier1: expected a number above 0 and at most 1, "
            "got 90"
        ),
        "rules.yaml:175:10: neglect.tier1: expected a whole number above 0, got -5",
        "rules.yaml:178:24: neglect.escalate_after_days: expected a whole number above 0, got 0",
        "rules.yaml:179:23: neglect.reclaim_after_days: expected a whole number above 0, got 0",
    ]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "warm_days: 90",
            "warm_days: 20",
            "rules.yaml:62:14: intent.warm_days: warm_days (20) must be at least hot_days (30)",
        ),
        (
            "tier2: 0.30",
            "tier2: 0.90",
            "rules.yaml:74:10: tiers.tier2: tier1 + tier2 = 1.1; the shares must sum to at most 1",
        ),
        (
            "{until_day: 90, share: 0.5}",
            "{until_day: 30, share: 0.5}",
            (
                "rules.yaml:85:5: capacity.ramp: until_day must increase from row to row: "
                "ramp[1].until_day 30 is not above ramp[0].until_day 30"
            ),
        ),
        (
            "index: {potential: 0.5, effort: 0.5}",
            "index: {potential: 0, effort: 0}",
            "rules.yaml:159:3: balance.index: potential and effort weights cannot both be zero",
        ),
    ],
    ids=["warm-below-hot", "tier-sum", "ramp-order", "index-both-zero"],
)
def test_numbers_that_depend_on_each_other(old: str, new: str, expected: str) -> None:
    assert issues_of(edited(old, new)) == [expected]


def test_tier_shares_may_sum_to_exactly_one() -> None:
    rule = load(edited("tier2: 0.30", "tier2: 0.80")).rule

    assert (rule.tiers.tier1, rule.tiers.tier2) == (0.2, 0.8)


def test_defaulted_tier2_still_counts_toward_the_sum() -> None:
    assert issues_of(minimal("tiers: {tier1: 0.9}\n")) == [
        "rules.yaml:11:1: tiers: tier1 + tier2 = 1.2; the shares must sum to at most 1"
    ]


def test_defaulted_warm_days_must_not_be_shorter_than_hot_days() -> None:
    assert issues_of(minimal("intent: {hot_days: 120}\n")) == [
        "rules.yaml:11:1: intent: warm_days (90) must be at least hot_days (120)"
    ]


# --- potential factors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("new", "expected"),
    [
        (
            "{weight: 3, scale: log, range: [0, 100000]}",
            (
                "rules.yaml:11:47: potential.factors.employees.range: scale: log needs a range "
                "above zero, got low 0"
            ),
        ),
        (
            "{weight: 3, scale: linear, range: [100000, 10]}",
            (
                "rules.yaml:11:50: potential.factors.employees.range: expected [low, high] with "
                "low below high, got [100000, 10]"
            ),
        ),
        (
            "{weight: 3, scale: linear, range: [10, 10]}",
            (
                "rules.yaml:11:50: potential.factors.employees.range: expected [low, high] with "
                "low below high, got [10, 10]"
            ),
        ),
        (
            "{weight: 3, scale: log}",
            "rules.yaml:11:5: potential.factors.employees: scale: log needs range: [low, high]",
        ),
        (
            "{weight: 3, range: [10, 100000]}",
            (
                "rules.yaml:11:5: potential.factors.employees: a factor needs either `scale` with "
                "`range`, or `values`"
            ),
        ),
        (
            "{weight: 3, scale: log, range: [10, 100000], values: {A: 1}}",
            (
                "rules.yaml:11:5: potential.factors.employees: a factor needs either `scale` with "
                "`range`, or `values`"
            ),
        ),
        (
            "{weight: 0, scale: log, range: [10, 100000]}",
            (
                "rules.yaml:11:25: potential.factors.employees.weight: expected a number above 0, "
                "got 0"
            ),
        ),
        (
            "{weight: 3, scale: cubic, range: [10, 100000]}",
            (
                "rules.yaml:11:35: potential.factors.employees.scale: expected one of 'log' or "
                "'linear', got cubic"
            ),
        ),
    ],
    ids=[
        "log-from-zero",
        "low-above-high",
        "empty-range",
        "scale-without-range",
        "range-without-scale",
        "scale-and-values",
        "zero-weight",
        "unknown-scale",
    ],
)
def test_factor_shape(new: str, expected: str) -> None:
    old = "{weight: 3, scale: log, range: [10, 100000]}"
    assert issues_of(edited(f"employees: {old}", f"employees: {new}", _SMALL)) == [expected]


def test_factor_value_scores_are_between_zero_and_one() -> None:
    assert issues_of(edited("hot: 1.0", "hot: 2")) == [
        (
            "rules.yaml:69:39: potential.factors.intent.values.hot: expected a number at least 0 "
            "and at most 1, got 2"
        )
    ]


def test_potential_needs_a_factor() -> None:
    assert issues_of(minimal("potential: {factors: {}}\n")) == [
        "rules.yaml:11:13: potential.factors: expected at least 1 entry, got none"
    ]


# --- ranges in conditions --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("new", "expected"),
    [
        (
            "[5000, 200]",
            (
                "rules.yaml:8:28: fit[0].when.employees.between: expected [low, high] with low at "
                "most high, got [5000, 200]"
            ),
        ),
        (
            "[200]",
            (
                "rules.yaml:8:28: fit[0].when.employees.between: expected two numbers [low, "
                "high], got 1 value"
            ),
        ),
        (
            "[200, 5000, 9000]",
            (
                "rules.yaml:8:28: fit[0].when.employees.between: expected two numbers [low, "
                "high], got 3 values"
            ),
        ),
        (
            "[low, 5000]",
            "rules.yaml:8:29: fit[0].when.employees.between[0]: expected a number, got low",
        ),
    ],
    ids=["low-above-high", "one-value", "three-values", "word"],
)
def test_between_takes_low_and_high(new: str, expected: str) -> None:
    assert issues_of(edited("between: [200, 5000]", f"between: {new}", _SMALL)) == [expected]


def test_between_a_single_value_is_allowed() -> None:
    rule = load(edited("between: [200, 5000]", "between: [200, 200]")).rule

    assert rule.fit[0].when["employees"].between == (200, 200)


# --- assign, text shapes, choices ------------------------------------------------------------


@pytest.mark.parametrize(
    ("new", "expected"),
    [
        (
            "{unassigned: true, watchlist: true, team: sdr-pool}",
            "choose one of unassigned: true or watchlist: true",
        ),
        ("{watchlist: true}", "watchlist: true needs the team whose pool holds the accounts"),
        ("{strategy: balanced}", "assign needs a team (or unassigned: true / watchlist: true)"),
        (
            "{team: emea-midmarket, holding_owner: queue@example.com}",
            "holding_owner applies only with unassigned or watchlist",
        ),
    ],
    ids=["unassigned-and-watchlist", "watchlist-without-team", "no-team", "holding-owner"],
)
def test_assign_must_be_coherent(new: str, expected: str) -> None:
    text = edited("assign: {team: emea-midmarket, strategy: balanced}", f"assign: {new}", _SMALL)

    assert issues_of(text) == [f"rules.yaml:20:7: routing.rows[0].assign: {expected}"]


@pytest.mark.parametrize(
    ("new", "expected"),
    [
        ("02-30", "expected MM-DD, but '02-30' is not a day of the year"),
        ("02-29", "expected MM-DD, but '02-29' is not a day of the year"),
        ("13-01", "expected MM-DD, but '13-01' is not a day of the year"),
        ("1-1", "expected MM-DD such as 01-01 or 02-01, got '1-1'"),
        ("2027-01-01", "expected MM-DD such as 01-01 or 02-01, got '2027-01-01'"),
    ],
)
def test_fiscal_year_start_is_a_month_and_day(new: str, expected: str) -> None:
    text = edited("fiscal_year_start: 01-01", f"fiscal_year_start: {new}", _SMALL)

    assert issues_of(text) == [f"rules.yaml:4:22: calendar.fiscal_year_start: {expected}"]


def test_fiscal_year_may_start_in_february() -> None:
    rule = load(edited("fiscal_year_start: 01-01", "fiscal_year_start: 02-01")).rule

    assert rule.calendar.fiscal_year_start == "02-01"


def test_email_fields_need_an_email_address() -> None:
    text = example_text()
    for old, new in [
        (
            "manager: dana.manager@example.com\n    escalate_to",
            "manager: dana.manager\n    escalate_to",
        ),
        ("{email: chloe@example.com, quota", "{email: chloe at example.com, quota"),
        ("approved_by: cro@example.com", "approved_by: the CRO"),
        ("holding_owner: territory-queue@example.com", "holding_owner: territory-queue"),
        ("email: {to_manager: true}", "email: {to_manager: true, to: [ops@example]}"),
    ]:
        text = edited(old, new, text)
    expected = "expected an email address such as ana@example.com, got"

    assert issues_of(text) == [
        f"rules.yaml:96:14: teams[0].manager: {expected} 'dana.manager'",
        f"rules.yaml:111:17: teams[1].members[0].email: {expected} 'chloe at example.com'",
        f"rules.yaml:128:18: named_accounts[0].approved_by: {expected} 'the CRO'",
        f"rules.yaml:148:64: routing.rows[2].assign.holding_owner: {expected} 'territory-queue'",
        f"rules.yaml:183:34: alerts.email.to[0]: {expected} 'ops@example'",
    ]


def test_emails_compare_case_insensitively() -> None:
    rule = load(edited("owner: ana@example.com", "owner: Ana@Example.com")).rule

    assert rule.named_accounts[0].owner == "ana@example.com"


def test_ids_are_letters_digits_dashes_underscores_and_dots() -> None:
    text = example_text()
    for old, new in [
        ("signals: [funding, hiring,", 'signals: ["funding round", hiring,'),
        ("    enterprise_ae: {max_accounts: 80}", '    "enterprise ae": {max_accounts: 80}'),
        ("  - id: sdr-pool", '  - id: "sdr pool"'),
        ("    - id: emea\n", "    - id: _emea\n"),
    ]:
        text = edited(old, new, text)
    expected = (
        "expected an id of letters, digits, '-', '_' or '.' (starting with a letter or digit)"
    )

    assert issues_of(text) == [
        f"rules.yaml:63:13: intent.signals[0]: {expected}, got 'funding round'",
        f"rules.yaml:90:5: capacity.roles.enterprise ae: {expected}, got 'enterprise ae'",
        f"rules.yaml:119:9: teams[3].id: {expected}, got 'sdr pool'",
        f"rules.yaml:152:11: routing.rows[4].id: {expected}, got '_emea'",
    ]


def test_region_name_is_an_id() -> None:
    assert issues_of(edited("NA: [US, CA]", '"N/A": [US, CA]')) == [
        (
            "rules.yaml:43:3: regions.N/A: expected an id of letters, digits, '-', '_' or '.' "
            "(starting with a letter or digit), got 'N/A'"
        )
    ]


def test_choice_fields_list_their_choices() -> None:
    text = example_text()
    for old, new in [
        ("  salesforce:\n    industry: Industry", "  salesforc:\n    industry: Industry"),
        ("    salesforce: {Technology", "    pipedrive: {Technology"),
        ("  - band: C", "  - band: D"),
        ("source: any ", "source: anyone "),
        ("strategy: keep_owner}", "strategy: keep_ownr}"),
        ("prefer: affinity}", "prefer: industry}"),
        ("protect: {tiers: [1]", "protect: {tiers: [4]"),
    ]:
        text = edited(old, new, text)
    crms = "expected one of 'hubspot', 'salesforce' or 'csv'"

    assert issues_of(text) == [
        f"rules.yaml:22:3: fields.salesforc: {crms}, got 'salesforc'; did you mean 'salesforce'?",
        f"rules.yaml:37:5: values.industry.pipedrive: {crms}, got 'pipedrive'",
        "rules.yaml:56:11: fit[2].band: expected one of 'A', 'B' or 'C', got D",
        (
            "rules.yaml:77:11: activity.source: expected one of 'any' or 'owner', got anyone; did "
            "you mean 'any'?"
        ),
        (
            "rules.yaml:142:52: routing.rows[0].assign.strategy: expected one of 'keep_owner' or "
            "'balanced', got keep_ownr; did you mean 'keep_owner'?"
        ),
        "rules.yaml:151:65: routing.rows[3].assign.prefer: expected 'affinity', got industry",
        "rules.yaml:161:21: balance.protect.tiers[0]: expected one of 1, 2 or 3, got 4",
    ]


@pytest.mark.parametrize(
    ("new", "expected"),
    [
        (
            "{}",
            (
                "rules.yaml:126:5: named_accounts[0].account: name the account by exactly one "
                "of id, domain or name"
            ),
        ),
        (
            "{domain: bigbank.example, name: Big Bank}",
            (
                "rules.yaml:126:5: named_accounts[0].account: name the account by exactly one of "
                "id, domain or name"
            ),
        ),
        (
            '{domain: ""}',
            (
                "rules.yaml:126:23: named_accounts[0].account.domain: expected text, got an empty "
                "string"
            ),
        ),
        (
            "{id: 12345}",
            (
                "rules.yaml:126:19: named_accounts[0].account.id: expected text, but YAML reads "
                '12345 as a number; quote it: id: "12345"'
            ),
        ),
    ],
    ids=["none", "two", "empty", "numeric-id"],
)
def test_named_account_is_named_by_exactly_one_of_id_domain_or_name(
    new: str, expected: str
) -> None:
    assert issues_of(edited("account: {domain: bigbank.example}", f"account: {new}")) == [expected]


def test_a_rule_file_needs_a_team() -> None:
    text = minimal().replace(
        "teams:\n  - id: sales\n    role: ae_full_cycle\n    members: [{email: ana@example.com}]\n",
        "teams: []\n",
    )

    assert issues_of(text) == ["rules.yaml:3:8: teams: expected at least 1 entry, got none"]


def test_routing_needs_a_row() -> None:
    text = minimal().replace(
        "  rows:\n    - id: everyone\n      assign: {team: sales}\n", "  rows: []\n"
    )

    assert issues_of(text) == ["rules.yaml:8:9: routing.rows: expected at least 1 entry, got none"]


def test_several_problems_are_reported_together_in_file_order() -> None:
    text = edited("hot_days: 30", "hot_days: 0")
    text = edited("tolerance: 0.10", "tolerance: 2", text)
    text = edited('revision: "fy27-q1.3"', "revision: 1.10", text)

    issues = issues_of(text)

    assert [i.split(": ")[0] for i in issues] == [
        "rules.yaml:4:11",
        "rules.yaml:61:13",
        "rules.yaml:160:14",
    ]


# --- the models themselves ---------------------------------------------------------------------


def _models(model: type[BaseModel], seen: dict[str, type[BaseModel]]) -> dict[str, Any]:
    seen[model.__name__] = model
    for field in model.model_fields.values():
        for candidate in _types_in(field.annotation):
            if candidate.__name__ not in seen:
                _models(candidate, seen)
    return seen


def _types_in(annotation: Any) -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = []
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        found.append(annotation)
    for arg in getattr(annotation, "__args__", ()):
        found.extend(_types_in(arg))
    return found


_ALL_MODELS = _models(RuleFile, {})


@pytest.mark.parametrize("name", sorted(_ALL_MODELS))
def test_every_model_forbids_unknown_keys_and_documents_its_fields(name: str) -> None:
    model = _ALL_MODELS[name]
    undocumented = [f for f, info in model.model_fields.items() if not info.description]

    assert model.model_config.get("extra") == "forbid"
    assert model.__doc__
    assert undocumented == []


def test_json_schema_carries_descriptions_and_forbids_extra_keys() -> None:
    schema = RuleFile.model_json_schema(by_alias=True)

    assert schema["additionalProperties"] is False
    assert "in" in schema["$defs"]["Condition"]["properties"]
    for name, definition in schema["$defs"].items():
        assert definition.get("additionalProperties") is False, name
        for key, prop in definition["properties"].items():
            assert prop.get("description"), f"{name}.{key}"


_REFERENCE_PAGE = Path(__file__).resolve().parents[2] / "docs" / "rules.md"


def test_reference_page_documents_every_field() -> None:
    page = _REFERENCE_PAGE.read_text(encoding="utf-8")
    in_code = " ".join(re.findall(r"`([^`\n]+)`", page))
    names = {
        info.alias or name
        for model in _ALL_MODELS.values()
        for name, info in model.model_fields.items()
    }

    missing = sorted(
        n for n in names if not re.search(rf"(?<![\w]){re.escape(n)}(?![\w])", in_code)
    )

    assert missing == []
