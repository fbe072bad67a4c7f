"""`territory plan`, `explain` and `diff` end to end on the small fixed org (tests/golden/org).

Exit codes: 0 done, 2 bad input (nothing written), 3 needs approval (nothing written); no
command ever prints a traceback.
"""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest

from sandbox.sample import write_sample
from tests.unit.cli_runs import AS_OF, copy_org, run
from worker.explain_view import explain_account


@pytest.fixture
def org(tmp_path: Path) -> Path:
    return copy_org(tmp_path / "org")


def plan_args(org: Path, *extra: str | Path) -> list[str | Path]:
    return [
        "plan",
        "--rules",
        org / "rules.yaml",
        "--source",
        f"csv:{org}",
        "--as-of",
        AS_OF,
        *extra,
    ]


def edit_rules(org: Path, old: str, new: str) -> None:
    path = org / "rules.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")


def shuffle_rows(path: Path, seed: int) -> None:
    rows = list(csv.reader(path.open(encoding="utf-8", newline="")))
    body = rows[1:]
    random.Random(seed).shuffle(body)
    with path.open("w", encoding="utf-8", newline="") as stream:
        csv.writer(stream).writerows([rows[0], *body])


def test_plan_prints_the_tables_and_writes_plan_json(org: Path, tmp_path: Path) -> None:
    out = tmp_path / "plan.json"

    result = run(*plan_args(org, "--out", out))

    assert result.exit_code == 0, result.output
    for title in ("Coverage map", "Team balance", "Gap analysis", "Changes by reason"):
        assert title in result.stdout
    assert f"Wrote {out}" in result.stderr
    document = json.loads(out.read_text(encoding="utf-8"))
    assert document["as_of"] == AS_OF
    assert len(document["assignments"]) == 40


def test_plan_json_is_byte_identical_across_runs_and_input_row_order(
    org: Path, tmp_path: Path
) -> None:
    first, second, shuffled = tmp_path / "1.json", tmp_path / "2.json", tmp_path / "3.json"
    assert run(*plan_args(org, "--out", first)).exit_code == 0
    assert run(*plan_args(org, "--out", second)).exit_code == 0
    shuffle_rows(org / "companies.csv", seed=1)
    shuffle_rows(org / "owners.csv", seed=2)
    assert run(*plan_args(org, "--out", shuffled)).exit_code == 0

    assert first.read_bytes() == second.read_bytes() == shuffled.read_bytes()
    assert first.read_bytes().endswith(b"}\n")


def test_format_json_prints_the_same_bytes_as_the_plan_file(org: Path, tmp_path: Path) -> None:
    out = tmp_path / "plan.json"

    result = run(*plan_args(org, "--format", "json", "--out", out))

    assert result.exit_code == 0, result.output
    assert result.stdout_bytes == out.read_bytes()


def set_owners(org: Path, owners: dict[str, str | None]) -> None:
    """Write each company's owner_id in companies.csv, as a CRM applying the plan would."""
    path = org / "companies.csv"
    with path.open(encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream))
    for row in rows:
        row["owner_id"] = owners[row["id"]] or ""
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_a_settled_org_plans_no_changes_and_saves_its_plan(org: Path, tmp_path: Path) -> None:
    """The steady state of every daily run: plan, apply the planned owners, plan again."""
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    assert run(*plan_args(org, "--out", first)).exit_code == 0
    planned = json.loads(first.read_text(encoding="utf-8"))
    # A CSV source keeps no ledger of moves spent: the first plan must not have been held back.
    assert {t["infeasible_reason"] for t in planned["teams"]} == {None}
    assert planned["changes"]
    set_owners(org, {a["account_id"]: a["owner_id"] for a in planned["assignments"]})

    result = run(*plan_args(org, "--out", second, "--format", "json"))

    assert result.exit_code == 0, result.output
    settled = json.loads(second.read_text(encoding="utf-8"))
    assert settled["changes"] == []
    assert settled["summary"]["changes"] == 0
    assert [a["owner_id"] for a in settled["assignments"]] == [
        a["owner_id"] for a in planned["assignments"]
    ]
    assert json.loads(result.stdout) == settled
    assert f"Wrote {second} (40 accounts, 0 changes)" in result.stderr


@pytest.mark.parametrize("output", ["table", "json", "csv", "md"])
def test_an_org_without_companies_plans_to_empty_lists(
    org: Path, tmp_path: Path, output: str
) -> None:
    header = (org / "companies.csv").read_text(encoding="utf-8").splitlines()[0]
    (org / "companies.csv").write_text(header + "\n", encoding="utf-8")
    out = tmp_path / "plan.json"

    result = run(*plan_args(org, "--out", out, "--format", output))

    assert result.exit_code == 0, result.output
    document = json.loads(out.read_text(encoding="utf-8"))
    assert document["assignments"] == document["changes"] == []
    assert '\n"assignments":[],\n"changes":[],\n' in out.read_text(encoding="utf-8")
    if output == "json":
        assert result.stdout_bytes == out.read_bytes()


def test_format_csv_prints_one_row_per_assignment(org: Path) -> None:
    result = run(*plan_args(org, "--format", "csv"))

    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(result.stdout.splitlines()))
    assert len(rows) == 40
    assert list(rows[0]) == [
        "account_id", "owner_id", "outcome", "routing_row", "team",
        "fit_band", "intent", "tier", "potential", "reason",
    ]  # fmt: skip
    assert [r["account_id"] for r in rows] == sorted(r["account_id"] for r in rows)


def test_format_md_prints_markdown_tables(org: Path) -> None:
    result = run(*plan_args(org, "--format", "md"))

    assert result.exit_code == 0, result.output
    assert "## Coverage map" in result.stdout
    assert "## Gap analysis" in result.stdout
    assert "| Rep | Team |" in result.stdout


def test_unknown_format_exits_2(org: Path) -> None:
    assert run(*plan_args(org, "--format", "xml")).exit_code == 2


def test_invalid_rule_file_exits_2_and_writes_nothing(org: Path, tmp_path: Path) -> None:
    edit_rules(org, "tolerance: 0.10", "tolerance: lots")
    out = tmp_path / "plan.json"

    result = run(*plan_args(org, "--out", out))

    assert result.exit_code == 2
    assert "rules.yaml:" in result.stderr
    assert "nothing was applied" in result.stderr
    assert not out.exists()


def test_missing_source_directory_exits_2(org: Path, tmp_path: Path) -> None:
    result = run("plan", "--rules", org / "rules.yaml", "--source", f"csv:{tmp_path / 'nope'}")

    assert result.exit_code == 2
    assert "is not a directory" in result.stderr


def test_source_without_owners_csv_exits_2(org: Path) -> None:
    (org / "owners.csv").unlink()

    result = run(*plan_args(org))

    assert result.exit_code == 2
    assert "owners.csv" in result.stderr


@pytest.mark.parametrize(
    "as_of",
    ["1/4/27", "20270104", "2027-W01-1", "2027-1-4", " 2027-01-04", "2027-01-04T00:00",
     "\uff12\uff10\uff12\uff17-01-04", ""],
)  # fmt: skip
def test_as_of_in_any_other_shape_than_yyyy_mm_dd_exits_2(org: Path, as_of: str) -> None:
    result = run(*plan_args(org)[:-1], as_of)

    assert result.exit_code == 2
    assert "--as-of: expected a date YYYY-MM-DD such as 2027-01-04" in result.stderr


@pytest.mark.parametrize(
    ("as_of", "message"),
    [
        ("2027-02-31", "February 2027 has days 01 to 28"),
        ("2027-02-29", "February 2027 has days 01 to 28"),
        ("2027-04-31", "April 2027 has days 01 to 30"),
        ("2027-01-00", "January 2027 has days 01 to 31"),
        ("2027-13-01", "there is no month 13"),
        ("2027-00-10", "there is no month 00"),
    ],
)
def test_as_of_the_calendar_cannot_hold_exits_2_naming_why(
    org: Path, as_of: str, message: str
) -> None:
    result = run(*plan_args(org)[:-1], as_of)

    assert result.exit_code == 2
    assert f"--as-of {as_of}: {message}" in result.stderr


@pytest.mark.parametrize(
    "as_of", ["9999-12-31", "3000-01-01", "1899-12-31", "0001-01-01", "0000-01-01"]
)
def test_as_of_outside_the_years_a_plan_can_count_from_exits_2(org: Path, as_of: str) -> None:
    """Day counts (notice, recency) are added to --as-of: near the calendar's ends they would
    leave it, which used to surface as 'planning failed ... this is a bug'."""
    result = run(*plan_args(org)[:-1], as_of)

    assert result.exit_code == 2
    assert "plans are made for days from 1900-01-01 to 2999-12-31" in result.stderr


def test_as_of_on_a_leap_day_plans(org: Path) -> None:
    assert run(*plan_args(org)[:-1], "2028-02-29", "--allow-large-change").exit_code == 0


def test_explain_and_diff_check_as_of_like_plan(org: Path) -> None:
    rules, source = org / "rules.yaml", f"csv:{org}"
    explained = run(
        "explain", "C001", "--rules", rules, "--source", source, "--as-of", "2027-02-30"
    )
    diffed = run("diff", "--rules", rules, "--source", source, "--without", "ana@example.com",
                 "--as-of", "2027-02-30")  # fmt: skip

    assert explained.exit_code == diffed.exit_code == 2
    assert "February 2027 has days 01 to 28" in explained.stderr
    assert "February 2027 has days 01 to 28" in diffed.stderr


def test_plan_needing_approval_exits_3_prints_tables_and_writes_nothing(
    org: Path, tmp_path: Path
) -> None:
    edit_rules(org, "max_forced_share: 0.60", "max_forced_share: 0.10")
    out = tmp_path / "plan.json"

    result = run(*plan_args(org, "--out", out))

    assert result.exit_code == 3
    assert "Coverage map" in result.stdout
    assert "forced changes are 42.5% of accounts (17)" in result.stderr
    assert "max_forced_share 10.0%" in result.stderr
    assert "--allow-large-change" in result.stderr
    assert not out.exists()


def test_allow_large_change_writes_the_plan_that_needs_approval(org: Path, tmp_path: Path) -> None:
    edit_rules(org, "max_share_per_run: 0.25", "max_share_per_run: 0.05")
    out = tmp_path / "plan.json"

    stopped = run(*plan_args(org, "--out", out))
    accepted = run(*plan_args(org, "--out", out, "--allow-large-change"))

    assert stopped.exit_code == 3
    assert "discretionary changes are 25.0% of accounts (10)" in stopped.stderr
    assert accepted.exit_code == 0, accepted.output
    assert json.loads(out.read_text(encoding="utf-8"))["summary"]["approval"]["needs_approval"]


@pytest.fixture
def stored_plan(org: Path, tmp_path: Path) -> Path:
    out = tmp_path / "plan.json"
    assert run(*plan_args(org, "--out", out)).exit_code == 0
    return out


def test_explain_from_a_stored_plan_agrees_with_the_plan_for_every_account(
    stored_plan: Path,
) -> None:
    document = json.loads(stored_plan.read_text(encoding="utf-8"))

    for assignment in document["assignments"]:
        result = run("explain", assignment["account_id"], "--plan", stored_plan, "--json")
        assert result.exit_code == 0, result.output
        explanation = json.loads(result.stdout)
        assert explanation["owner_id"] == assignment["owner_id"]
        assert explanation["routing"]["row"] == assignment["routing_row"]


@pytest.mark.parametrize("account_id", ["C002", "C007", "C013", "C038"])
def test_explain_from_rules_and_source_matches_explain_from_the_plan(
    org: Path, stored_plan: Path, account_id: str
) -> None:
    stored = run("explain", account_id, "--plan", stored_plan, "--json")
    fresh = run(
        "explain", account_id, "--rules", org / "rules.yaml", "--source", f"csv:{org}",
        "--as-of", AS_OF, "--json",
    )  # fmt: skip

    assert fresh.exit_code == stored.exit_code == 0, fresh.output + stored.output
    assert json.loads(fresh.stdout) == json.loads(stored.stdout)


def test_explain_prints_the_routing_row_with_its_file_and_line(org: Path) -> None:
    result = run(
        "explain", "C002", "--rules", org / "rules.yaml", "--source", f"csv:{org}",
        "--as-of", AS_OF,
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert f"emea ({org / 'rules.yaml'}:104)" in result.stdout.replace("\n", "")


def test_explain_unknown_account_exits_2(stored_plan: Path) -> None:
    result = run("explain", "C999", "--plan", stored_plan)

    assert result.exit_code == 2
    assert "account 'C999' is not in the plan (40 accounts" in result.stderr


@pytest.mark.parametrize(
    "extra",
    [[], ["--rules", "rules.yaml"], ["--plan", "plan.json", "--rules", "rules.yaml"]],
    ids=["nothing", "rules-without-source", "plan-and-rules"],
)
def test_explain_needs_a_plan_or_rules_with_source(extra: list[str]) -> None:
    result = run("explain", "C001", *extra)

    assert result.exit_code == 2
    assert "give either --plan FILE, or --rules FILE with --source" in result.stderr or (
        "give one or the other" in result.stderr
    )


def test_explain_of_a_file_that_is_no_plan_exits_2(tmp_path: Path) -> None:
    broken = tmp_path / "plan.json"
    broken.write_text('{"as_of": "2027-01-04"', encoding="utf-8")

    result = run("explain", "C001", "--plan", broken)

    assert result.exit_code == 2
    assert "not valid JSON" in result.stderr


def test_diff_without_a_rep_moves_every_account_of_theirs(org: Path, stored_plan: Path) -> None:
    before = json.loads(stored_plan.read_text(encoding="utf-8"))
    theirs = sorted(a["account_id"] for a in before["assignments"] if a["owner_id"] == "u01")

    result = run(
        "diff", "--rules", org / "rules.yaml", "--source", f"csv:{org}", "--as-of", AS_OF,
        "--without", "Ana@Example.com", "--json",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    diff = json.loads(result.stdout)
    moved = {m["account_id"]: m["owner_id"] for m in diff["moves"]}
    assert theirs
    assert sorted(a for a, (old, _) in moved.items() if old == "u01") == theirs
    assert all(new != "u01" for _, new in moved.values())
    ana = next(r for r in diff["reps"] if r["owner_id"] == "u01")
    assert ana["active"] == [True, False]
    assert ana["accounts"][1] == 0
    assert diff["without"] == ["ana@example.com"]


@pytest.mark.parametrize("show", ["0", "1", "20"])
def test_diff_json_lists_every_move_whatever_show_says(org: Path, show: str) -> None:
    args = ("diff", "--rules", org / "rules.yaml", "--source", f"csv:{org}", "--as-of", AS_OF,
            "--without", "ana@example.com", "--show", show)  # fmt: skip

    as_json = run(*args, "--json")
    table = run(*args)

    assert as_json.exit_code == table.exit_code == 0, as_json.output + table.output
    diff = json.loads(as_json.stdout)
    assert diff["owner_changes"] > 1
    assert len(diff["moves"]) == diff["owner_changes"]
    shown = min(int(show), diff["owner_changes"])
    assert f"Owner changes (first {shown} of {diff['owner_changes']})" in table.stdout


def test_diff_prints_moves_rep_deltas_and_balance(org: Path) -> None:
    result = run(
        "diff", "--rules", org / "rules.yaml", "--source", f"csv:{org}", "--as-of", AS_OF,
        "--without", "ana@example.com",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    for title in ("Owner changes", "Reps whose book changes", "Team balance", "Gap"):
        assert title in result.stdout


def test_diff_against_new_rules_lists_the_accounts_that_change_owner(
    org: Path, tmp_path: Path
) -> None:
    new = tmp_path / "new.yaml"
    text = (org / "rules.yaml").read_text(encoding="utf-8")
    # EMEA accounts go to the SDR pool in the new rule.
    new.write_text(
        text.replace("assign: {team: emea-midmarket, strategy: balanced}",
                     "assign: {team: sdr-pool, strategy: balanced}"),
        encoding="utf-8",
    )  # fmt: skip
    same = run("diff", "--rules", org / "rules.yaml", "--against", org / "rules.yaml",
               "--source", f"csv:{org}", "--as-of", AS_OF, "--json")  # fmt: skip
    changed = run("diff", "--rules", org / "rules.yaml", "--against", new,
                  "--source", f"csv:{org}", "--as-of", AS_OF, "--json")  # fmt: skip

    assert same.exit_code == changed.exit_code == 0, same.output + changed.output
    assert json.loads(same.stdout)["owner_changes"] == 0
    moves = json.loads(changed.stdout)["moves"]
    assert moves
    assert {m["owner_id"][1] for m in moves if m["outcome"][1] == "assigned"} == {"u07"}


def test_diff_without_an_unknown_email_exits_2(org: Path) -> None:
    result = run(
        "diff", "--rules", org / "rules.yaml", "--source", f"csv:{org}",
        "--without", "nobody@example.com",
    )  # fmt: skip

    assert result.exit_code == 2
    assert "no owner with the email nobody@example.com" in result.stderr


def test_diff_with_nothing_to_compare_exits_2(org: Path) -> None:
    result = run("diff", "--rules", org / "rules.yaml", "--source", f"csv:{org}")

    assert result.exit_code == 2
    assert "nothing to compare" in result.stderr


@pytest.fixture(scope="module")
def sample_org(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated org in HubSpot's vocabulary, bigger and messier than the fixed one."""
    directory = tmp_path_factory.mktemp("sample")
    write_sample(directory, accounts=300, reps=8, seed=11, flavour="hubspot")
    return directory


def test_sample_org_plans_byte_identically_and_explains_every_account_as_planned(
    sample_org: Path, tmp_path: Path
) -> None:
    first, second = tmp_path / "1.json", tmp_path / "2.json"
    for out in (first, second):
        result = run(*plan_args(sample_org, "--out", out, "--allow-large-change"))
        assert result.exit_code == 0, result.output
    document = json.loads(first.read_text(encoding="utf-8"))

    assert first.read_bytes() == second.read_bytes()
    for assignment in document["assignments"]:
        explanation = explain_account(document, assignment["account_id"])
        assert explanation is not None
        assert explanation["owner_id"] == assignment["owner_id"]
        assert explanation["routing"]["row"] == assignment["routing_row"]
