"""What the worker needs from the sandbox: the account a ledger binds to (HubSpot's portal id,
Salesforce's org id), the territory lock as one value both CRMs serve and write and the
control API sets, and sObject Collections create for notes and their links."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from anyio.from_thread import BlockingPortal

from sandbox.org import LOADED_AT, organization_id
from tests.sandbox.conftest import COMPANIES, COMPANY_HEADER, InProcess, in_process, write_org

API = "/services/data/v59.0"
COLLECTIONS = f"{API}/composite/sobjects"
ACME = "1000000001"
MARKER = "territory-sync:c0ffee00c0ffee00"


def soql(crm: InProcess, query: str) -> list[dict[str, Any]]:
    reply = crm.salesforce.request("GET", f"{API}/query", query={"q": query})
    assert reply.status == 200, reply.body
    records: list[dict[str, Any]] = reply.json()["records"]
    return records


def hubspot_lock(crm: InProcess, company: str = ACME) -> tuple[str | None, str]:
    """(territory_lock, hs_lastmodifieddate) of a company as HubSpot lists it."""
    query = "properties=territory_lock,hs_lastmodifieddate"
    reply = crm.hubspot.request("GET", f"/crm/v3/objects/companies/{company}", query=query)
    properties = reply.json()["properties"]
    return properties.get("territory_lock"), properties["hs_lastmodifieddate"]


def salesforce_lock(crm: InProcess, name: str = "Acme") -> bool:
    [record] = soql(crm, f"SELECT Territory_Lock__c FROM Account WHERE Name = '{name}'")
    return bool(record["Territory_Lock__c"])


# ---- the account a ledger binds to ----------------------------------------------------------


def test_the_portal_and_org_ids_are_the_ones_the_sandbox_was_started_with(
    tiny_org: Path, portal: BlockingPortal
) -> None:
    crm = in_process(tiny_org, portal, portal_id=7_654_321)
    details = crm.hubspot.request("GET", "/account-info/v3/details")
    assert details.status == 200
    assert details.json()["portalId"] == 7_654_321
    [org] = soql(crm, "SELECT Id FROM Organization")
    assert org["Id"] == organization_id(7_654_321) == crm.sandbox.salesforce_org_id
    named = in_process(tiny_org, portal, salesforce_org_id="00D000000000001AAA")
    assert soql(named, "SELECT Id FROM Organization")[0]["Id"] == "00D000000000001AAA"


def test_the_account_details_need_a_valid_token(crm: InProcess) -> None:
    reply = crm.hubspot.request(
        "GET", "/account-info/v3/details", headers={"Authorization": "Bearer wrong"}
    )
    assert reply.status == 401


# ---- the territory lock -----------------------------------------------------------------------


def test_a_portal_without_locks_has_no_lock_property_until_one_is_set(crm: InProcess) -> None:
    assert "territory_lock" not in crm.sandbox.custom_properties
    assert hubspot_lock(crm)[0] is None  # HubSpot leaves out a property the portal lacks
    reply = crm.control.request("POST", f"/companies/{ACME}/lock", json={"locked": True})
    assert reply.status == 200
    assert crm.sandbox.custom_properties["territory_lock"]["type"] == "bool"


def test_a_lock_set_by_hand_reads_in_both_crms_and_bumps_the_modified_date(
    crm: InProcess,
) -> None:
    reply = crm.control.request("POST", f"/companies/{ACME}/lock", json={"locked": True})
    assert reply.json() == {"id": ACME, "locked": True}
    locked, modified = hubspot_lock(crm)
    assert locked == "true"
    assert modified > LOADED_AT.isoformat()
    assert salesforce_lock(crm) is True
    assert crm.sandbox.org.stats.owner_writes == {}  # a person's edit, not an API write
    crm.control.request("POST", f"/companies/{ACME}/lock", json={"locked": False})
    assert hubspot_lock(crm)[0] == "false"
    assert salesforce_lock(crm) is False


def test_a_lock_call_needs_true_or_false_and_a_known_company(crm: InProcess) -> None:
    for body in ({}, {"locked": "yes"}, {"locked": 1}, {"locked": None}):
        reply = crm.control.request("POST", f"/companies/{ACME}/lock", json=body)
        assert reply.status == 400, body
        assert "locked" in reply.json()["error"]
    assert crm.control.request("POST", "/companies/9/lock", json={"locked": True}).status == 404
    assert crm.sandbox.org.companies[ACME].locked is False


def test_a_lock_written_through_either_crm_is_the_one_lock(crm: InProcess) -> None:
    crm.control.request("POST", f"/companies/{ACME}/lock", json={"locked": False})
    update = {"inputs": [{"id": ACME, "properties": {"territory_lock": "true"}}]}
    written = crm.hubspot.request("POST", "/crm/v3/objects/companies/batch/update", json=update)
    assert written.status == 200, written.body
    assert salesforce_lock(crm) is True
    [acme] = soql(crm, "SELECT Id FROM Account WHERE Name = 'Acme'")
    record = {"attributes": {"type": "Account"}, "id": acme["Id"], "Territory_Lock__c": False}
    [saved] = crm.salesforce.request("PATCH", COLLECTIONS, json={"records": [record]}).json()
    assert saved["success"], saved
    assert hubspot_lock(crm)[0] == "false"


def test_a_loaded_lock_column_gives_the_portal_its_lock_property(
    tmp_path: Path, portal: BlockingPortal
) -> None:
    rows = [(*row, "true" if row[0] == ACME else "") for row in COMPANIES]
    org = write_org(
        tmp_path / "org", companies=rows, company_header=(*COMPANY_HEADER, "territory_lock")
    )
    crm = in_process(org, portal)
    assert hubspot_lock(crm)[0] == "true"
    assert hubspot_lock(crm, "1000000002")[0] == "false"
    assert salesforce_lock(crm) is True


# ---- sObject Collections create -----------------------------------------------------------------


def note(
    title: str = f"Territory change {MARKER}", content: str = "<p>moved</p>"
) -> dict[str, Any]:
    encoded = base64.b64encode(content.encode()).decode()
    return {"attributes": {"type": "ContentNote"}, "Title": title, "Content": encoded}


def link(note_id: str, account_id: str) -> dict[str, Any]:
    return {
        "attributes": {"type": "ContentDocumentLink"},
        "ContentDocumentId": note_id,
        "LinkedEntityId": account_id,
        "ShareType": "V",
    }


def create(crm: InProcess, records: list[dict[str, Any]], **body: Any) -> Any:
    reply = crm.salesforce.request("POST", COLLECTIONS, json={"records": records, **body})
    assert reply.status == 200, reply.body
    return reply.json()


def test_notes_and_links_are_created_in_collections_one_result_per_record_in_order(
    crm: InProcess,
) -> None:
    [acme] = soql(crm, "SELECT Id FROM Account WHERE Name = 'Acme'")
    bad = {**note(), "Content": "not base64!"}
    made, refused, untitled = create(crm, [note(), bad, note(title="")])
    assert made["success"]
    assert made["id"].startswith("069")
    assert refused == {
        "success": False,
        "errors": [
            {
                "statusCode": "INVALID_TYPE_ON_FIELD_IN_RECORD",
                "message": "Content: value not of required type: base64",
                "fields": ["Content"],
            }
        ],
    }
    assert untitled["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    first, again = create(crm, [link(made["id"], acme["Id"]), link(made["id"], acme["Id"])])
    assert first["success"]
    assert first["id"].startswith("06A")
    assert again["errors"][0]["statusCode"] == "DUPLICATE_VALUE"
    [linked] = soql(
        crm,
        f"SELECT LinkedEntityId FROM ContentDocumentLink WHERE ContentDocumentId = '{made['id']}'",
    )
    assert linked["LinkedEntityId"] == acme["Id"]
    assert crm.sandbox.org.stats.notes_by_marker == {MARKER: 1}
    assert crm.sandbox.org.stats.requests["salesforce.collections.create"] == 2


def test_all_or_none_rolls_every_record_back_when_one_fails(crm: InProcess) -> None:
    results = create(crm, [note(), note(title="")], allOrNone=True)
    assert [r["success"] for r in results] == [False, False]
    assert results[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert results[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert crm.sandbox.org.notes == {}


def test_a_collection_create_refuses_ids_other_types_and_more_than_200(crm: InProcess) -> None:
    with_id, account = create(
        crm, [{**note(), "Id": "0690000000000AAAAA"}, {"attributes": {"type": "Account"}}]
    )
    assert with_id["errors"][0]["statusCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    assert account["errors"][0]["statusCode"] == "INVALID_TYPE"
    too_many = crm.salesforce.request("POST", COLLECTIONS, json={"records": [note()] * 201})
    assert too_many.status == 400
    assert too_many.json()[0]["errorCode"] == "EXCEEDED_ID_LIMIT"
    untyped = crm.salesforce.request("POST", COLLECTIONS, json={"records": [{"Title": "x"}]})
    assert untyped.status == 400
    assert crm.sandbox.org.notes == {}
