"""`territory sample` refuses a seed its generator cannot take, before writing anything.

`--seed -1` reached numpy's generator and came out as an internal error ("this is a bug").
"""

from __future__ import annotations

from pathlib import Path

from tests.unit.cli_runs import run


def test_a_negative_seed_is_a_bad_argument_and_nothing_is_written(tmp_path: Path) -> None:
    out = tmp_path / "org"

    result = run("sample", "--out", out, "--seed", "-1", "--accounts", "20", "--reps", "2")

    assert result.exit_code == 2, result.output
    assert "--seed" in result.output
    assert not out.exists()


def test_more_accounts_than_the_generator_can_name_is_a_bad_argument(tmp_path: Path) -> None:
    # "too many accounts for unique names" was an internal error.
    result = run("sample", "--out", tmp_path / "org", "--accounts", "999999999999")

    assert result.exit_code == 2, result.output
    assert "--accounts" in result.output


def test_more_reps_than_a_rule_file_can_list_is_a_bad_argument(tmp_path: Path) -> None:
    # 20,000 reps made a rules.yaml past the loader's 100,000 values: an internal error after
    # half a minute of work.
    result = run("sample", "--out", tmp_path / "org", "--reps", "20000", "--accounts", "50")

    assert result.exit_code == 2, result.output
    assert "--reps" in result.output
