"""The sandbox's HubSpot API, seen over raw HTTP: shapes, paging, limits and refusals.

These pin the awkward parts a HubSpot client must cope with (so a connector tested against the
sandbox has met them), and check that the official client's own models accept every answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
import requests
from hubspot import HubSpot

from sandbox.org import LOADED_AT
from sandbox.server import RunningSandbox, SandboxConfig
from tests.connectors.conftest import ci_limits, control

Factory = Callable[..., RunningSandbox]
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
MISSING_COMPANY = "999"


@dataclass(slots=True)
class Http:
    """Raw calls to one sandbox's HubSpot API with its token."""

    running: RunningSandbox

    def send(self, method: str, path: str, body: object = None, **params: Any) -> requests.Response:
        return requests.request(
            method,
            self.running.info.hubspot_url + path,
            params=params,
            json=body,
            headers={"Authorization": f"Bearer {self.running.info.hubspot_token}"},
            timeout=10,
        )

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.send("GET", path, **params)

    def post(self, path: str, body: object, **params: Any) -> requests.Response:
        return self.send("POST", path, body, **params)

    def search(self, **body: Any) -> requests.Response:
        return self.post("/crm/v3/objects/companies/search", body)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory, sample_org: Path) -> Iterator[Http]:
    """One sandbox for the tests that only read."""
    running = RunningSandbox(
        SandboxConfig(data=sample_org, limits=ci_limits(), tls_dir=tmp_path_factory.mktemp("tls"))
    )
    running.start()
    yield Http(running)
    running.stop()


@pytest.fixture
def http(sandbox: RunningSandbox) -> Http:
    return Http(sandbox)


def ms(moment: datetime) -> str:
    return str(int(moment.timestamp() * 1000))


def all_companies(api: Http, **params: Any) -> list[dict[str, Any]]:
    found, after = [], None
    while True:
        page = api.get("/crm/v3/objects/companies", limit=100, after=after, **params).json()
        found.extend(page["results"])
        after = page.get("paging", {}).get("next", {}).get("after")
        if after is None:
            return found


# ---- auth -----------------------------------------------------------------------------------


def test_a_request_without_the_token_gets_hubspots_401(shared: Http) -> None:
    reply = requests.get(shared.running.info.hubspot_url + "/crm/v3/owners", timeout=10)
    assert reply.status_code == 401
    assert reply.json()["category"] == "INVALID_AUTHENTICATION"
    assert reply.json()["status"] == "error"


def test_a_revoked_scope_gets_a_403_naming_it(http: Http) -> None:
    control(http.running, "POST", "/scopes/crm.objects.owners.read/revoke")
    body = http.get("/crm/v3/owners").json()
    assert body["category"] == "MISSING_SCOPES"
    assert body["errors"][0]["context"]["requiredGranularScopes"] == ["crm.objects.owners.read"]


# ---- companies: listing and values ------------------------------------------------------------


def test_the_listing_pages_by_cursor_through_every_live_company_once(shared: Http) -> None:
    first = shared.get("/crm/v3/objects/companies", limit=100).json()
    assert len(first["results"]) == 100
    link = first["paging"]["next"]["link"]
    second = requests.get(
        link,
        headers={"Authorization": f"Bearer {shared.running.info.hubspot_token}"},
        timeout=10,
    ).json()
    assert second["results"][0]["id"] == first["paging"]["next"]["after"]
    ids = [c["id"] for c in all_companies(shared)]
    assert len(ids) == len(set(ids)) == 300
    assert shared.get("/crm/v3/objects/companies", limit=101).status_code == 400


def test_properties_come_back_as_strings_with_empty_as_null_or_blank_by_id(shared: Http) -> None:
    names = "name,domain,hs_parent_company_id,last_rfp_date,no_such_property"
    companies = all_companies(shared, properties=names)
    for company in companies:
        properties = company["properties"]
        assert set(properties) == {
            *names.split(",")[:-1],
            "hs_object_id",
            "createdate",
            "hs_lastmodifieddate",
        }
        assert all(v is None or isinstance(v, str) for v in properties.values())
        empty = None if int(company["id"]) % 2 == 0 else ""
        if not properties["last_rfp_date"]:
            assert properties["last_rfp_date"] == empty
    assert {c["properties"]["last_rfp_date"] for c in companies} >= {None, ""}


def test_values_use_hubspots_formats(shared: Http) -> None:
    names = (
        "hubspot_owner_id,hs_parent_company_id,notes_last_contacted,"
        "hs_last_sales_activity_timestamp,last_funding_date"
    )
    companies = {c["id"]: c for c in all_companies(shared, properties=names)}
    owners = {
        o["id"]: o
        for archived in ("false", "true")
        for o in shared.get("/crm/v3/owners", limit=500, archived=archived).json()["results"]
    }
    user_ids = {str(o.get("userId")) for o in owners.values()}
    touched = [c for c in companies.values() if c["properties"]["notes_last_contacted"]]
    assert touched
    for company in touched:
        p = company["properties"]
        assert ISO_MS.match(p["createdate"])
        assert ISO_MS.match(p["notes_last_contacted"])
        contacted = datetime.fromisoformat(p["notes_last_contacted"])
        assert p["hs_last_sales_activity_timestamp"] == ms(contacted)
    assert any(c["properties"]["last_funding_date"] for c in companies.values())
    for company in companies.values():
        p = company["properties"]
        if p["last_funding_date"]:
            assert re.match(r"^\d{4}-\d\d-\d\d$", p["last_funding_date"])
        if p["hs_parent_company_id"]:
            assert p["hs_parent_company_id"] in companies
        if p["hubspot_owner_id"]:
            assert p["hubspot_owner_id"] in owners
            assert p["hubspot_owner_id"] not in user_ids


def test_a_company_is_read_by_id_and_an_unknown_one_is_404(shared: Http) -> None:
    company = shared.get("/crm/v3/objects/companies/1000000005", properties="name").json()
    assert company["id"] == "1000000005"
    assert company["properties"]["name"]
    missing = shared.get(f"/crm/v3/objects/companies/{MISSING_COMPANY}")
    assert missing.status_code == 404
    assert missing.json()["category"] == "OBJECT_NOT_FOUND"


def test_batch_read_answers_207_naming_unknown_ids(shared: Http) -> None:
    reply = shared.post(
        "/crm/v3/objects/companies/batch/read",
        {"inputs": [{"id": "1000000001"}, {"id": MISSING_COMPANY}], "properties": ["name"]},
    )
    assert reply.status_code == 207
    body = reply.json()
    assert [r["id"] for r in body["results"]] == ["1000000001"]
    assert body["errors"][0]["category"] == "OBJECT_NOT_FOUND"
    assert body["errors"][0]["context"] == {"ids": [MISSING_COMPANY]}
    too_many = {"inputs": [{"id": str(1000000001 + i)} for i in range(101)]}
    assert shared.post("/crm/v3/objects/companies/batch/read", too_many).status_code == 400


# ---- search -------------------------------------------------------------------------------


def test_search_filters_sorts_and_counts(shared: Http) -> None:
    body = shared.search(
        filterGroups=[
            {
                "filters": [
                    {"propertyName": "hs_object_id", "operator": "GT", "value": "1000000290"},
                    {"propertyName": "domain", "operator": "HAS_PROPERTY"},
                ]
            }
        ],
        sorts=[{"propertyName": "hs_object_id", "direction": "DESCENDING"}],
        limit=4,
    ).json()
    assert body["total"] == 10
    assert [r["id"] for r in body["results"]] == [str(1000000300 - i) for i in range(4)]
    assert body["paging"]["next"]["after"] == "4"
    window = {
        "propertyName": "hs_lastmodifieddate",
        "operator": "BETWEEN",
        "value": ms(LOADED_AT),
        "highValue": ms(LOADED_AT),
    }
    assert shared.search(filterGroups=[{"filters": [window]}], limit=1).json()["total"] == 300
    assert shared.search(limit=201).status_code == 400


def test_search_refuses_to_page_past_its_cap(sandbox_factory: Factory) -> None:
    api = Http(sandbox_factory(limits=ci_limits(search_cap=250)))
    last = api.search(limit=200, after="150").json()
    assert len(last["results"]) == 100  # the page stops at the cap
    assert last["total"] == 300
    assert last["paging"]["next"]["after"] == "250"
    refused = api.search(limit=10, after="250")
    assert refused.status_code == 400
    assert refused.json()["category"] == "VALIDATION_ERROR"


def test_search_leaves_out_archived_and_not_yet_indexed_companies(sandbox_factory: Factory) -> None:
    api = Http(sandbox_factory(search_lag=30))
    control(api.running, "POST", "/companies/1000000004/values", values={"name": "Edited"})
    control(api.running, "POST", "/companies/1000000008/archive")
    ids = {r["id"] for r in api.search(limit=200).json()["results"]}
    ids |= {r["id"] for r in api.search(limit=200, after="200").json()["results"]}
    assert len(ids) == 298
    assert {"1000000004", "1000000008"}.isdisjoint(ids)
    archived = api.get("/crm/v3/objects/companies", archived="true").json()["results"]
    assert [c["id"] for c in archived] == ["1000000008"]
    assert "archivedAt" in archived[0]


# ---- companies: writes ----------------------------------------------------------------------


def test_batch_update_answers_207_per_failed_record(sandbox_factory: Factory) -> None:
    api = Http(sandbox_factory(faults="hubspot.companies.batch_update:partial=0.5", seed=1))
    inputs = [
        {"id": str(1000000001 + i), "properties": {"hubspot_owner_id": "50000004"}}
        for i in range(20)
    ]
    inputs.append({"id": MISSING_COMPANY, "properties": {"hubspot_owner_id": "50000004"}})
    reply = api.post("/crm/v3/objects/companies/batch/update", {"inputs": inputs})
    assert reply.status_code == 207
    body = reply.json()
    by_category = {e["category"]: e["context"]["ids"] for e in body["errors"]}
    assert by_category["OBJECT_NOT_FOUND"] == [MISSING_COMPANY]
    failed = set(by_category["INTERNAL_ERROR"])
    applied = {r["id"] for r in body["results"]}
    assert body["numErrors"] == len(body["errors"])
    assert applied | failed | {MISSING_COMPANY} == {i["id"] for i in inputs}
    assert not applied & failed
    assert set(control(api.running, "GET", "/stats")["owner_writes"]) == applied


@pytest.mark.parametrize(
    ("properties", "code"),
    [
        ({"hubspot_owner_id": "12345"}, "INVALID_OWNER_ID"),
        ({"hubspot_owner_id": "50000003"}, "INVALID_OWNER_ID"),  # deactivated
        ({"hs_object_id": "1"}, "READ_ONLY_VALUE"),
        ({"no_such_property": "x"}, "PROPERTY_DOESNT_EXIST"),
    ],
)
def test_one_invalid_input_refuses_the_whole_batch(
    shared: Http, properties: dict[str, str], code: str
) -> None:
    inputs = [
        {"id": "1000000001", "properties": {"hubspot_owner_id": "50000004"}},
        {"id": "1000000002", "properties": properties},
    ]
    reply = shared.post("/crm/v3/objects/companies/batch/update", {"inputs": inputs})
    assert reply.status_code == 400
    body = reply.json()
    assert body["category"] == "VALIDATION_ERROR"
    assert body["message"].startswith("Property values were not valid: ")
    assert orjson.loads(body["message"].split(": ", 1)[1])[0]["error"] == code
    assert control(shared.running, "GET", "/stats")["owner_writes"] == {}


def test_a_batch_naming_a_company_twice_is_refused(shared: Http) -> None:
    inputs = [{"id": "1000000001", "properties": {"hubspot_owner_id": "50000004"}}] * 2
    reply = shared.post("/crm/v3/objects/companies/batch/update", {"inputs": inputs})
    assert reply.status_code == 400
    assert "Duplicate IDs" in reply.json()["message"]


def test_patch_updates_one_company(http: Http) -> None:
    reply = http.send(
        "PATCH",
        "/crm/v3/objects/companies/1000000003",
        {"properties": {"hubspot_owner_id": "", "name": "Cleared"}},
    )
    assert reply.status_code == 200
    assert reply.json()["properties"]["hubspot_owner_id"] in {None, ""}
    company = http.running.sandbox.org.by_hubspot["1000000003"]
    assert (company.owner_key, company.values["name"]) == (None, "Cleared")
    assert company.updated_at > LOADED_AT
    missing = http.send("PATCH", f"/crm/v3/objects/companies/{MISSING_COMPANY}", {"properties": {}})
    assert missing.status_code == 404


# ---- owners -------------------------------------------------------------------------------


def test_owners_hide_the_deactivated_unless_archived_is_asked(shared: Http) -> None:
    active = shared.get("/crm/v3/owners/", limit=5).json()
    assert len(active["results"]) == 5
    assert active["paging"]["next"]["after"]
    archived = shared.get("/crm/v3/owners", archived="true").json()["results"]
    assert [o["id"] for o in archived] == ["50000003", "50000008", "50000009"]
    assert all(o["archived"] and "userId" not in o for o in archived)
    assert all(o["userIdIncludingInactive"] for o in archived)
    queue = shared.get("/crm/v3/owners", email="territory-queue@example.com").json()["results"]
    assert [(o["type"], "userId" in o) for o in queue] == [("QUEUE", False)]


# ---- notes, activities, associations ---------------------------------------------------------


def note_input(company_id: str, type_id: int = 190, **properties: str) -> dict[str, Any]:
    return {
        "properties": {"hs_timestamp": "2027-01-04T09:00:00.000Z", **properties},
        "associations": [
            {
                "to": {"id": company_id},
                "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}],
            }
        ],
    }


def test_notes_need_a_timestamp_and_the_note_to_company_type(http: Http) -> None:
    created = http.post("/crm/v3/objects/notes", note_input("1000000001", hs_note_body="hi"))
    assert created.status_code == 201
    note_id = created.json()["id"]
    assert http.post("/crm/v3/objects/notes", note_input("1000000001", 189)).status_code == 400
    untimed = note_input("1000000001")
    del untimed["properties"]["hs_timestamp"]
    assert http.post("/crm/v3/objects/notes", untimed).status_code == 400
    assert http.post("/crm/v3/objects/notes", note_input(MISSING_COMPANY)).status_code == 400
    links = http.post(
        "/crm/v4/associations/companies/notes/batch/read", {"inputs": [{"id": "1000000001"}]}
    ).json()["results"]
    assert links == [
        {
            "from": {"id": "1000000001"},
            "to": [
                {
                    "toObjectId": int(note_id),
                    "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": 189}],
                }
            ],
        }
    ]
    notes = http.post(
        "/crm/v3/objects/notes/batch/read",
        {"inputs": [{"id": note_id}], "properties": ["hs_note_body"]},
    ).json()["results"]
    assert notes[0]["properties"]["hs_note_body"] == "hi"


def test_associations_say_none_with_a_207_per_record(shared: Http) -> None:
    reply = shared.post(
        "/crm/v4/associations/companies/notes/batch/read", {"inputs": [{"id": "1000000001"}]}
    )
    assert reply.status_code == 207
    [error] = reply.json()["errors"]
    assert error["category"] == "OBJECT_NOT_FOUND"
    assert error["errors"][0]["subCategory"] == "crm.associations.NO_ASSOCIATIONS_FOUND"
    assert error["context"] == {"fromObjectId": ["1000000001"]}


def test_activities_are_listed_per_type_with_owner_and_timestamp(
    shared: Http, sample_org: Path
) -> None:
    rows = (sample_org / "activities.csv").read_text(encoding="utf-8").splitlines()[1:]
    expected = {kind: sum(1 for r in rows if r.split(",")[2] == kind) for kind in ("call", "email")}
    for objects, kind in (("calls", "call"), ("emails", "email")):
        found, after = [], None
        while True:
            page = shared.get(
                f"/crm/v3/objects/{objects}",
                limit=100,
                after=after,
                properties="hubspot_owner_id,hs_timestamp",
            ).json()
            found += page["results"]
            after = page.get("paging", {}).get("next", {}).get("after")
            if after is None:
                break
        assert len(found) == expected[kind]
        assert all(ISO_MS.match(a["properties"]["hs_timestamp"]) for a in found)


# ---- properties ---------------------------------------------------------------------------


def test_properties_are_created_once_in_an_existing_group(http: Http) -> None:
    path = "/crm/v3/properties/companies"
    definition = {
        "name": "territory",
        "label": "Territory",
        "type": "string",
        "fieldType": "text",
        "groupName": "territory_sync",
    }
    assert http.post(path, definition).status_code == 400  # no such group yet
    group = {"name": "territory_sync", "label": "Territory sync"}
    assert http.post(f"{path}/groups", group).status_code == 201
    assert http.post(f"{path}/groups", group).status_code == 409
    assert http.post(path, definition).status_code == 201
    again = http.post(path, definition)
    assert again.status_code == 409
    assert again.json()["category"] == "OBJECT_ALREADY_EXISTS"
    assert http.get(f"{path}/territory").json()["groupName"] == "territory_sync"
    assert "territory" in {p["name"] for p in http.get(path).json()["results"]}
    wrong = {**definition, "name": "territory_lock", "type": "bool", "fieldType": "text"}
    assert http.post(path, wrong).status_code == 400


# ---- the official client's models ----------------------------------------------------------


def test_the_clients_models_accept_the_sandboxs_answers(shared: Http) -> None:
    info = shared.running.info
    client = HubSpot(access_token=info.hubspot_token, host=info.hubspot_url)
    crm = client.crm
    page = crm.companies.basic_api.get_page(limit=3, properties=["name"])
    assert len(page.results) == 3
    assert page.results[0].created_at.tzinfo is not None
    assert page.paging.next.after
    found = crm.companies.search_api.do_search({"limit": 2, "filterGroups": []})
    assert found.total == 300
    read = crm.companies.batch_api.read(
        {"inputs": [{"id": "1000000001"}, {"id": MISSING_COMPANY}], "properties": ["name"]}
    )
    assert read.errors[0].context == {"ids": [MISSING_COMPANY]}
    owners = crm.owners.owners_api.get_page(archived=True)
    assert [o.type for o in owners.results] == ["PERSON", "PERSON", "PERSON"]
    org = shared.running.sandbox.org
    called = next(org.companies[a.account_key] for a in org.activities if a.kind == "call")
    links = crm.associations.v4.batch_api.get_page(
        "companies", "calls", {"inputs": [{"id": called.hubspot_id}]}
    )
    assert links.results[0].to[0].association_types[0].type_id == 181
    properties = crm.properties.core_api.get_all("companies")
    assert "hubspot_owner_id" in {p.name for p in properties.results}
    calls = crm.objects.calls.basic_api.get_page(limit=1, properties=["hs_timestamp"])
    assert calls.results[0].properties["hs_timestamp"]
