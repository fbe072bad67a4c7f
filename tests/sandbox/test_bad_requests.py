"""A request body of the wrong shape is a 400 in the CRM's own error shape, never a 500.

Each API answers as its CRM does: HubSpot with `{status: "error", category:
"VALIDATION_ERROR", message, correlationId}`, Salesforce with a list of `{message,
errorCode}`, the control API with `{error}`. Nothing is changed by a refused request.
"""

from __future__ import annotations

import pytest

from tests.sandbox.asgi import AsgiClient, Reply
from tests.sandbox.conftest import InProcess

SEARCH = "/crm/v3/objects/companies/search"
NAME_EQ = {"propertyName": "name", "operator": "EQ", "value": "Acme"}


def one_filter(**item: object) -> dict[str, object]:
    """A search body with one filter: `name EQ Acme` with `item`'s keys replaced."""
    return {"filterGroups": [{"filters": [{**NAME_EQ, **item}]}]}


# (case, body) for HubSpot search: every part of the request in a shape it cannot take.
BAD_SEARCHES: list[tuple[str, object]] = [
    ("filterGroups is an object", {"filterGroups": {"filters": [NAME_EQ]}}),
    ("filterGroups is text", {"filterGroups": "name=Acme"}),
    ("a filter group is a list", {"filterGroups": [[NAME_EQ]]}),
    ("filters is an object", {"filterGroups": [{"filters": NAME_EQ}]}),
    ("a filter is text", {"filterGroups": [{"filters": ["name"]}]}),
    ("propertyName is a list", one_filter(propertyName=[])),
    ("operator is a list", one_filter(operator=["EQ"])),
    ("value is an object", one_filter(value={"a": 1})),
    ("values is text", one_filter(operator="IN", values="A")),
    ("highValue is a list", one_filter(operator="BETWEEN", value="1", highValue=[9])),
    ("sorts is an object", {"sorts": {"propertyName": "name"}}),
    ("a sort is a number", {"sorts": [5]}),
    ("a sort's direction is a list", {"sorts": [{"propertyName": "name", "direction": []}]}),
    ("properties is text", {"properties": "name"}),
    ("properties is a number", {"properties": 5}),
    ("properties holds an object", {"properties": [{"name": "name"}]}),
    ("limit is true", {"limit": True}),
    ("limit is text", {"limit": "10"}),
    ("after is an object", {"after": {"offset": 1}}),
    ("the body is a list", [NAME_EQ]),
]

# (case, method, path, body) for the other HubSpot endpoints.
BAD_HUBSPOT: list[tuple[str, str, str, object]] = [
    ("batch read properties is a number", "POST", "/crm/v3/objects/companies/batch/read",
     {"inputs": [{"id": "1000000001"}], "properties": 5}),
    ("batch read properties is text", "POST", "/crm/v3/objects/companies/batch/read",
     {"inputs": [{"id": "1000000001"}], "properties": "name"}),
    ("batch read idProperty is a list", "POST", "/crm/v3/objects/companies/batch/read",
     {"inputs": [{"id": "acme.example"}], "idProperty": ["domain"]}),
    ("batch read inputs is an object", "POST", "/crm/v3/objects/companies/batch/read",
     {"inputs": {"id": "1000000001"}}),
    ("an input is text", "POST", "/crm/v3/objects/companies/batch/read", {"inputs": ["1"]}),
    ("an input id is an object", "POST", "/crm/v3/objects/companies/batch/read",
     {"inputs": [{"id": {"value": "1000000001"}}]}),
    ("notes batch read properties is a number", "POST", "/crm/v3/objects/notes/batch/read",
     {"inputs": [{"id": "1"}], "properties": 5}),
    ("calls batch read properties is a number", "POST", "/crm/v3/objects/calls/batch/read",
     {"inputs": [{"id": "1"}], "properties": 5}),
    ("batch update properties is a list", "POST", "/crm/v3/objects/companies/batch/update",
     {"inputs": [{"id": "1000000001", "properties": ["name"]}]}),
    ("update properties is text", "PATCH", "/crm/v3/objects/companies/1000000001",
     {"properties": "name=Acme"}),
    ("a property value is an object", "PATCH", "/crm/v3/objects/companies/1000000001",
     {"properties": {"name": {"value": "Acme"}}}),
    ("note associations is an object", "POST", "/crm/v3/objects/notes",
     {"properties": {"hs_timestamp": "2026-01-05T09:00:00Z"}, "associations": {"to": 1}}),
    ("a note association is text", "POST", "/crm/v3/objects/notes",
     {"properties": {"hs_timestamp": "2026-01-05T09:00:00Z"}, "associations": ["1000000001"]}),
    ("a note association's to is text", "POST", "/crm/v3/objects/notes",
     {"properties": {"hs_timestamp": "2026-01-05T09:00:00Z"},
      "associations": [{"to": "1000000001", "types": []}]}),
    ("a note association's types is an object", "POST", "/crm/v3/objects/notes",
     {"properties": {"hs_timestamp": "2026-01-05T09:00:00Z"},
      "associations": [{"to": {"id": "1000000001"}, "types": {"associationTypeId": 190}}]}),
    ("a note association type is text", "POST", "/crm/v3/objects/notes",
     {"properties": {"hs_timestamp": "2026-01-05T09:00:00Z"},
      "associations": [{"to": {"id": "1000000001"}, "types": ["190"]}]}),
    ("notes batch create inputs hold text", "POST", "/crm/v3/objects/notes/batch/create",
     {"inputs": ["note"]}),
    ("an association input's after is an object", "POST",
     "/crm/v4/associations/companies/calls/batch/read",
     {"inputs": [{"id": "1000000001", "after": {"x": 1}}]}),
    ("property options is an object", "POST", "/crm/v3/properties/companies",
     {"name": "tier", "label": "Tier", "type": "enumeration", "fieldType": "select",
      "groupName": "companyinformation", "options": {"label": "A", "value": "a"}}),
    ("a property option's value is a list", "POST", "/crm/v3/properties/companies",
     {"name": "tier", "label": "Tier", "type": "enumeration", "fieldType": "select",
      "groupName": "companyinformation", "options": [{"label": "A", "value": ["a"]}]}),
    ("a property name is a number", "POST", "/crm/v3/properties/companies",
     {"name": 5, "label": "Tier", "type": "string", "fieldType": "text",
      "groupName": "companyinformation"}),
    ("a group displayOrder is text", "POST", "/crm/v3/properties/companies/groups",
     {"name": "territory", "label": "Territory", "displayOrder": "first"}),
    ("malformed JSON", "POST", SEARCH, b'{"filterGroups": ['),
]  # fmt: skip

# (case, path, body) for Salesforce's JSON endpoints.
COLLECTIONS = "/services/data/v59.0/composite/sobjects"
BAD_SALESFORCE: list[tuple[str, str, str, object]] = [
    ("attributes is text", "PATCH", COLLECTIONS,
     {"allOrNone": False, "records": [{"attributes": "Account", "id": "0018d0000Bb0000AQA"}]}),
    ("attributes is a list", "PATCH", COLLECTIONS,
     {"allOrNone": False, "records": [{"attributes": ["Account"], "id": "0018d0000Bb0000AQA"}]}),
    ("attributes type is an object", "PATCH", COLLECTIONS,
     {"records": [{"attributes": {"type": {"name": "Account"}}, "id": "0018d0000Bb0000AQA"}]}),
    ("a record id is an object", "PATCH", COLLECTIONS,
     {"records": [{"attributes": {"type": "Account"}, "id": {"value": "0018d0000Bb0000AQA"}}]}),
    ("records is an object", "PATCH", COLLECTIONS, {"records": {"id": "0018d0000Bb0000AQA"}}),
    ("allOrNone is text", "PATCH", COLLECTIONS, {"allOrNone": "yes", "records": []}),
    ("malformed JSON", "PATCH", COLLECTIONS, b'{"records": [{'),
    ("a ContentNote Title is a list", "POST", "/services/data/v59.0/sobjects/ContentNote",
     {"Title": ["note"], "Content": ""}),
    ("a ContentNote Content is a number", "POST", "/services/data/v59.0/sobjects/ContentNote",
     {"Title": "note", "Content": 5}),
    ("a link's ids are objects", "POST", "/services/data/v59.0/sobjects/ContentDocumentLink",
     {"ContentDocumentId": {"id": 1}, "LinkedEntityId": {"id": 2}}),
    ("a link's ShareType is a list", "POST", "/services/data/v59.0/sobjects/ContentDocumentLink",
     {"ContentDocumentId": "0698d0000Bb0000AQA", "LinkedEntityId": "0018d0000Bb0000AQA",
      "ShareType": ["V"]}),
]  # fmt: skip

# (case, path, body) for the control API.
BAD_CONTROL: list[tuple[str, str, object]] = [
    ("limits: malformed JSON", "/limits", b'{"limit_per_window": '),
    ("limits: a list", "/limits", [["limit_per_window", 5]]),
    ("faults: malformed JSON", "/faults", b"{spec"),
    ("faults: spec is a number", "/faults", {"spec": 5}),
    ("faults: spec is a list", "/faults", {"spec": ["hubspot.*:429=1"]}),
    ("faults: seed is text", "/faults", {"spec": "", "seed": "seven"}),
    ("companies: malformed JSON", "/companies", b'{"values": {'),
    ("companies: values is a list", "/companies", {"values": ["name", "Newco"]}),
    ("companies: a value is an object", "/companies", {"values": {"name": {"x": 1}}}),
    ("companies: owner_id is a number", "/companies", {"owner_id": 50000001}),
    ("companies: owner_id is a list", "/companies", {"owner_id": ["50000001"]}),
    ("owner: malformed JSON", "/companies/1000000001/owner", b"{owner_id"),
    ("owner: owner_id is an object", "/companies/1000000001/owner", {"owner_id": {"id": 1}}),
    ("owner: owner_id is true", "/companies/1000000001/owner", {"owner_id": True}),
    ("values: values is text", "/companies/1000000001/values", {"values": "name=Acme"}),
    ("values: malformed JSON", "/companies/1000000001/values", b"[1,"),
]


def _send(client: AsgiClient, method: str, path: str, body: object) -> Reply:
    if isinstance(body, bytes):
        return client.request(method, path, body=body)
    return client.request(method, path, json=body)


def assert_hubspot_validation_error(reply: Reply) -> None:
    assert reply.status == 400, reply.body
    body = reply.json()
    assert body["status"] == "error"
    assert body["category"] == "VALIDATION_ERROR"
    assert body["message"]
    assert body["correlationId"]


@pytest.mark.parametrize(("case", "body"), BAD_SEARCHES, ids=[c for c, _ in BAD_SEARCHES])
def test_a_search_of_the_wrong_shape_is_a_hubspot_validation_error(
    crm: InProcess, case: str, body: object
) -> None:
    assert_hubspot_validation_error(_send(crm.hubspot, "POST", SEARCH, body))


@pytest.mark.parametrize(
    ("case", "method", "path", "body"), BAD_HUBSPOT, ids=[c for c, *_ in BAD_HUBSPOT]
)
def test_a_hubspot_body_of_the_wrong_shape_is_a_validation_error_and_changes_nothing(
    crm: InProcess, case: str, method: str, path: str, body: object
) -> None:
    before = _hubspot_state(crm)
    assert_hubspot_validation_error(_send(crm.hubspot, method, path, body))
    assert _hubspot_state(crm) == before


def _hubspot_state(crm: InProcess) -> tuple[object, ...]:
    org = crm.sandbox.org
    return (
        {k: (c.owner_key, dict(c.values), dict(c.territory)) for k, c in org.companies.items()},
        len(org.notes),
        sorted(crm.sandbox.custom_properties),
    )


@pytest.mark.parametrize(
    ("case", "method", "path", "body"), BAD_SALESFORCE, ids=[c for c, *_ in BAD_SALESFORCE]
)
def test_a_salesforce_body_of_the_wrong_shape_is_a_salesforce_error_list(
    crm: InProcess, case: str, method: str, path: str, body: object
) -> None:
    before = {k: (c.owner_key, c.version) for k, c in crm.sandbox.org.companies.items()}
    reply = _send(crm.salesforce, method, path, body)
    assert reply.status == 400, reply.body
    [error] = reply.json()
    assert set(error) >= {"message", "errorCode"}
    assert {k: (c.owner_key, c.version) for k, c in crm.sandbox.org.companies.items()} == before
    assert not crm.sandbox.org.notes


def test_a_deeply_nested_soql_filter_is_a_malformed_query(crm: InProcess) -> None:
    for depth in (200, 5_000):
        where = "(" * depth + "Name = 'Acme'" + ")" * depth
        for condition in (where, "NOT " * depth + "Name = 'Acme'"):
            reply = crm.salesforce.request(
                "GET",
                "/services/data/v59.0/query",
                query={"q": f"SELECT Id FROM Account WHERE {condition}"},
            )
            assert reply.status == 400
            [error] = reply.json()
            assert error["errorCode"] == "MALFORMED_QUERY"
            assert "nested" in error["message"]


def test_soql_nested_within_the_limit_still_runs(crm: InProcess) -> None:
    where = "(" * 20 + "Name = 'Acme'" + ")" * 20
    reply = crm.salesforce.request(
        "GET", "/services/data/v59.0/query", query={"q": f"SELECT Id FROM Account WHERE {where}"}
    )
    assert reply.status == 200
    assert reply.json()["totalSize"] == 1


@pytest.mark.parametrize(("case", "path", "body"), BAD_CONTROL, ids=[c for c, *_ in BAD_CONTROL])
def test_a_control_call_of_the_wrong_shape_is_a_400_that_changes_nothing(
    crm: InProcess, case: str, path: str, body: object
) -> None:
    before = _hubspot_state(crm), crm.sandbox.gate.faults, repr(crm.sandbox.gate.limits)
    reply = _send(crm.control, "POST", path, body)
    assert reply.status == 400, reply.body
    assert reply.json()["error"]
    assert (_hubspot_state(crm), crm.sandbox.gate.faults, repr(crm.sandbox.gate.limits)) == before
