"""A CRM value the connector cannot read is a warning naming the field, never silence.

A number beyond what the field holds, a negative one or no number at all in HubSpot's
numberofemployees (HubSpot keeps property values as text) was read as empty without a word:
the account fell to fit band D and out of its team, while the same value in a CSV export is a
located bad cell. Salesforce's typed fields cannot hold such values.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.server import RunningSandbox
from tests.connectors.conftest import control, sample_org, sandbox, sandbox_factory
from tests.connectors.test_readable_fields_crm import validate

# The fixtures these tests run on, shared with the connector tests.
__all__ = ["sample_org", "sandbox", "sandbox_factory"]


def first_company(sandbox: RunningSandbox) -> str:
    """The CSV id of the sandbox's first company."""
    companies = control(sandbox, "GET", "/ids")["companies"]
    assert isinstance(companies, dict)
    return str(next(iter(companies)))


@pytest.mark.parametrize("value", ["99999999999999999999", "-5", "twelve"])
def test_an_unreadable_number_is_a_warning_naming_its_field(
    sandbox: RunningSandbox, sample_org: Path, value: str
) -> None:
    company = first_company(sandbox)
    control(sandbox, "POST", f"/companies/{company}/values", values={"employees": value})

    result = validate(sandbox, "hubspot", sample_org / "rules.yaml")

    assert result.exit_code == 0, result.output
    assert "HubSpot field numberofemployees: 1 value(s) could not be read" in result.output
