"""The rule file as a whole: the shipped example, round trips, versions and migrations."""

from __future__ import annotations

import hashlib
import io
from typing import Any

import pytest
from ruamel.yaml import YAML

import rules.migrations
from rules.errors import Location, RuleError, RuleIssue
from rules.loader import load_rules
from rules.migrations import UnknownVersionError, migrate
from tests.unit.rule_text import edited, example_text, issues_of, load, minimal


def _yaml_text(data: Any) -> str:
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def test_shipped_example_loads() -> None:
    loaded = load_rules(example_text(), "examples/rules.yaml")
    rule = loaded.rule

    assert (rule.version, rule.revision) == (1, "fy27-q1.3")
    assert [t.id for t in rule.teams] == [
        "na-enterprise",
        "emea-midmarket",
        "account-management",
        "sdr-pool",
    ]
    assert rule.regions["EMEA"][6] == "NO"
    assert rule.routing.rows[-1].when == {}
    assert rule.named_accounts[0].expires.isoformat() == "2027-06-30"


def test_shipped_example_round_trips_through_yaml() -> None:
    rule = load_rules(example_text(), "examples/rules.yaml").rule
    dumped = _yaml_text(rule.model_dump(mode="json", by_alias=True, exclude_unset=True))

    again = load_rules(dumped, "again.yaml").rule

    assert again == rule


def test_round_trip_keeps_only_what_the_file_sets() -> None:
    rule = load(minimal()).rule

    dumped = rule.model_dump(mode="json", by_alias=True, exclude_unset=True)

    assert set(dumped) == {"version", "revision", "teams", "routing"}
    assert load(_yaml_text(dumped)).rule == rule


def test_loaded_rules_know_the_digest_and_where_rows_are_written() -> None:
    text = example_text()

    loaded = load_rules(text, "rules.yaml")

    assert loaded.sha256 == hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert loaded.file == "rules.yaml"
    assert loaded.routing_row_line("customers") == 139
    assert loaded.routing_row_line("catch-all") == 155
    assert loaded.fit_row_lines == (47, 52, 56)


# --- how errors print ----------------------------------------------------------------------


def test_issue_prints_file_line_column_path_and_message() -> None:
    issue = RuleIssue(Location("rules.yaml", 41, 17), "routing.rows[3].assign.team", "unknown team")

    assert str(issue) == "rules.yaml:41:17: routing.rows[3].assign.team: unknown team"


def test_issue_without_a_path_prints_file_line_column_and_message() -> None:
    assert str(RuleIssue(Location("r.yaml", 1, 1), "", "the file is empty")) == (
        "r.yaml:1:1: the file is empty"
    )


def test_rule_error_lists_its_issues_in_file_order() -> None:
    late = RuleIssue(Location("r.yaml", 9, 2), "b", "second")
    early = RuleIssue(Location("r.yaml", 3, 7), "a", "first")

    error = RuleError([late, early])

    assert error.issues == (early, late)
    assert str(error) == "r.yaml:3:7: a: first\nr.yaml:9:2: b: second"


def test_errors_name_the_file_they_were_given() -> None:
    with pytest.raises(RuleError) as caught:
        load_rules("version: 1\n", "plans/fy27.yaml")

    assert all(i.location.file == "plans/fy27.yaml" for i in caught.value.issues)


# --- versions and migrations ----------------------------------------------------------------


_VERSION_LINE = "version: 1                      # schema version"


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        (
            "version: 2",
            (
                "rules.yaml:3:10: version: version 2 is newer than this release of "
                "territory-sync understands (it reads version 1); upgrade territory-sync or write "
                "version: 1"
            ),
        ),
        ("version: 0", "rules.yaml:3:10: version: unknown version 0; this release reads version 1"),
        (
            "version: one",
            "rules.yaml:3:10: version: expected a whole number such as version: 1, got one",
        ),
        (
            "version: 1.0",
            "rules.yaml:3:10: version: expected a whole number such as version: 1, got 1.0",
        ),
        (
            'version: "1"',
            (
                "rules.yaml:3:10: version: expected a whole number such as "
                'version: 1, got "1" (quoted text)'
            ),
        ),
        (
            "version: true",
            "rules.yaml:3:10: version: expected a whole number such as version: 1, got true",
        ),
        (
            "version:",
            (
                "rules.yaml:3:1: version: expected a whole number such as version: 1, "
                "got an empty value"
            ),
        ),
    ],
    ids=["future", "zero", "word", "float", "quoted", "bool", "empty"],
)
def test_version_that_cannot_be_read_is_a_located_error(written: str, expected: str) -> None:
    assert issues_of(edited(_VERSION_LINE, f"{written}  # schema version")) == [expected]


def test_future_version_stops_before_the_schema_complains() -> None:
    text = edited(_VERSION_LINE, "version: 7  #") + "territories: []\n"

    issues = issues_of(text)

    assert len(issues) == 1
    assert issues[0].startswith("rules.yaml:3:10: version: version 7 is newer")


def test_missing_version_is_located_at_the_top_of_the_file() -> None:
    text = edited(f"{_VERSION_LINE} of this file format (migrations upgrade old files)\n", "")

    assert issues_of(text) == [
        (
            "rules.yaml:3:1: version: missing required key 'version' (the schema version; this "
            "release writes version: 1)"
        )
    ]


def _territories_to_teams(document: dict[str, Any]) -> dict[str, Any]:
    document = dict(document)
    document["teams"] = document.pop("territories")
    return document


def test_registered_migration_upgrades_an_old_file_on_load(monkeypatch: pytest.MonkeyPatch) -> None:
    # Pretend version 0 named teams `territories:`, and version 1 is current.
    monkeypatch.setattr(rules.migrations, "OLDEST_VERSION", 0)
    monkeypatch.setattr(rules.migrations, "MIGRATIONS", {0: _territories_to_teams})
    old = minimal().replace("version: 1", "version: 0").replace("teams:", "territories:")

    rule = load(old).rule

    assert (rule.version, [t.id for t in rule.teams]) == (1, ["sales"])


def test_migrations_walk_the_registry_one_version_at_a_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    steps: list[int] = []

    def step(version: int) -> rules.migrations.Migration:
        def upgrade(document: dict[str, Any]) -> dict[str, Any]:
            steps.append(version)
            return {**document, f"seen_v{version}": True}

        return upgrade

    monkeypatch.setattr(rules.migrations, "CURRENT_VERSION", 4)
    monkeypatch.setattr(rules.migrations, "MIGRATIONS", {v: step(v) for v in (1, 2, 3)})

    upgraded = migrate({"version": 2, "revision": "r"}, 2)

    assert steps == [2, 3]
    assert upgraded == {"version": 4, "revision": "r", "seen_v2": True, "seen_v3": True}


def test_gap_in_the_registry_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rules.migrations, "CURRENT_VERSION", 3)
    monkeypatch.setattr(rules.migrations, "MIGRATIONS", {1: _territories_to_teams})

    with pytest.raises(UnknownVersionError, match="no migration from version 2 to 3"):
        migrate({"version": 1, "territories": []}, 1)


def test_current_version_needs_no_migration() -> None:
    document = {"version": 1, "revision": "r"}

    assert migrate(document, 1) == {"version": 1, "revision": "r"}
