"""Text the user gave (paths, account ids, dates) is printed as written, never read as markup.

The terminal library reads `[/x]` as a closing style tag and `:smile:` as an emoji code: a
path or id holding either made a command crash with a traceback or print something else.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.cli_runs import AS_OF, copy_org, run

# A closing tag that opens nothing, a style tag, and an emoji code.
HOSTILE = "a[/x]b[bold]c:smile:"


def test_an_error_naming_a_missing_rule_file_shows_its_path_as_written() -> None:
    result = run("validate", f"{HOSTILE}.yaml")

    assert result.exit_code == 2, result.output
    assert f"error: {HOSTILE}.yaml: no such rule file" in result.output


def test_a_valid_rule_file_whose_path_looks_like_markup_is_reported_valid(tmp_path: Path) -> None:
    org = copy_org(tmp_path / "[" / "]" / f"{HOSTILE}")

    result = run("validate", org / "rules.yaml", "--source", f"csv:{org}")

    assert result.exit_code == 0, result.output
    assert f"{org / 'rules.yaml'}: valid" in result.output


def test_an_account_missing_from_a_plan_is_named_as_given(tmp_path: Path) -> None:
    org = copy_org(tmp_path / "org")
    plan = tmp_path / "plan.json"
    written = run(
        "plan", "--rules", org / "rules.yaml", "--source", f"csv:{org}", "--as-of", AS_OF,
        "--out", plan,
    )  # fmt: skip
    assert written.exit_code == 0, written.output

    result = run("explain", HOSTILE, "--plan", plan)

    assert result.exit_code == 2, result.output
    assert f"account '{HOSTILE}' is not in the plan" in result.output


@pytest.mark.parametrize("option", ["--as-of", "--rules"])
def test_a_bad_option_value_is_quoted_as_given(tmp_path: Path, option: str) -> None:
    org = copy_org(tmp_path / "org")
    given = {"--as-of": AS_OF, "--rules": str(org / "rules.yaml"), option: HOSTILE}

    result = run(
        "plan", "--rules", given["--rules"], "--source", f"csv:{org}", "--as-of", given["--as-of"]
    )

    assert result.exit_code == 2, result.output
    assert HOSTILE in result.output


def test_sample_written_to_a_directory_that_looks_like_markup_says_where(tmp_path: Path) -> None:
    out = tmp_path / HOSTILE

    result = run("sample", "--out", out, "--accounts", "50", "--reps", "4")

    assert result.exit_code == 0, result.output
    assert f"to {out}" in result.output
