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
