"""The YAML layer of the rule file: YAML 1.2 values, duplicate keys, located syntax errors."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules.errors import RuleError, RuleIssue
from rules.loader import load_rules
from tests.unit.rule_text import edited, example_text, issues_of, load, minimal

_EXPECTED_MAPPING = "expected a mapping of rule settings (version:, revision:, teams:, routing:, …)"


def test_unquoted_NO_stays_the_country_code_for_norway() -> None:  # noqa: N802 - the YAML word
    rule = load(edited('SE, "NO", ES', "SE, NO, ES")).rule

    assert rule.regions["EMEA"][6] == "NO"


def test_yaml_1_1_booleans_stay_text() -> None:
    text = edited("name: FY27 North America + EMEA", "name: yes")
    text = edited("reason: exec relationship", "reason: off", text)
    text = edited("lead: prospect}", "lead: prospect, y: n, on: no}", text)

    rule = load(text).rule

    assert (rule.name, rule.named_accounts[0].reason) == ("yes", "off")
    assert rule.values["lifecycle"]["hubspot"]["y"] == "n"
    assert rule.values["lifecycle"]["hubspot"]["on"] == "no"


def test_quoted_revision_keeps_its_trailing_zero() -> None:
    rule = load(edited('revision: "fy27-q1.3"', 'revision: "1.10"')).rule

    assert rule.revision == "1.10"


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        (
            "1.10",
            (
                "rules.yaml:4:11: revision: expected text, but YAML reads 1.10 as a number; "
                'quote it: revision: "1.10"'
            ),
        ),
        (
            "2027",
            (
                "rules.yaml:4:11: revision: expected text, but YAML reads 2027 as a number; "
                'quote it: revision: "2027"'
            ),
        ),
        (
            "true",
            (
                "rules.yaml:4:11: revision: expected text, but YAML reads true as true/false; "
                'quote it: revision: "true"'
            ),
        ),
    ],
)
def test_number_or_bool_where_text_is_expected_suggests_quoting(
    written: str, expected: str
) -> None:
    assert issues_of(edited('revision: "fy27-q1.3"', f"revision: {written}")) == [expected]


def test_bool_in_a_list_of_text_suggests_quoting_the_item() -> None:
    issues = issues_of(edited('SE, "NO", ES', "SE, false, ES"))

    assert issues == [
        (
            "rules.yaml:44:34: regions.EMEA[6]: expected text, but YAML reads false as true/false; "
            'quote it: "false"'
        )
    ]


def test_number_as_a_mapped_value_suggests_quoting() -> None:
    issues = issues_of(edited("FINANCIAL_SERVICES: fintech", "FINANCIAL_SERVICES: 12"))

    assert issues == [
        (
            "rules.yaml:36:35: values.industry.hubspot.FINANCIAL_SERVICES: expected text, but YAML "
            'reads 12 as a number; quote it: FINANCIAL_SERVICES: "12"'
        )
    ]


def test_second_routing_section_is_an_error_naming_both_lines() -> None:
    text = example_text() + "routing:\n  rows: []\n"

    assert issues_of(text) == [
        (
            "rules.yaml:184:1: routing: duplicate key 'routing' (first defined at line 135, "
            "column 1); a second definition would silently replace the first"
        )
    ]


def test_duplicate_key_inside_a_flow_mapping_is_located() -> None:
    text = edited(
        "{email: chloe@example.com, quota: 800000}",
        "{email: chloe@example.com, quota: 800000, quota: 1}",
    )

    assert issues_of(text) == [
        (
            "rules.yaml:111:51: teams[1].members[0].quota: duplicate key 'quota' (first defined at "
            "line 111, column 36); a second definition would silently replace the first"
        )
    ]


def test_duplicate_key_in_a_list_item_is_located() -> None:
    text = edited("  - id: sdr-pool\n", "  - id: sdr-pool\n    id: sdr-team\n")

    assert issues_of(text) == [
        (
            "rules.yaml:120:5: teams[3].id: duplicate key 'id' (first defined at line 119, "
            "column 5); a second definition would silently replace the first"
        )
    ]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "expires: 2027-06-30",
            "expires: 2027-02-31",
            (
                "rules.yaml:129:14: named_accounts[0].expires: expected a date YYYY-MM-DD such as "
                "2027-06-30, got 2027-02-31 (day value is outside expected range)"
            ),
        ),
        (
            "effective_from: 2027-01-01",
            "effective_from: 2027-13-01",
            (
                "rules.yaml:6:17: effective_from: expected a date YYYY-MM-DD such as 2027-06-30, "
                "got 2027-13-01 (month value is outside expected range of 1-12)"
            ),
        ),
        (
            "out_of_office_until: 2027-01-20",
            "out_of_office_until: 2027-02-29",
            (
                "rules.yaml:112:73: teams[1].members[1].out_of_office_until: expected a date "
                "YYYY-MM-DD such as 2027-06-30, got 2027-02-29 (day value is outside expected "
                "range)"
            ),
        ),
        (
            "start_date: 2026-10-15",
            "start_date: 2026-10-15T09:30:00",
            (
                "rules.yaml:104:21: teams[0].members[1].start_date: expected a date YYYY-MM-DD "
                "such as 2027-06-30, got 2026-10-15T09:30:00 (Datetimes provided to dates should "
                "have zero time - e.g. be exact dates)"
            ),
        ),
    ],
    ids=["feb-31", "month-13", "feb-29-non-leap", "datetime"],
)
def test_impossible_date_is_a_located_error(old: str, new: str, expected: str) -> None:
    assert issues_of(edited(old, new)) == [expected]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "version: 1\nrevision: [r1\n",
            "rules.yaml:3:1: YAML syntax error: expected ',' or ']', but got '<stream end>'",
        ),
        (
            "version: 1\n  revision: r1\n",
            "rules.yaml:2:11: YAML syntax error: mapping values are not allowed here",
        ),
        (
            "version: 1\nteams:\n\t- id: a\n",
            "rules.yaml:3:1: YAML syntax error: found character '\\t' that cannot start any token",
        ),
        (
            "version: 1\nrevision: *r1\n",
            "rules.yaml:2:11: YAML syntax error: found undefined alias 'r1'",
        ),
        (
            "version: 1\n---\nversion: 2\n",
            "rules.yaml:2:1: YAML syntax error: but found another document",
        ),
        (
            'version: 1\nrevision: "r1\n',
            "rules.yaml:3:1: YAML syntax error: found unexpected end of stream",
        ),
    ],
    ids=["unclosed-list", "bad-indent", "tab", "undefined-alias", "two-documents", "open-quote"],
)
def test_yaml_syntax_error_is_located(text: str, expected: str) -> None:
    assert issues_of(text) == [expected]


@pytest.mark.parametrize("text", ["", "\n\n", "   \n", "# only a comment\n"])
def test_empty_file_is_a_located_error(text: str) -> None:
    assert issues_of(text) == [f"rules.yaml:1:1: the file is empty; {_EXPECTED_MAPPING}"]


@pytest.mark.parametrize(
    ("text", "got"),
    [
        ("- version: 1\n- revision: r1\n", "rules.yaml:1:1: {expected}, got a list"),
        (
            "# rules\nterritories\n",
            "rules.yaml:2:1: {expected}, got the single value 'territories'",
        ),
        ("---\n", "rules.yaml:2:1: {expected}, got an empty document"),
        ("null\n", "rules.yaml:1:1: {expected}, got an empty document"),
    ],
    ids=["list", "scalar", "document-marker-only", "null"],
)
def test_document_that_is_not_a_mapping_is_a_located_error(text: str, got: str) -> None:
    assert issues_of(text) == [got.format(expected=_EXPECTED_MAPPING)]


def test_unreadable_character_is_located_at_its_offset() -> None:
    assert issues_of("version: 1\nrevision: r\x001\n") == [
        "rules.yaml:2:12: unreadable character #x0000: special characters are not allowed"
    ]


def test_key_that_is_a_list_is_a_located_error() -> None:
    assert issues_of("version: 1\n? [a, b]\n: 1\n") == [
        "rules.yaml:2:3: a key must be a plain value"
    ]


@pytest.mark.parametrize("key", ["1.10", "true", "~"])
def test_keys_keep_the_text_they_are_written_as(key: str) -> None:
    issues = issues_of(edited("hierarchy:\n", f"{key}: 1\nhierarchy:\n"))

    assert len(issues) == 1
    assert issues[0].startswith(f"rules.yaml:132:1: {key}: unknown key '{key}' (expected one of:")


def test_yaml_1_2_integers() -> None:
    text = edited("hot_days: 30", "hot_days: 0x1E", example_text())
    text = edited("warm_days: 90", "warm_days: 0o132", text)
    text = edited("escalate_after_days: 14", "escalate_after_days: 014", text)
    text = edited("notice_days: 30", "notice_days: +30", text)

    rule = load(text).rule

    # 014 is fourteen: YAML 1.2 has no leading-zero octal.
    assert (rule.intent.hot_days, rule.intent.warm_days) == (30, 90)
    assert (rule.neglect.escalate_after_days, rule.changes.notice_days) == (14, 30)


def test_anchors_and_merge_keys_are_read() -> None:
    text = minimal(
        "balance:\n"
        "  index: &even {potential: 0.5, effort: 0.5}\n"
        "  tolerance: 0.2\n"
        "coverage:\n"
        "  targets:\n"
        "    <<: {tier1: 0.8, tier2: 0.5}\n"
        "    tier1: 0.95\n"
    )

    rule = load(text).rule

    assert rule.balance.index.potential == 0.5
    assert (rule.coverage.targets.tier1, rule.coverage.targets.tier2) == (0.95, 0.5)


_LINES = example_text().splitlines(keepends=True)


@settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    line=st.integers(min_value=0, max_value=len(_LINES) - 1),
    column=st.integers(min_value=0, max_value=40),
    junk=st.sampled_from(["", ":", "- ", "{", "]", '"', "\t", " ", "x", "&a ", "*a", "1.10", "#"]),
    drop=st.integers(min_value=0, max_value=3),
)
def test_damaged_example_loads_or_raises_a_located_rule_error(
    line: int, column: int, junk: str, drop: int
) -> None:
    text_line = _LINES[line]
    cut = min(column, len(text_line))
    damaged_line = text_line[:cut] + junk + text_line[cut + drop :]
    text = "".join([*_LINES[:line], damaged_line, *_LINES[line + 1 :]])

    for issue in _issues_or_none(text):
        assert issue.location.file == "rules.yaml"
        assert issue.location.line >= 1
        assert issue.location.column >= 1
        assert issue.message


def _issues_or_none(text: str) -> tuple[RuleIssue, ...]:
    # Any exception other than RuleError fails the test with its traceback.
    try:
        load_rules(text, "rules.yaml")
    except RuleError as exc:
        assert exc.issues, "a RuleError without issues"  # noqa: PT017 - not the tested raise
        return exc.issues
    return ()
