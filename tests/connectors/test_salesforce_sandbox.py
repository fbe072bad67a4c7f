"""The sandbox's Salesforce API over HTTPS, driven by simple_salesforce as a client would."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterator

import pytest
import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
)

from connectors.salesforce.fields import TERRITORY_CUSTOM_FIELDS
from sandbox.server import RunningSandbox
from tests.connectors.conftest import ci_limits, control
from tests.connectors.salesforce_support import close_sessions, sandbox_ids, sandbox_session

SF_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000$")


def client(
    running: RunningSandbox, *, version: str = "59.0", session_id: str | None = None
) -> Salesforce:
    return Salesforce(
        instance_url=running.info.salesforce_url,
        session_id=session_id or running.info.salesforce_session_id,
        session=sandbox_session(running),
        version=version,
    )


@pytest.fixture(autouse=True)
def _sessions_closed(sandbox_factory: Callable[..., RunningSandbox]) -> Iterator[None]:
    """Close client sessions before the sandboxes stop (set up after them, torn down before)."""
    yield
    close_sessions()


@pytest.fixture
def sf(sandbox: RunningSandbox) -> Salesforce:
    return client(sandbox)


def account_ids(sf: Salesforce, count: int) -> list[str]:
    records = sf.query(f"SELECT Id FROM Account ORDER BY Id LIMIT {count}")["records"]
    return [r["Id"] for r in records]


def active_users(sf: Salesforce) -> list[str]:
    return [
        r["Id"]
        for r in sf.query("SELECT Id FROM User WHERE IsActive = true ORDER BY Id")["records"]
    ]


def test_records_carry_attributes_and_salesforce_value_formats(sf: Salesforce) -> None:
    page = sf.query(
        "SELECT Id, Name, OwnerId, NumberOfEmployees, AnnualRevenue, LastActivityDate, "
        "SystemModstamp FROM Account WHERE LastActivityDate != NULL ORDER BY Id LIMIT 1"
    )
    [record] = page["records"]
    assert page["done"] is True
    assert record["attributes"] == {
        "type": "Account",
        "url": f"/services/data/v59.0/sobjects/Account/{record['Id']}",
    }
    assert re.fullmatch(r"001[0-9A-Za-z]{15}", record["Id"])
    assert SF_DATETIME.match(record["SystemModstamp"])
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", record["LastActivityDate"])
    assert isinstance(record["NumberOfEmployees"], int)
    assert isinstance(record["AnnualRevenue"], float)


def test_any_api_version_is_served_and_a_bad_one_is_not_found(sandbox: RunningSandbox) -> None:
    old = client(sandbox, version="52.0")
    assert old.query("SELECT Id FROM User LIMIT 1")["totalSize"] == 1
    reply = sandbox_session(sandbox).get(
        f"{sandbox.info.salesforce_url}/services/data/vlatest/limits",
        headers={"Authorization": f"Bearer {sandbox.info.salesforce_session_id}"},
    )
    assert reply.status_code == 404


def test_pages_continue_through_next_records_url(sf: Salesforce) -> None:
    first = sf.query(
        "SELECT Id FROM Account ORDER BY Id", headers={"Sforce-Query-Options": "batchSize=200"}
    )
    assert (first["totalSize"], len(first["records"]), first["done"]) == (300, 200, False)
    assert re.fullmatch(r"/services/data/v59\.0/query/01g\w+-200", first["nextRecordsUrl"])
    rest = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert (len(rest["records"]), rest["done"]) == (100, True)
    assert "nextRecordsUrl" not in rest
    every = [r["Id"] for r in first["records"] + rest["records"]]
    assert every == sorted(every)
    assert len(set(every)) == 300


def test_an_unknown_query_locator_is_refused(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.query_more("01gDOESNOTEXIST-2000")
    assert refused.value.content[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_query_all_sees_deleted_accounts_and_query_does_not(
    sandbox: RunningSandbox, sf: Salesforce
) -> None:
    csv_id, ids = next(iter(sandbox_ids(sandbox)["companies"].items()))
    control(sandbox, "POST", f"/companies/{csv_id}/archive")
    deleted = "SELECT Id, IsDeleted FROM Account WHERE IsDeleted = true"
    assert sf.query(deleted)["records"] == []
    [record] = sf.query_all(deleted, include_deleted=True)["records"]
    assert (record["Id"], record["IsDeleted"]) == (ids["salesforce"], True)
    assert sf.query("SELECT Id FROM Account")["totalSize"] == 299


def test_malformed_soql_is_a_400_naming_the_problem(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.query("SELECT Id FROM Account GROUP BY Id")
    [error] = refused.value.content
    assert error["errorCode"] == "MALFORMED_QUERY"
    assert "GROUP" in error["message"]
    with pytest.raises(SalesforceMalformedRequest) as unknown:
        sf.query("SELECT Id FROM Opportunity")
    assert unknown.value.content[0]["errorCode"] == "INVALID_TYPE"


def test_a_wrong_or_expired_session_id_is_invalid_session_id(sandbox: RunningSandbox) -> None:
    with pytest.raises(SalesforceExpiredSession) as wrong:
        client(sandbox, session_id="00Dnot-the-session").query("SELECT Id FROM User")
    assert wrong.value.content == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]
    old = client(sandbox)
    fresh = control(sandbox, "POST", "/salesforce/expire-session")["salesforce_session_id"]
    with pytest.raises(SalesforceExpiredSession):
        old.query("SELECT Id FROM User")
    assert (
        client(sandbox, session_id=str(fresh)).query("SELECT Id FROM User LIMIT 1")["totalSize"]
        == 1
    )


def test_single_record_writes_honour_if_match(sandbox: RunningSandbox, sf: Salesforce) -> None:
    [account] = account_ids(sf, 1)
    url = f"{sandbox.info.salesforce_url}/services/data/v59.0/sobjects/Account/{account}"
    http = sandbox_session(sandbox)
    http.headers["Authorization"] = f"Bearer {sandbox.info.salesforce_session_id}"
    first = http.get(url)
    tag = first.headers["ETag"]
    assert first.json()["Id"] == account
    assert http.get(url, headers={"If-None-Match": tag}).status_code == 304
    owner = active_users(sf)[-1]
    assert http.patch(url, json={"OwnerId": owner}, headers={"If-Match": tag}).status_code == 204
    stale = http.patch(url, json={"OwnerId": owner}, headers={"If-Match": tag})
    assert stale.status_code == 412
    assert stale.json()[0]["errorCode"] == "PRECONDITION_FAILED"
    assert http.get(url).headers["ETag"] != tag
    assert sf.Account.get(account)["OwnerId"] == owner


def collection(records: list[dict[str, object]], *, all_or_none: bool = False) -> dict[str, object]:
    return {
        "allOrNone": all_or_none,
        "records": [{"attributes": {"type": "Account"}, **r} for r in records],
    }


def test_collections_answer_per_record_in_input_order(
    sandbox: RunningSandbox, sf: Salesforce
) -> None:
    first, second, third, fourth = account_ids(sf, 4)
    owner = active_users(sf)[0]
    deactivated = active_users(sf)[1]
    csv_owner = next(
        k for k, v in sandbox_ids(sandbox)["owners"].items() if v["salesforce"] == deactivated
    )
    control(sandbox, "POST", f"/owners/{csv_owner}/deactivate")
    results = sf.restful(
        "composite/sobjects",
        method="PATCH",
        json=collection(
            [
                {
                    "id": first,
                    "OwnerId": owner,
                    "Territory__c": "EMEA North",
                    "Territory_Lock__c": True,
                },
                {"id": second, "OwnerId": "005000000000000AAA"},
                {"id": third, "OwnerId": deactivated},
                {"id": fourth, "OwnerId": owner, "Territory_Effective_Date__c": "soon"},
            ]
        ),
    )
    assert results[0] == {"id": first, "success": True, "errors": []}
    assert [r["success"] for r in results] == [True, False, False, False]
    codes = [r["errors"][0]["statusCode"] for r in results[1:]]
    assert codes == [
        "INVALID_CROSS_REFERENCE_KEY",
        "INACTIVE_OWNER_OR_USER",
        "INVALID_TYPE_ON_FIELD_IN_RECORD",
    ]
    assert results[1]["errors"][0]["fields"] == ["OwnerId"]
    [written] = sf.query(
        f"SELECT OwnerId, Territory__c, Territory_Lock__c FROM Account WHERE Id = '{first}'"
    )["records"]
    assert (written["OwnerId"], written["Territory__c"], written["Territory_Lock__c"]) == (
        owner,
        "EMEA North",
        True,
    )
    assert control(sandbox, "GET", "/stats")["owner_writes"] != {}


def test_all_or_none_rolls_every_record_back(sf: Salesforce) -> None:
    first, second = account_ids(sf, 2)
    before = sf.Account.get(first)["OwnerId"]
    owner = next(u for u in active_users(sf) if u != before)
    results = sf.restful(
        "composite/sobjects",
        method="PATCH",
        json=collection(
            [{"id": first, "OwnerId": owner}, {"id": second, "OwnerId": "bad"}], all_or_none=True
        ),
    )
    assert [r["errors"][0]["statusCode"] for r in results] == [
        "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        "MALFORMED_ID",
    ]
    assert sf.Account.get(first)["OwnerId"] == before


def test_collections_take_at_most_200_records(sf: Salesforce) -> None:
    [account] = account_ids(sf, 1)
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.restful("composite/sobjects", method="PATCH", json=collection([{"id": account}] * 201))
    assert refused.value.content[0]["errorCode"] == "EXCEEDED_ID_LIMIT"


def test_partial_faults_fail_single_records_with_unable_to_lock_row(
    sandbox_factory: Callable[..., RunningSandbox],
) -> None:
    running = sandbox_factory(faults="salesforce.collections:partial=0.5", seed=4)
    sf = client(running)
    owner = active_users(sf)[0]
    records = [{"id": i, "OwnerId": owner} for i in account_ids(sf, 40)]
    results = sf.restful("composite/sobjects", method="PATCH", json=collection(records))
    failed = [r for r in results if not r["success"]]
    assert 0 < len(failed) < 40
    assert {r["errors"][0]["statusCode"] for r in failed} == {"UNABLE_TO_LOCK_ROW"}


def test_undeployed_custom_fields_are_absent_from_describe_queries_and_writes(
    sandbox: RunningSandbox, sf: Salesforce
) -> None:
    names = {f["name"] for f in sf.Account.describe()["fields"]}
    assert {f.name for f in TERRITORY_CUSTOM_FIELDS} <= names
    assert "Last_Funding_Date__c" in names
    sandbox.sandbox.salesforce_custom_fields.discard("Territory__c")
    assert "Territory__c" not in {f["name"] for f in sf.Account.describe()["fields"]}
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.query("SELECT Territory__c FROM Account")
    assert refused.value.content[0]["errorCode"] == "INVALID_FIELD"
    [account] = account_ids(sf, 1)
    [result] = sf.restful(
        "composite/sobjects",
        method="PATCH",
        json=collection([{"id": account, "Territory__c": "X"}]),
    )
    assert result["errors"][0]["statusCode"] == "INVALID_FIELD"


def test_notes_are_content_notes_linked_to_accounts(
    sandbox: RunningSandbox, sf: Salesforce
) -> None:
    [account] = account_ids(sf, 1)
    body = base64.b64encode(b"<p>Owner changed territory-sync:0123abcd</p>").decode()
    note = sf.ContentNote.create(
        {"Title": "Territory change territory-sync:0123abcd", "Content": body}
    )
    assert note["success"] is True
    assert note["id"].startswith("069")
    link = {"ContentDocumentId": note["id"], "LinkedEntityId": account, "ShareType": "V"}
    assert sf.ContentDocumentLink.create(link)["id"].startswith("06A")
    with pytest.raises(SalesforceMalformedRequest) as duplicate:
        sf.ContentDocumentLink.create(link)
    assert duplicate.value.content[0]["errorCode"] == "DUPLICATE_VALUE"
    links = sf.query(
        f"SELECT ContentDocumentId FROM ContentDocumentLink WHERE LinkedEntityId IN ('{account}')"
    )
    assert [r["ContentDocumentId"] for r in links["records"]] == [note["id"]]
    [found] = sf.query(f"SELECT Id, Title, TextPreview FROM ContentNote WHERE Id = '{note['id']}'")[
        "records"
    ]
    assert found["TextPreview"] == "Owner changed territory-sync:0123abcd"
    with pytest.raises(SalesforceMalformedRequest) as unfiltered:
        sf.query("SELECT Id FROM ContentDocumentLink")
    assert "Implementation restriction" in unfiltered.value.content[0]["message"]
    assert control(sandbox, "GET", "/stats")["notes_by_marker"] == {"territory-sync:0123abcd": 1}


def test_limits_report_the_daily_allowance_and_refuse_past_it(
    sandbox_factory: Callable[..., RunningSandbox],
) -> None:
    running = sandbox_factory(limits=ci_limits(salesforce_daily_limit=3))
    sf = client(running)
    assert sf.limits()["DailyApiRequests"] == {"Max": 3, "Remaining": 2}
    sf.query("SELECT Id FROM User LIMIT 1")
    assert sf.api_usage["api-usage"].used == 2
    sf.query("SELECT Id FROM User LIMIT 1")
    with pytest.raises(SalesforceRefusedRequest) as refused:
        sf.query("SELECT Id FROM User LIMIT 1")
    assert refused.value.content[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
    http = sandbox_session(running)
    reply = http.get(
        f"{running.info.salesforce_url}/services/data/v59.0/limits",
        headers={"Authorization": f"Bearer {running.info.salesforce_session_id}"},
    )
    assert (reply.status_code, reply.headers["Sforce-Limit-Info"]) == (403, "api-usage=4/3")


def test_the_sandbox_ca_is_what_verifies_its_certificate(sandbox: RunningSandbox) -> None:
    untrusting = requests.Session()
    untrusting.trust_env = False
    with pytest.raises(requests.exceptions.SSLError):
        untrusting.get(f"{sandbox.info.salesforce_url}/services/data/v59.0/limits", timeout=5)
