"""`territory validate --source salesforce` warns, located, about routing rows whose changes
Salesforce would refuse: accounts sent to no owner (unassigned or watchlist without a
`holding_owner`), since Salesforce requires an owner on every account. HubSpot clears the
owner instead, so the same file is quiet there."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner, Result

from sandbox.server import RunningSandbox
from tests.connectors.test_readable_fields_crm import settings
from worker.cli import app

WARNING = "HOLDING_OWNER_REQUIRED"


def validate(sandbox: RunningSandbox, crm: str, rules: Path) -> Result:
    result = CliRunner().invoke(
        app, ["validate", str(rules), "--source", crm], env=settings(sandbox, crm)
    )
    assert "Traceback" not in result.output, result.output
    return result


def line_of(rules: Path, text: str) -> int:
    lines = rules.read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, start=1) if text in line)


def test_salesforce_names_each_row_that_leaves_accounts_with_no_owner(
    sandbox: RunningSandbox, sample_org: Path
) -> None:
    rules = sample_org / "rules.yaml"
    result = validate(sandbox, "salesforce", rules)
    assert result.exit_code == 0, result.output
    warned = [line for line in result.output.splitlines() if WARNING in line]
    # out-of-scope is unassigned with no holding owner; cold-watchlist names one.
    assert len(warned) == 1
    assert warned[0].startswith(f"{rules}:{line_of(rules, 'assign: {unassigned: true}')}:")
    assert "row 'out-of-scope'" in warned[0]
    assert "Salesforce requires an owner on every account" in warned[0]


def test_hubspot_clears_owners_so_gives_no_such_warning(
    sandbox: RunningSandbox, sample_org: Path
) -> None:
    result = validate(sandbox, "hubspot", sample_org / "rules.yaml")
    assert result.exit_code == 0, result.output
    assert WARNING not in result.output


def test_a_holding_owner_quiets_the_warning(
    sandbox: RunningSandbox, sample_org: Path, tmp_path: Path
) -> None:
    text = (sample_org / "rules.yaml").read_text(encoding="utf-8")
    parked = text.replace(
        "assign: {unassigned: true}",
        "assign: {unassigned: true, holding_owner: territory-queue@example.com}",
    )
    assert parked != text
    rules = tmp_path / "rules.yaml"
    rules.write_text(parked, encoding="utf-8")
    result = validate(sandbox, "salesforce", rules)
    assert result.exit_code == 0, result.output
    assert WARNING not in result.output
