"""`--as NAME` is recorded in the ledger and printed back in messages and tables: a name that
is empty, holds a line break or a control character (a terminal escape), or is longer than the
ledger's columns hold is a bad argument (exit 2) on every command that takes it, and nothing is
recorded. Before, SQLite stored any text and PostgreSQL refused a name of 201 characters with an
internal error that printed the statement and its parameters, the rule file's text included."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.worker.cli_ledger import Territory, copy_org, error_line

BAD_NAMES = {
    "empty": "",
    "blank": "   ",
    "line break": "ops\nlead",
    "terminal escape": "\x1b[31mred\x1b[0m",
    "201 characters": "x" * 201,
}


@pytest.mark.parametrize("name", BAD_NAMES.values(), ids=BAD_NAMES.keys())
@pytest.mark.parametrize(
    "command",
    [
        ("pause",),
        ("activate", "ORG/rules.yaml"),
        ("approve", "1"),
        ("decline", "1"),
        ("cancel", "0123456789abcdef01234567"),
        ("rollback", "1"),
        ("depart", "ana@example.com", "--effective", "2027-02-01"),
    ],
    ids=lambda c: c[0],
)
def test_a_name_the_ledger_cannot_show_back_is_a_bad_argument(
    territory: Territory, tmp_path: Path, command: tuple[str, ...], name: str
) -> None:
    org = copy_org(tmp_path / "org")
    args = [a.replace("ORG", str(org)) for a in command]

    result = territory(*args, "--as", name)

    assert result.exit_code == 2, result.output
    assert error_line(result).startswith("error: --as: expected")
    assert name.strip() == "" or name not in result.stderr  # never echoed back raw
    assert territory.json("runs", "--json") == []
    assert "paused" not in territory("apply", "--dry-run").stderr


@pytest.mark.parametrize("name", ["revops lead", "ops@example.com", "Zoë Müller", "y" * 200])
def test_a_printable_name_of_up_to_200_characters_is_recorded_as_given(
    territory: Territory, name: str
) -> None:
    result = territory("pause", "--as", f"  {name} ")

    assert result.exit_code == 0, result.output
    assert f"write-back paused by {name}:" in " ".join(result.stdout.split())


def test_the_default_name_from_the_environment_is_one_printable_line_the_ledger_holds(
    territory: Territory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --as, who acted is LOGNAME@host: a LOGNAME of 300 characters made every
    command on PostgreSQL an internal error, and a line break in it was stored and printed."""
    monkeypatch.setenv("LOGNAME", "ops\nlead" + "x" * 300)

    result = territory("pause")
    name = result.stdout.split("write-back paused by ", 1)[1].split(":", 1)[0]

    assert result.exit_code == 0, result.output
    assert name.startswith("ops?leadxxx")
    assert len(name) == 200
