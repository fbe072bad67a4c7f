"""The territory fields: docs/salesforce/ deploys exactly the ones the connector writes, with the
access the permission set must grant, and values go out in each field's Salesforce type."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from connectors.errors import TerminalError
from connectors.salesforce.fields import TERRITORY_CUSTOM_FIELDS, write_values

DOCS = Path(__file__).resolve().parents[2] / "docs" / "salesforce"
SOURCE = DOCS / "force-app" / "main" / "default"
NS = {"md": "http://soap.sforce.com/2006/04/metadata"}
METADATA_TYPES = {"string": "Text", "date": "Date", "datetime": "DateTime", "boolean": "Checkbox"}


def text(element: ET.Element, tag: str) -> str | None:
    found = element.find(f"md:{tag}", NS)
    return None if found is None else found.text


def test_every_territory_field_is_deployed_with_its_type_label_and_length() -> None:
    files = sorted((SOURCE / "objects" / "Account" / "fields").glob("*.field-meta.xml"))
    deployed = {}
    for path in files:
        root = ET.parse(path).getroot()
        deployed[text(root, "fullName")] = (
            text(root, "type"),
            text(root, "label"),
            text(root, "length"),
        )
        assert path.name == f"{text(root, 'fullName')}.field-meta.xml"
    expected = {
        f.name: (METADATA_TYPES[f.type], f.label, str(f.length) if f.length else None)
        for f in TERRITORY_CUSTOM_FIELDS
    }
    assert deployed == expected


def test_the_permission_set_grants_edit_on_every_field_and_owner_transfer() -> None:
    path = SOURCE / "permissionsets" / "Territory_Sync.permissionset-meta.xml"
    root = ET.parse(path).getroot()
    editable = {
        text(p, "field")
        for p in root.findall("md:fieldPermissions", NS)
        if text(p, "editable") == "true" and text(p, "readable") == "true"
    }
    assert editable == {f"Account.{f.name}" for f in TERRITORY_CUSTOM_FIELDS}
    granted = {
        text(p, "name")
        for p in root.findall("md:userPermissions", NS)
        if text(p, "enabled") == "true"
    }
    assert {"ApiEnabled", "TransferAnyEntity"} <= granted
    [account] = root.findall("md:objectPermissions", NS)
    assert (
        text(account, "object"),
        text(account, "allowEdit"),
        text(account, "viewAllRecords"),
    ) == (
        "Account",
        "true",
        "true",
    )


def test_the_project_file_points_at_the_source() -> None:
    project = json.loads((DOCS / "sfdx-project.json").read_text(encoding="utf-8"))
    assert [p["path"] for p in project["packageDirectories"]] == ["force-app"]


def test_territory_values_go_out_in_each_fields_salesforce_type() -> None:
    values = write_values(
        {
            "territory": " EMEA North ",
            "rule_revision": "r7",
            "effective_date": "2027-01-04T09:00:00Z",
            "assigned_at": "2027-01-04T09:00:00",  # naive: UTC
            "lock": "Yes",
        }
    )
    assert values == {
        "Territory__c": "EMEA North",
        "Territory_Rule_Revision__c": "r7",
        "Territory_Effective_Date__c": "2027-01-04",
        "Territory_Assigned_At__c": "2027-01-04T09:00:00+00:00",
        "Territory_Lock__c": True,
    }
    assert write_values({"lock": "", "territory": ""}) == {
        "Territory_Lock__c": False,
        "Territory__c": None,
    }


@pytest.mark.parametrize(
    ("fields", "code"),
    [({"region": "x"}, "UNKNOWN_FIELD"), ({"effective_date": "soon"}, "INVALID_FIELD_VALUE")],
)
def test_unknown_or_malformed_territory_values_fail_before_sending(
    fields: dict[str, str], code: str
) -> None:
    with pytest.raises(TerminalError) as refused:
        write_values(fields)
    assert refused.value.code == code
