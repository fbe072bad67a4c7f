"""Day counts so large that the date they lead to leaves the calendar are refused up front.

`changes.notice_days: 3000000` passed `validate` and made `plan --as-of 2999-12-31` exit 1
("this is a bug") on a date overflow; `respect_manual_days` reaches the same arithmetic in
sync and write-back; `ledger prune --older-than 3000000` was an internal error too.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.cli_runs import copy_org, run
from tests.unit.rule_text import edited, issues_of, load

TEN_YEARS = 3650


# The example's lines for each day count, as written there.
EXAMPLE_LINES = {
    "notice_days": "notice_days: 30 ",
    "respect_manual_days": "respect_manual_days: 90 ",
}


@pytest.mark.parametrize("key", sorted(EXAMPLE_LINES))
def test_a_changes_day_count_beyond_ten_years_is_a_located_error(key: str) -> None:
    text = edited(EXAMPLE_LINES[key], f"{key}: {TEN_YEARS + 1} ")

    [issue] = issues_of(text)

    assert f": changes.{key}: " in issue
    assert "3650" in issue


@pytest.mark.parametrize("key", sorted(EXAMPLE_LINES))
def test_ten_years_is_still_a_day_count(key: str) -> None:
    load(edited(EXAMPLE_LINES[key], f"{key}: {TEN_YEARS} "))


def test_the_longest_notice_on_the_last_plannable_day_plans(tmp_path: Path) -> None:
    org = copy_org(tmp_path / "org")
    rules = org / "rules.yaml"
    rules.write_text(
        rules.read_text(encoding="utf-8").replace("notice_days: 30", f"notice_days: {TEN_YEARS}"),
        encoding="utf-8",
    )

    result = run(
        "plan", "--rules", rules, "--source", f"csv:{org}", "--as-of", "2999-12-31",
        "--format", "csv", "--allow-large-change",
    )  # fmt: skip

    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("days", ["3000000", "99999999999"])
def test_ledger_prune_refuses_a_cut_off_before_the_calendar(days: str) -> None:
    result = run("ledger", "prune", "--older-than", days)

    assert result.exit_code == 2, result.output
    assert f"error: --older-than {days}: at most 36,500 days" in result.output
