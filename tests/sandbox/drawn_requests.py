"""Hypothesis strategies for requests to the sandbox: what clients send, mutated part by part.

Path parameters are mostly values a client would use (so the handler behind the path runs),
bodies mostly a real request with parts replaced by anything, dropped or added to (so the
handlers' deeper checks run too), queries for Salesforce mostly SOQL built from the fields
clients filter on; the rest is anything at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlencode

import orjson
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount, Route

IDS = [
    *("1000000001", "1000000004", "80000000001", "70000000001", "50000001", "50000003"),
    *("0018d0000Bb0000AQA", "0058d0000Bb0000AQA", "0698d0000Bb0000AQA", "0", "-1", "abc"),
]
OBJECT_TYPES = ["companies", "notes", "calls", "emails", "meetings", "tasks", "deals"]
# Repeated values are drawn more often: most requests should reach the handler's body checks.
PATH_VALUES = {
    "fromObjectType": ["companies"] * 5 + OBJECT_TYPES,
    "toObjectType": OBJECT_TYPES,
    "id": ["1000000001", "1000000002", "0018d0000Bb0000AQA", "0018d0000Bb0001AQA", "50000001"],
    "propertyName": ["name", "hubspot_owner_id", "last_funding_date", "territory", "nope"],
    "sobject": ["Account", "User", "Task", "Event", "ContentNote", "ContentDocumentLink"],
    "version": ["59.0"] * 8 + ["60.0", "5.9", "v59"],
    "name": ["Territory__c", "Territory_Lock__c", "Name"],
    "action": ["remove", "deploy", "explode"],
    "scope": ["crm.objects.companies.read", "crm.schemas.companies.write"],
    "locator": ["01g0000000000000-2000", "01g-x", "nope"],
}
KEYS = [
    *("inputs", "id", "properties", "propertiesWithHistory", "idProperty", "filterGroups"),
    *("filters", "propertyName", "operator", "value", "highValue", "values", "sorts"),
    *("direction", "limit", "after", "associations", "to", "types", "associationCategory"),
    *("associationTypeId", "objectWriteTraceId", "name", "label", "type", "fieldType"),
    *("groupName", "options", "displayOrder", "hidden", "description", "records"),
    *("attributes", "allOrNone", "Id", "OwnerId", "Territory__c", "Territory_Lock__c"),
    *("Title", "Content", "ContentDocumentId", "LinkedEntityId", "ShareType", "owner_id"),
    *("limit_per_window", "window_seconds", "search_cap", "enforce", "hs_timestamp"),
]
WORDS = [
    *("EQ", "NEQ", "GT", "LT", "BETWEEN", "IN", "NOT_IN", "HAS_PROPERTY", "ASCENDING"),
    *("DESCENDING", "HUBSPOT_DEFINED", "Account", "string", "text", "enumeration", "select"),
    *("date", "companyinformation", "2026-01-05", "2026-01-05T09:00:00.000Z", "true", "V"),
    *("1767603600000", ""),
]
QUERY_NAMES = [
    *("limit", "after", "properties", "archived", "q", "idProperty", "email", "fields"),
    *("associations", "propertiesWithHistory"),
]
SOQL_FIELDS = [
    *("Id", "Name", "OwnerId", "NumberOfEmployees", "AnnualRevenue", "LastActivityDate"),
    *("SystemModstamp", "IsActive", "Territory__c", "Territory_Lock__c", "AccountId"),
    *("LinkedEntityId", "ContentDocumentId", "Title"),
]
SOQL_OBJECTS = ["Account", "User", "Task", "Event", "ContentNote", "ContentDocumentLink", "Lead"]
SOQL_LITERALS = [
    *("'Acme'", "'0018d0000Bb0000AQA'", "5", "2.5", "NULL", "TRUE", "2026-01-05"),
    *("2026-01-05T00:00:00Z", "2026-02-31", "'2026-01-05'"),
]
SOQL_WORDS = ["SELECT", "FROM", "WHERE", "(", ")", ",", "=", "NOT", "AND", "OR", "IN", "'"]

NOTE = {
    "properties": {
        "hs_timestamp": "2026-01-05T09:00:00.000Z",
        "hs_note_body": "Owner changed. territory-sync:abcdefabcdef",
        "hubspot_owner_id": "50000001",
    },
    "associations": [
        {
            "to": {"id": "1000000001"},
            "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 190}],
        }
    ],
    "objectWriteTraceId": "t1",
}
BOOLEAN_PROPERTY = {
    "name": "territory_lock",
    "label": "Territory lock",
    "type": "enumeration",
    "fieldType": "booleancheckbox",
    "groupName": "companyinformation",
    "options": [{"label": "Yes", "value": "true", "displayOrder": 0}],
}
ACCOUNT_UPDATE = {
    "attributes": {"type": "Account"},
    "id": "0018d0000Bb0000AQA",
    "OwnerId": "0058d0000Bb0001AQA",
    "Territory__c": "EMEA",
    "Territory_Lock__c": True,
    "Territory_Effective_Date__c": "2026-01-05",
    "Territory_Assigned_At__c": "2026-01-05T09:00:00Z",
}
SEARCH = {
    "filterGroups": [
        {
            "filters": [
                {
                    "propertyName": "hs_lastmodifieddate",
                    "operator": "BETWEEN",
                    "value": "1767603600000",
                    "highValue": "1893456000000",
                },
                {"propertyName": "hs_object_id", "operator": "GT", "value": "1000000001"},
                {"propertyName": "industry", "operator": "IN", "values": ["RETAIL", "x"]},
            ]
        }
    ],
    "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
    "properties": ["name", "hubspot_owner_id", "numberofemployees"],
    "limit": 2,
    "after": "1",
}
ACTIVITY_READ = {
    "inputs": [{"id": "70000000001"}, {"id": "70000000002"}],
    "properties": ["hubspot_owner_id", "hs_timestamp"],
}
COMPANIES = "/crm/v3/objects/companies"
SALESFORCE = "/services/data/v{version}"
# A request a client really sends, per route (method and path without a trailing slash).
TEMPLATES: dict[tuple[str, str], object] = {
    ("POST", f"{COMPANIES}/search"): SEARCH,
    ("POST", f"{COMPANIES}/batch/read"): {
        "inputs": [{"id": "1000000001"}, {"id": "1000000009"}],
        "properties": ["name", "hubspot_owner_id"],
        "propertiesWithHistory": [],
        "idProperty": "hs_object_id",
    },
    ("POST", f"{COMPANIES}/batch/update"): {
        "inputs": [
            {"id": "1000000001", "properties": {"hubspot_owner_id": "50000002"}},
            {"id": "1000000002", "properties": {"last_funding_date": "2026-01-05"}},
        ]
    },
    ("PATCH", f"{COMPANIES}/{{companyId}}"): {
        "properties": {"name": "Renamed", "hubspot_owner_id": "", "numberofemployees": "12"}
    },
    ("POST", "/crm/v3/objects/notes"): NOTE,
    ("POST", "/crm/v3/objects/notes/batch/create"): {
        "inputs": [NOTE, {**NOTE, "objectWriteTraceId": "t2"}]
    },
    ("POST", "/crm/v3/objects/notes/batch/read"): {
        "inputs": [{"id": "80000000001"}],
        "properties": ["hs_note_body"],
    },
    ("POST", "/crm/v4/associations/{fromObjectType}/{toObjectType}/batch/read"): {
        "inputs": [{"id": "1000000001"}, {"id": "1000000002", "after": "70000000002"}]
    },
    ("POST", "/crm/v3/properties/companies"): BOOLEAN_PROPERTY,
    ("POST", "/crm/v3/properties/companies/groups"): {
        "name": "territory_sync",
        "label": "Territory",
        "displayOrder": -1,
    },
    ("PATCH", f"{SALESFORCE}/composite/sobjects"): {
        "allOrNone": False,
        "records": [ACCOUNT_UPDATE, {**ACCOUNT_UPDATE, "id": "0018d0000Bb0001AQA"}],
    },
    ("PATCH", f"{SALESFORCE}/sobjects/Account/{{id}}"): {"OwnerId": "0058d0000Bb0001AQA"},
    ("POST", f"{SALESFORCE}/sobjects/{{sobject}}"): {
        "Title": "territory-sync:abcdefabcdef",
        "Content": "T3duZXIgY2hhbmdlZA==",
        "ContentDocumentId": "0698d0000Bb0000AQA",
        "LinkedEntityId": "0018d0000Bb0000AQA",
        "ShareType": "V",
    },
    ("POST", "/_sandbox/companies"): {
        "values": {"name": "Newco", "employees": 5},
        "owner_id": "50000001",
    },
    ("POST", "/_sandbox/companies/{id}/owner"): {"owner_id": "50000002"},
    ("POST", "/_sandbox/companies/{id}/values"): {"values": {"name": "Renamed", "country": None}},
    ("POST", "/_sandbox/limits"): {"limit_per_window": 5, "window_seconds": 1.5, "enforce": True},
    **{
        ("POST", f"/crm/v3/objects/{objects}/batch/read"): ACTIVITY_READ
        for objects in ("calls", "emails", "meetings", "tasks")
    },
}


@dataclass(frozen=True, slots=True)
class Endpoint:
    api: str  # hubspot, salesforce or control: whose credentials it takes
    method: str
    path: str  # with {parameters}


@dataclass(frozen=True, slots=True)
class DrawnRequest:
    endpoint: Endpoint
    path: str  # percent-encoded
    query: str
    body: bytes


def endpoints(http_app: Starlette, https_app: Starlette) -> list[Endpoint]:
    """Every route of both apps, by method; control routes are those under a mount."""
    found: list[Endpoint] = []

    def walk(routes: list[BaseRoute], prefix: str, api: str) -> None:
        for route in routes:
            if isinstance(route, Mount):
                walk(route.routes, prefix + route.path, "control")
            elif isinstance(route, Route):
                methods = sorted((route.methods or set()) - {"HEAD"})
                found.extend(Endpoint(api, method, prefix + route.path) for method in methods)

    walk(http_app.routes, "", "hubspot")
    walk(https_app.routes, "", "salesforce")
    return found


scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(IDS + WORDS)
    | st.sampled_from([190, 189, 0, -1, 200, 201, 10_001])
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), inner, max_size=5)
    ),
    max_leaves=24,
)
raw_bodies = st.binary(max_size=40) | st.sampled_from(
    [b"", b"{", b"[]", b"null", b'{"limit": 1e999}', b"\xff\xfe", b'{"a": NaN}']
)


@st.composite
def mutated(draw: st.DrawFn, value: object) -> object:
    """`value` with, here and there, a part replaced by anything, dropped, or added to."""
    if draw(st.integers(0, 11)) == 0:
        return draw(json_values)
    if isinstance(value, dict):
        kept = {k: draw(mutated(v)) for k, v in value.items() if draw(st.integers(0, 11))}
        if draw(st.integers(0, 11)) == 0:
            kept[draw(st.sampled_from(KEYS) | st.text(max_size=6))] = draw(json_values)
        return kept
    if isinstance(value, list):
        items = [draw(mutated(v)) for v in value]
        return items + draw(st.lists(json_values, max_size=1 if items else 2))
    return value


def bodies(template: object | None) -> st.SearchStrategy[bytes]:
    anything = json_values.map(orjson.dumps) | raw_bodies
    if template is None:
        return anything
    # A third exactly as sent (the handler's whole path runs), a third mutated, a third anything.
    return st.just(orjson.dumps(template)) | mutated(template).map(orjson.dumps) | anything


def _comparison(field: str, operator: str, value: str) -> str:
    return f"{field} {operator} {value}"


soql_values = st.sampled_from(SOQL_LITERALS) | st.lists(
    st.sampled_from(SOQL_LITERALS), min_size=1, max_size=3
).map(lambda values: "(" + ", ".join(values) + ")")
soql_conditions = st.recursive(
    st.builds(
        _comparison,
        st.sampled_from(SOQL_FIELDS),
        st.sampled_from(["=", "!=", "<", ">=", "IN", "NOT IN"]),
        soql_values,
    ),
    lambda inner: (
        st.builds(_comparison, inner, st.sampled_from(["AND", "OR"]), inner).map(lambda c: f"({c})")
        | inner.map(lambda c: f"NOT {c}")
    ),
    max_leaves=6,
)


@st.composite
def soql_queries(draw: st.DrawFn) -> str:
    """SELECT … FROM … [WHERE …] [ORDER BY …] [LIMIT …], with a token or two put anywhere."""
    fields = draw(st.lists(st.sampled_from(SOQL_FIELDS), min_size=1, max_size=3))
    words = ["SELECT", ", ".join(fields), "FROM", draw(st.sampled_from(SOQL_OBJECTS))]
    if draw(st.booleans()):
        words += ["WHERE", draw(soql_conditions)]
    if draw(st.booleans()):
        words += ["ORDER BY", draw(st.sampled_from(SOQL_FIELDS))]
        words.append(draw(st.sampled_from(["", "DESC", "ASC NULLS LAST", "NULLS"])))
    if draw(st.booleans()):
        words += ["LIMIT", draw(st.sampled_from(["5", "0", "2.5", "-1", "x"]))]
    tokens = " ".join(words).split(" ")
    for _ in range(draw(st.integers(0, 2))):
        at = draw(st.integers(0, len(tokens)))
        tokens.insert(at, draw(st.sampled_from(SOQL_WORDS) | st.text(max_size=3)))
    return " ".join(tokens)


query_values = st.text(max_size=16) | st.sampled_from(IDS + WORDS) | soql_queries()
queries = st.dictionaries(
    st.sampled_from(QUERY_NAMES) | st.text(min_size=1, max_size=5), query_values, max_size=4
)


@st.composite
def drawn_requests(draw: st.DrawFn, among: list[Endpoint]) -> DrawnRequest:
    """A request to one of `among`: its path filled in, a query string and a body."""
    endpoint = draw(st.sampled_from(among))
    path = endpoint.path
    while "{" in path:
        start, end = path.index("{"), path.index("}")
        name = path[start + 1 : end].split(":")[0]
        known = st.sampled_from(PATH_VALUES.get(name, IDS))
        value = draw(st.one_of(known, known, known, st.text(min_size=1, max_size=8)))
        path = path[:start] + quote(value, safe="") + path[end + 1 :]
    if endpoint.path.rstrip("/").endswith(("/query", "/queryAll")) and draw(st.integers(0, 4)):
        query = urlencode({"q": draw(soql_queries())})
    else:
        query = urlencode(draw(queries))
    template = TEMPLATES.get((endpoint.method, endpoint.path.rstrip("/")))
    return DrawnRequest(endpoint, path, query, draw(bodies(template)))
