"""What `territory plan`, `explain` and `diff` print, pinned on a small fixed org.

The org lives in tests/golden/org/ (40 companies, 10 owners, a rule file exercising every
decision: continuity, least loaded, affinity, rebalance, named, hierarchy, watchlist,
unassigned, over capacity, a departed and an out-of-office rep). Expected output lives in
tests/golden/*.txt and *.md, rendered at a fixed width of 120 without colour.

After an intended change to the output (or to the engine), regenerate the golden files and
review their diff before committing:

    UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit/test_plan_views.py
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
from collections.abc import Sequence
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from connectors.files import load_csv_directory
from rules.domain import Snapshot
from rules.engine import plan_territories
from rules.loader import LoadedRules, load_rules
from rules.plan import LazyRows, Plan, plan_document
from worker.diff_view import diff_heading, diff_sections, plan_diff
from worker.explain_view import explain_account, render_explanation
from worker.plan_file import DIGEST_KEY, find_by_account, plan_json_chunks
from worker.plan_views import (
    band_of,
    coverage_section,
    plan_heading,
    plan_sections,
    write_assignments_csv,
)
from worker.tables import Column, Section, money, render_sections, sections_markdown

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
ORG = GOLDEN / "org"
AS_OF = date(2027, 1, 4)
# One account per kind of decision the engine records in trace.why.
EXPLAINED = {
    "C001": "watchlist",
    "C002": "least_loaded",
    "C003": "continuity",
    "C007": "named",
    "C008": "over_capacity",
    "C013": "hierarchy",
    "C015": "affinity",
    "C020": "unassigned",
    "C038": "rebalance",
}


@cache
def fixed_rules() -> LoadedRules:
    return load_rules((ORG / "rules.yaml").read_text(encoding="utf-8"), "rules.yaml")


@cache
def fixed_snapshot() -> Snapshot:
    return load_csv_directory(ORG, fixed_rules().rule).snapshot


def fixed_plan_of_nothing() -> Plan:
    """The fixed rules planned over an org with no companies."""
    return plan_territories(
        fixed_rules(), dataclasses.replace(fixed_snapshot(), accounts=[]), AS_OF
    )


def fixed_plan(snapshot: Snapshot | None = None) -> dict[str, Any]:
    """The plan document of the fixed org (or of `snapshot` under its rules) as of AS_OF."""
    return plan_document(plan_territories(fixed_rules(), snapshot or fixed_snapshot(), AS_OF))


def recording_console() -> Console:
    return Console(width=120, record=True, color_system=None, file=io.StringIO())


def assert_golden(name: str, text: str) -> None:
    """Compare `text` (trailing spaces dropped) with tests/golden/NAME; UPDATE_GOLDEN=1 rewrites."""
    text = "\n".join(line.rstrip() for line in text.splitlines()) + "\n"
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
        return
    assert path.exists(), f"{path} is missing: run UPDATE_GOLDEN=1 pytest {__file__}"
    assert text == path.read_text(encoding="utf-8"), (
        f"{name} differs from the golden file; if the change is intended, run "
        f"UPDATE_GOLDEN=1 pytest {__file__} and review the diff"
    )


def test_fixed_org_exercises_every_decision_kind() -> None:
    assignments = fixed_plan()["assignments"]

    whys = {a: find_by_account(assignments, a)["trace"]["why"] for a in EXPLAINED}

    assert whys == EXPLAINED


def test_plan_tables_match_golden() -> None:
    document = fixed_plan()
    console = recording_console()

    render_sections(console, plan_heading(document), plan_sections(document))

    assert_golden("plan_table.txt", console.export_text())


def test_plan_markdown_matches_golden() -> None:
    document = fixed_plan()

    assert_golden("plan.md", sections_markdown(plan_heading(document), plan_sections(document)))


@pytest.mark.parametrize("account_id", sorted(EXPLAINED))
def test_explain_output_matches_golden(account_id: str) -> None:
    explanation = explain_account(fixed_plan(), account_id)
    assert explanation is not None
    console = recording_console()

    render_explanation(console, explanation, rule_file="rules.yaml")

    assert_golden(f"explain_{account_id}.txt", console.export_text())


def test_diff_without_a_rep_matches_golden() -> None:
    snapshot = fixed_snapshot()
    leaving = dataclasses.replace(
        snapshot,
        owners=[
            dataclasses.replace(o, active=False) if o.email == "ana@example.com" else o
            for o in snapshot.owners
        ],
    )
    diff = plan_diff(fixed_plan(), fixed_plan(leaving), without=["ana@example.com"])
    console = recording_console()

    render_sections(console, diff_heading(diff), diff_sections(diff, shown=20))

    assert_golden("diff_without_ana.txt", console.export_text())


def test_explain_names_the_plans_routing_row_and_owner_for_every_account() -> None:
    document = fixed_plan()

    for assignment in document["assignments"]:
        explanation = explain_account(document, assignment["account_id"])
        assert explanation is not None
        assert explanation["owner_id"] == assignment["owner_id"]
        assert explanation["routing"]["row"] == assignment["routing_row"]
        if assignment["routing_row"] is not None:
            row_line = fixed_rules().routing_row_line(assignment["routing_row"])
            assert explanation["routing"]["line"] == row_line
        change = find_by_account(document["changes"], assignment["account_id"])
        if change is None:
            assert explanation["change"] is None
        else:
            assert explanation["change"]["to_owner_id"] == assignment["owner_id"]
            assert explanation["change"]["effective_date"] == change["effective_date"]


def test_explain_of_an_unknown_account_is_none() -> None:
    assert explain_account(fixed_plan(), "C999") is None


def test_explain_says_why_each_other_candidate_lost() -> None:
    document = fixed_plan()
    assignment = find_by_account(document["assignments"], "C002")
    # The engine records each rep's role: chosen, passed over for lack of room, runner-up.
    assignment["trace"]["candidates"] = [
        ["u04", 0.5, "chosen"],
        ["u03", 0.25, "full"],
        ["u06", 0.75, "next"],
    ]

    explanation = explain_account(document, "C002")

    assert [c["note"] for c in explanation["decision"]["candidates"]] == [
        "chosen",
        "no room (minutes or max accounts)",
        "more loaded (the runner-up)",
    ]


def test_explain_of_a_pool_account_moved_by_balancing_names_both_reps() -> None:
    document = fixed_plan()
    assignment = find_by_account(document["assignments"], "C002")
    assignment["trace"]["candidates"] = [["u03", 0.25, "chosen"], ["u04", 0.5, "next"]]

    decision = explain_account(document, "C002")["decision"]

    assert decision["candidates"][0]["note"] == "chosen first, moved by balancing"
    assert decision["text"].startswith(
        "placed first on chloe@example.com (u03) (least_loaded), then moved to "
        "dmitri@example.com (u04)"
    )


def test_rep_pipeline_shares_the_teams_figures_by_accounts_and_quota() -> None:
    document = fixed_plan()
    team = next(t for t in document["teams"] if t["team"] == "na-enterprise")["pipeline"]
    rows = {row[0]: row for row in coverage_section(document).rows}

    ana = next(r for r in document["reps"] if r["email"] == "ana@example.com")
    implied = team["implied_pipeline"] * ana["accounts"] / team["accounts_planned"]
    needed = team["accounts_per_quarter"] * ana["quota"] / team["quota"]

    assert rows["ana"][9] == money(implied)
    assert rows["ana"][10] == f"{needed:,.0f}"
    assert rows["ana"][11] == ("yes" if ana["accounts"] >= needed else "no")


@pytest.mark.parametrize(
    ("index", "expected"),
    [(1.1, "in"), (1.1000005, "in"), (1.1001, "high"), (0.9, "in"), (0.8999, "low"), (None, "-")],
)
def test_band_is_one_plus_or_minus_tolerance(index: float | None, expected: str) -> None:
    assert band_of(index, 0.10) == expected


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (None, "-"),
        (950, "950"),
        (36_000, "36k"),
        (115_200, "115k"),
        (1_200_000, "1.2M"),
        (2_000_000, "2M"),
        (3.5e9, "3.5B"),
    ],
)
def test_money_is_compact(amount: float | None, expected: str) -> None:
    assert money(amount) == expected


def test_cells_print_verbatim_never_as_markup() -> None:
    section = Section(title="T", columns=(Column("Rep"),), rows=[("[bold]x|y[/bold]",)])
    console = recording_console()

    render_sections(console, ["[red]heading"], [section])

    text = console.export_text()
    assert "[bold]x|y[/bold]" in text
    assert "[red]heading" in text
    assert "| [bold]x\\|y[/bold] |" in sections_markdown(["h"], [section])


def test_plan_json_layout_is_one_line_per_row_and_parses_back() -> None:
    document = fixed_plan()

    text = b"".join(plan_json_chunks(document)).decode("utf-8")

    digest = json.loads(text).pop(DIGEST_KEY)
    assert json.loads(text) == document | {DIGEST_KEY: digest}
    assert text.endswith(f'"{DIGEST_KEY}":"{digest}"\n}}\n')
    lines = text.splitlines()
    assert sum(line.startswith('{"account_id"') for line in lines) == len(document["assignments"])
    assert sum(line.startswith('{"change_id"') for line in lines) == len(document["changes"])
    assert list(json.loads(text)) == [*document, DIGEST_KEY]


def test_plan_json_ends_with_the_sha256_of_every_byte_before_its_line() -> None:
    data = b"".join(plan_json_chunks(fixed_plan()))

    body, last_line = data[: data.rindex(b"\n", 0, -3) + 1], data[data.rindex(b"\n", 0, -3) + 1 :]

    assert last_line == f'"plan_sha256":"{hashlib.sha256(body).hexdigest()}"\n}}\n'.encode()


@pytest.mark.parametrize(
    "empty",
    [[], (), LazyRows([], dict), plan_document(fixed_plan_of_nothing(), lazy=True)["changes"]],
    ids=["list", "tuple", "lazy-rows", "lazy-changes-of-an-empty-plan"],
)
def test_plan_json_writes_every_empty_sequence_as_an_empty_list(empty: Sequence[Any]) -> None:
    document = {"as_of": "2027-01-04", "assignments": empty, "changes": empty, "gap": {"a": 1}}

    text = b"".join(plan_json_chunks(document)).decode("utf-8")

    assert json.loads(text) | {DIGEST_KEY: None} == {
        "as_of": "2027-01-04", "assignments": [], "changes": [], "gap": {"a": 1}, DIGEST_KEY: None
    }  # fmt: skip
    assert '\n"assignments":[],\n"changes":[],\n' in text


def test_assignments_csv_has_one_row_per_account_with_empty_cells_for_null() -> None:
    document = fixed_plan()
    stream = io.StringIO()

    write_assignments_csv(document, stream)

    lines = stream.getvalue().splitlines()
    assert lines[0] == (
        "account_id,owner_id,outcome,routing_row,team,fit_band,intent,tier,potential,reason"
    )
    assert len(lines) == 1 + len(document["assignments"])
    c008 = next(line for line in lines if line.startswith("C008,"))
    assert c008.startswith("C008,,unassigned,na-enterprise,na-enterprise,")


def test_every_infeasible_cause_has_a_legend_line() -> None:
    from rules.reasons import InfeasibleCause  # noqa: PLC0415
    from worker.plan_views import CAUSES  # noqa: PLC0415

    assert set(CAUSES) == set(InfeasibleCause)
