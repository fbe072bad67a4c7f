"""`territory plan --source hubspot|salesforce` gives the plan `--source csv:` gives.

The CLI runs in a subprocess with the TERRITORY_* settings pointing at the sandbox, exactly as
a user would run it; the plans are compared after mapping the CRM's ids back to the CSV's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sandbox.server import RunningSandbox
from tests.connectors.conftest import control

COMPARED = ("owner_id", "outcome", "routing_row", "team", "fit_band", "intent", "tier", "reason")


def _plan(source: str, org: Path, out: Path, env: dict[str, str]) -> dict[str, Any]:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "worker",
            "plan",
            "--rules",
            str(org / "rules.yaml"),
            "--source",
            source,
            "--as-of",
            "2027-01-04",
            "--out",
            str(out),
            "--allow-large-change",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(out.read_text())  # type: ignore[no-any-return]


def _env(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TERRITORY_")}
    env.update(settings)
    return env


def _by_csv_id(
    plan: dict[str, Any], companies: dict[str, str], owners: dict[str, str]
) -> dict[str, tuple[Any, ...]]:
    rows = {}
    for row in plan["assignments"]:
        values = dict(row)
        if values["owner_id"] is not None:
            values["owner_id"] = owners[values["owner_id"]]
        rows[companies[row["account_id"]]] = (
            *(values[k] for k in COMPARED),
            round(values["potential"], 6),
        )
    return rows


@pytest.mark.parametrize("crm", ["hubspot", "salesforce"])
def test_crm_plan_equals_csv_plan(
    crm: str, sandbox: RunningSandbox, sample_org: Path, tmp_path: Path
) -> None:
    info = sandbox.info
    settings = {
        "hubspot": {
            "TERRITORY_HUBSPOT_TOKEN": info.hubspot_token,
            "TERRITORY_HUBSPOT_BASE_URL": info.hubspot_url,
        },
        "salesforce": {
            "TERRITORY_SALESFORCE_INSTANCE_URL": info.salesforce_url,
            "TERRITORY_SALESFORCE_SESSION_ID": info.salesforce_session_id,
            "TERRITORY_SALESFORCE_CA_BUNDLE": info.ca_cert,
        },
    }[crm]
    from_csv = _plan(f"csv:{sample_org}", sample_org, tmp_path / "csv.json", _env())
    from_crm = _plan(crm, sample_org, tmp_path / f"{crm}.json", _env(**settings))
    ids = control(sandbox, "GET", "/ids")
    companies = {v[crm]: k for k, v in ids["companies"].items()}
    owners = {v[crm]: k for k, v in ids["owners"].items()}
    identity_c = {k: k for k in ids["companies"]}
    identity_o = {k: k for k in ids["owners"]}
    assert _by_csv_id(from_crm, companies, owners) == _by_csv_id(from_csv, identity_c, identity_o)
    assert from_crm["summary"] == from_csv["summary"]
    assert from_crm["tier_cutoffs"] == from_csv["tier_cutoffs"]
    if crm == "hubspot":
        # A HubSpot-flavoured sample keeps its ids in HubSpot: the very same bytes.
        assert (tmp_path / "hubspot.json").read_bytes() == (tmp_path / "csv.json").read_bytes()


def test_missing_settings_are_a_clear_error(sample_org: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "worker",
            "plan",
            "--rules",
            str(sample_org / "rules.yaml"),
            "--source",
            "hubspot",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=_env(),
    )
    assert result.returncode == 2
    assert "TERRITORY_HUBSPOT_TOKEN" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_crm_that_keeps_failing_exits_5_and_a_refusal_exits_2(
    sandbox: RunningSandbox, sample_org: Path
) -> None:
    info = sandbox.info
    env = _env(
        TERRITORY_HUBSPOT_TOKEN=info.hubspot_token,
        TERRITORY_HUBSPOT_BASE_URL=info.hubspot_url,
    )
    command = [sys.executable, "-m", "worker", "validate", str(sample_org / "rules.yaml")]
    command += ["--source", "hubspot"]
    try:
        control(sandbox, "POST", "/faults", spec="hubspot.*:503=1")
        failing = subprocess.run(
            command, capture_output=True, text=True, timeout=120, check=False, env=env
        )
        control(sandbox, "POST", "/faults", spec="hubspot.*:401=1")
        refused = subprocess.run(
            command, capture_output=True, text=True, timeout=120, check=False, env=env
        )
    finally:
        control(sandbox, "POST", "/faults", spec="")
    assert failing.returncode == 5, failing.stderr
    assert refused.returncode == 2, refused.stderr
    assert "Traceback" not in failing.stderr + refused.stderr
