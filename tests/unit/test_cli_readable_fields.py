"""`territory validate|plan --source csv:DIR` when companies.csv cannot feed what the rules use.

A column a fit or routing row tests that the file lacks (or that the rule's `fields: csv:` names
wrongly) refuses the run, located in the rule file and naming the line to add; so does intent
with no signal column at all. A missing signal among several, or a column that is there but
empty on every row, is a warning.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from tests.unit.cli_runs import AS_OF, copy_org, run

COMPANIES = 40


def rewrite_companies(org: Path, *, drop: tuple[str, ...] = (), **cells: str) -> None:
    """companies.csv without the `drop` columns, and with `cells` (column -> value) on every
    row, renamed `column=new_header` when a column's value is given as `new_header=value`."""
    path = org / "companies.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    header = rows[0]
    for column, value in cells.items():
        if column not in header:
            header.append(column)
            for row in rows[1:]:
                row.append("")
        position = header.index(column)
        for row in rows[1:]:
            row[position] = value
    keep = [i for i, name in enumerate(header) if name not in drop]
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([[row[i] for i in keep] for row in rows])


def edit_rules(org: Path, old: str, new: str) -> Path:
    path = org / "rules.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def line_of(org: Path, needle: str) -> int:
    text = (org / "rules.yaml").read_text(encoding="utf-8")
    return text[: text.index(needle)].count("\n") + 1


def validate(org: Path, *extra: str) -> tuple[int, str]:
    result = run("validate", org / "rules.yaml", "--source", f"csv:{org}", *extra)
    return result.exit_code, result.stderr


def plan(org: Path, out: Path) -> tuple[int, str, str]:
    result = run(
        "plan", "--rules", org / "rules.yaml", "--source", f"csv:{org}", "--as-of", AS_OF,
        "--allow-large-change", "--out", out, "--format", "json",
    )  # fmt: skip
    return result.exit_code, result.stdout, result.stderr


def test_a_column_rows_test_that_the_file_lacks_refuses_validate_and_plan(
    tmp_path: Path,
) -> None:
    org = copy_org(tmp_path / "org")
    rewrite_companies(org, drop=("employees",))
    rules = org / "rules.yaml"
    fit_line = line_of(org, "employees: {between: [200, 5000]}")

    code, stderr = validate(org)
    plan_code, stdout, plan_stderr = plan(org, tmp_path / "plan.json")

    assert code == 2
    assert (
        f"{rules}:{fit_line}:7: fit[0].when.employees: no companies.csv column feeds it; add a "
        "column 'employees', or add under fields.csv: \"employees: <column>\"; every account "
        "would miss it in fit[0] (icp-core), fit[1] (icp-near), fit[2], routing.rows[3] "
        "(na-enterprise)"
    ) in stderr
    assert f"--source csv:{org}: 1 problem(s) reading the fields the rules use" in stderr
    assert plan_code == 2
    assert stdout == ""
    assert "nothing was planned" in plan_stderr
    assert not (tmp_path / "plan.json").exists()


def test_a_missing_signal_column_is_a_warning_and_the_plan_goes_ahead(tmp_path: Path) -> None:
    org = copy_org(tmp_path / "org")
    rewrite_companies(org, drop=("signal_hiring",))
    signals_line = line_of(org, "signals: [funding, hiring]")

    code, stderr = validate(org)
    strict_code, _ = validate(org, "--strict")
    plan_code, _, _ = plan(org, tmp_path / "plan.json")

    assert code == 0, stderr
    assert (
        f":{signals_line}:22: warning: intent.signals[1]: signal 'hiring': no companies.csv "
        "column feeds it; add a column 'signal_hiring', or add under fields.csv: "
        '"signals.hiring: <column>"; its dates never make an account warm or hot'
    ) in stderr
    assert strict_code == 2
    assert plan_code == 0


def test_no_signal_column_at_all_refuses_a_rule_that_routes_on_intent(tmp_path: Path) -> None:
    org = copy_org(tmp_path / "org")
    rewrite_companies(org, drop=("signal_funding", "signal_hiring"))

    code, stderr = validate(org)

    assert code == 2
    assert (
        f"{org / 'rules.yaml'}:{line_of(org, 'signals: [funding, hiring]')}:3: intent.signals: "
        "no companies.csv column feeds any of the 2 signal(s), so every account would be cold "
        "where intent is used (routing.rows[2] (cold-watchlist) tests it; "
        "potential.factors.intent scores it)"
    ) in stderr
    assert stderr.count(": warning: intent.signals[") == 2


def test_a_fields_line_naming_a_column_the_file_lacks_names_the_close_one(
    tmp_path: Path,
) -> None:
    org = copy_org(tmp_path / "org")
    rewrite_companies(org, drop=("employees",), Headcount_total="250")
    edit_rules(org, "regions:\n", "fields:\n  csv: {employees: Headcount}\n\nregions:\n")

    code, stderr = validate(org)

    assert code == 2
    assert (
        f"{org / 'rules.yaml'}:{line_of(org, 'csv: {employees')}:9: fields.csv.employees: "
        "companies.csv has no column 'Headcount' (did you mean 'Headcount_total'?); change it "
        'to one that exists: "employees: <column>"'
    ) in stderr


def test_a_column_empty_on_every_row_is_a_warning_with_the_share(tmp_path: Path) -> None:
    org = copy_org(tmp_path / "org")
    rewrite_companies(org, annual_revenue="")

    code, stderr = validate(org)
    strict_code, _ = validate(org, "--strict")

    assert code == 0, stderr
    assert (
        f"{org / 'rules.yaml'}:{line_of(org, 'annual_revenue: {weight')}:5: warning: "
        "potential.factors.annual_revenue: companies.csv column 'annual_revenue' is empty on "
        f"every company ({COMPANIES} of {COMPANIES}, 100%); every account lacks it"
    ) in stderr
    assert strict_code == 2


def test_a_custom_field_a_row_tests_routes_from_its_mapped_column(tmp_path: Path) -> None:
    org = copy_org(tmp_path / "org")
    edit_rules(org, "regions:\n", "fields:\n  csv: {segment: Segment}\n\nregions:\n")
    edit_rules(
        org,
        "    - id: customers\n",
        "    - id: strategic\n      when: {segment: {eq: strategic}}\n"
        "      assign: {team: sdr-pool}\n    - id: customers\n",
    )

    refused, stderr = validate(org)
    rewrite_companies(org, Segment="Strategic")
    plan_code, _, _ = plan(org, tmp_path / "plan.json")

    assert refused == 2
    assert (
        "routing.rows[0].when.segment: no companies.csv column feeds it; add under "
        'fields.csv: "segment: <column>"'
    ) not in stderr  # the rule has the line: it names a column the file lacks
    assert (
        "fields.csv.segment: companies.csv has no column 'Segment'; change it to one that "
        'exists: "segment: <column>"; every account would miss it in routing.rows[0] (strategic)'
    ) in stderr
    assert plan_code == 0
    document = json.loads((tmp_path / "plan.json").read_text(encoding="utf-8"))
    rows = {row["routing_row"] for row in document["assignments"]}
    assert "strategic" in rows
