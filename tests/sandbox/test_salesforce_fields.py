"""The sandbox deploys the Salesforce fields docs/salesforce/ ships, from a checkout or a wheel."""

from __future__ import annotations

import shutil
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from anyio.from_thread import BlockingPortal

from sandbox import salesforce_fields
from sandbox.salesforce_fields import (
    CHECKOUT_FIELDS,
    PACKAGED_FIELDS,
    CustomField,
    FieldMetadataError,
    read_field,
    territory_fields,
)
from tests.sandbox.conftest import in_process

ROOT = Path(__file__).resolve().parents[2]
DESCRIBE = "/services/data/v59.0/sobjects/Account/describe"
COLLECTIONS = "/services/data/v59.0/composite/sobjects"


@pytest.fixture
def shipped_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of the shipped field metadata that the sandbox reads instead (edit it freely)."""
    copy = tmp_path / "fields"
    shutil.copytree(ROOT / CHECKOUT_FIELDS, copy)
    monkeypatch.setattr(salesforce_fields, "fields_directory", lambda: copy)
    territory_fields.cache_clear()
    yield copy
    territory_fields.cache_clear()


def test_the_wheel_carries_the_metadata_where_the_sandbox_looks_for_it() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    included = project["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]
    assert included[CHECKOUT_FIELDS] == f"sandbox/{PACKAGED_FIELDS}"


def test_every_shipped_field_is_read_with_its_type_label_and_length() -> None:
    assert territory_fields() == {
        "Territory_Assigned_At__c": CustomField(
            "Territory_Assigned_At__c", "datetime", "Territory Assigned At"
        ),
        "Territory_Effective_Date__c": CustomField(
            "Territory_Effective_Date__c", "date", "Territory Effective Date"
        ),
        "Territory_Lock__c": CustomField("Territory_Lock__c", "boolean", "Territory Lock"),
        "Territory_Rule_Revision__c": CustomField(
            "Territory_Rule_Revision__c", "string", "Territory Rule Revision", 80
        ),
        "Territory__c": CustomField("Territory__c", "string", "Territory", 80),
    }


def test_the_sandbox_serves_the_fields_the_metadata_names_not_the_connectors(
    shipped_copy: Path, tiny_org: Path, portal: BlockingPortal
) -> None:
    """Were the metadata to name a field differently from the connector, the connector's
    write would fail against the sandbox as it would against an org."""
    path = shipped_copy / "Territory__c.field-meta.xml"
    renamed = path.read_text(encoding="utf-8").replace("Territory__c", "Territory_Name__c")
    (shipped_copy / "Territory_Name__c.field-meta.xml").write_text(renamed, encoding="utf-8")
    path.unlink()
    crm = in_process(tiny_org, portal)
    fields = {f["name"] for f in crm.salesforce.request("GET", DESCRIBE).json()["fields"]}
    assert "Territory_Name__c" in fields
    assert "Territory__c" not in fields
    record = {"attributes": {"type": "Account"}, "id": "0018d0000Bb0000AQA", "Territory__c": "x"}
    [result] = crm.salesforce.request("PATCH", COLLECTIONS, json={"records": [record]}).json()
    assert result["success"] is False
    assert result["errors"][0]["statusCode"] == "INVALID_FIELD"


def test_a_metadata_file_the_sandbox_cannot_serve_is_named(tmp_path: Path) -> None:
    path = tmp_path / "Odd__c.field-meta.xml"
    path.write_text(
        '<CustomField xmlns="http://soap.sforce.com/2006/04/metadata"><fullName>Odd__c'
        "</fullName><label>Odd</label><type>Currency</type></CustomField>",
        encoding="utf-8",
    )
    with pytest.raises(FieldMetadataError, match=r"Odd__c\.field-meta\.xml: expected fullName"):
        read_field(path)
