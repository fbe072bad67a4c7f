"""A fault spec whose number is not finite is refused, located, at start and by `POST /faults`.

`skip=inf` crashed `territory sandbox serve` as an internal error and answered the control
API with a 500; `latency_ms=inf` was accepted and then held every matching request forever.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from anyio.from_thread import BlockingPortal

from sandbox.gate import FaultSpecError, parse_faults
from tests.sandbox.conftest import InProcess, in_process, write_org
from tests.sandbox.conftest import portal as portal  # noqa: PLC0414 - the fixture, shared
from tests.unit.cli_runs import run

KEYS = ("429", "latency_ms", "drop_after_write", "partial", "skip", "times")
NOT_FINITE = ("inf", "nan", "1e400", "-inf")
SPECS = [f"hubspot.*:{key}={value}" for key in KEYS for value in NOT_FINITE]


@pytest.fixture
def org(tmp_path: Path) -> Path:
    return write_org(tmp_path / "org")


@pytest.fixture
def crm(org: Path, portal: BlockingPortal) -> InProcess:
    return in_process(org, portal)


@pytest.mark.parametrize("spec", SPECS)
def test_a_fault_number_that_is_not_finite_is_refused_naming_the_rule(spec: str) -> None:
    with pytest.raises(FaultSpecError, match=r"needs KEY=NUMBER \(0 or more\)") as refused:
        parse_faults(spec)

    assert repr(spec) in str(refused.value)


@pytest.mark.parametrize("spec", ["hubspot.*:skip=inf", "hubspot.*:latency_ms=nan"])
def test_the_control_api_refuses_it_with_a_400_and_keeps_the_faults_it_had(
    crm: InProcess, spec: str
) -> None:
    kept = crm.control.request("POST", "/faults", json={"spec": "salesforce.query:500=0.5"})
    assert kept.status == 200, kept.body

    reply = crm.control.request("POST", "/faults", json={"spec": spec})

    assert reply.status == 400, reply.body
    assert "needs KEY=NUMBER" in reply.json()["error"]
    assert [r.pattern for r in crm.sandbox.gate.faults] == ["salesforce.query"]


def test_sandbox_serve_refuses_it_in_one_line(org: Path) -> None:
    result = run("sandbox", "serve", "--data", org, "--faults", "hubspot.*:skip=inf")

    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: fault rule 'hubspot.*:skip=inf'")
