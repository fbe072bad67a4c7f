"""`territory cancel CHANGE_ID` takes a change id as `territory changes` lists it: anything else
is a bad argument (exit 2, quoting at most 40 characters), as a malformed RUN is. Before, any
text was looked up and refused as "no change" (exit 4), echoed back whole however long, and
an id copied in upper case was not found."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.worker.cli_ledger import Territory, copy_org, error_line
from tests.worker.test_cli_flow import planned
from worker.console import ExitCode


@pytest.mark.parametrize(
    "raw", ["", "abc", "0123456789abcdef0123456", "0123456789abcdef0123456g", "'; --", "a" * 5000]
)
def test_a_malformed_change_id_is_a_bad_argument_quoted_briefly(
    territory: Territory, raw: str
) -> None:
    result = territory("cancel", raw)

    assert result.exit_code == ExitCode.INVALID, result.output
    line = error_line(result)
    assert line.startswith("error: CHANGE_ID: expected a change id (24 hex digits")
    assert len(line) < 200


def test_a_change_id_in_upper_case_is_the_same_change(territory: Territory, tmp_path: Path) -> None:
    planned(territory, copy_org(tmp_path / "org"))
    waiting = territory.json("changes", "--state", "approved", "--json")[0]

    result = territory("cancel", f" {waiting['change_id'].upper()} ")

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"cancelled change {waiting['change_id']}")
