"""The connector against Salesforce's documented response shapes, replayed with `responses`.

No sandbox here: each test states the exact payload Salesforce sends (as the REST API docs show
it) and pins what the connector makes of it: paging, per-record results, limits, sessions.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
import responses
from pydantic import SecretStr
from responses import matchers

from connectors.base import Note, OwnerState, OwnerWrite, WriteOutcome
from connectors.budget import RateBudget, salesforce_windows
from connectors.errors import (
    BudgetExhaustedError,
    RateLimitedError,
    TerminalError,
    TransientError,
)
from connectors.salesforce import RetryPolicy, SalesforceConfig, SalesforceConnector
from connectors.salesforce.client import parse_limit_info
from tests.connectors.salesforce_support import LOGIN_SETTINGS

INSTANCE = "https://acme.my.salesforce.com"
API = f"{INSTANCE}/services/data/v59.0"
SESSION = "00D5g000004Xyz!AQcAQH0dMHZfz972Szmpkb58urFRkgeBGsxL"


class PauseRecordingBudget(RateBudget):
    """The Salesforce budget, except that a pause is recorded instead of waited out."""

    def __init__(self) -> None:
        super().__init__(salesforce_windows(), max_daily_share=0.5)
        self.pauses: list[float] = []

    def pause(self, seconds: float) -> None:
        self.pauses.append(seconds)


def make_connector(**config: object) -> tuple[SalesforceConnector, list[float]]:
    """A connector on a bare session id; the list collects the waits it would have slept."""
    waits: list[float] = []
    settings: dict[str, object] = {"instance_url": INSTANCE, "session_id": SecretStr(SESSION)}
    settings.update(config)
    connector = SalesforceConnector(
        SalesforceConfig(**settings),  # type: ignore[arg-type]
        budget=PauseRecordingBudget(),
        session=requests.Session(),
        retry=RetryPolicy(attempts=3, first_wait=0.25),
        sleep=waits.append,
    )
    return connector, waits


def soap_login_answers(api: responses.RequestsMock) -> None:
    """The next SOAP login succeeds with SESSION."""
    api.post(
        "https://login.salesforce.com/services/Soap/u/59.0",
        body=(
            '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv='
            '"http://schemas.xmlsoap.org/soap/envelope/" xmlns="urn:partner.soap.sforce.com">'
            "<soapenv:Body><loginResponse><result>"
            "<serverUrl>https://acme.my.salesforce.com/services/Soap/u/59.0/00D5g000004Xyz</serverUrl>"
            f"<sessionId>{SESSION}</sessionId></result></loginResponse></soapenv:Body></soapenv:Envelope>"
        ),
    )


def notes_created(api: responses.RequestsMock, *, status: int = 200) -> None:
    """The next collections create makes ContentNote 0695g00000AbCdEAAV."""
    api.post(
        f"{API}/composite/sobjects",
        status=status,
        json=[{"id": "0695g00000AbCdEAAV", "success": True, "errors": []}],
        match=[_creates("ContentNote")],
    )


def described(api: responses.RequestsMock, *, lock: bool = True) -> None:
    """Account's describe (asked once per connector): the fields a read may name."""
    names = ["Id", "Name", "OwnerId", "SystemModstamp", *(["Territory_Lock__c"] if lock else [])]
    api.get(
        f"{API}/sobjects/Account/describe",
        json={"name": "Account", "fields": [{"name": n} for n in names]},
    )


def _creates(sobject: str) -> Any:
    """Matches a collections create whose records are all of type `sobject`."""

    def match(request: requests.PreparedRequest) -> tuple[bool, str]:
        body = json.loads(request.body or b"{}")
        kinds = {r["attributes"]["type"] for r in body.get("records", [])}
        return kinds == {sobject}, f"records of {kinds}, expected {sobject}"

    return match


@pytest.fixture
def api() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def account(
    record_id: str, owner: str, stamp: str = "2026-01-05T09:00:00.000+0000"
) -> dict[str, object]:
    return {
        "attributes": {
            "type": "Account",
            "url": f"/services/data/v59.0/sobjects/Account/{record_id}",
        },
        "Id": record_id,
        "Name": f"Account {record_id[-4:]}",
        "OwnerId": owner,
        "Website": "https://www.example.com/about",
        "NumberOfEmployees": 120,
        "AnnualRevenue": 2.5e7,
        "BillingCountry": "United States",
        "LastActivityDate": "2026-10-02",
        "SystemModstamp": stamp,
    }


def test_company_pages_are_keyset_queries_and_feed_the_budget(
    api: responses.RequestsMock,
) -> None:
    described(api)
    api.get(
        f"{API}/query/",
        json={
            "totalSize": 2,
            "done": True,
            "records": [
                account("001D000000IRFmaIAH", "005D0000001KyEIIA0") | {"Territory_Lock__c": True},
                account("001D000000IRt53IAD", "005D0000001KyEIIA0"),
            ],
        },
        headers={"Sforce-Limit-Info": "api-usage=18/5000"},
    )
    api.get(
        f"{API}/query/",
        json={
            "totalSize": 1,
            "done": True,
            "records": [account("001D000000IomazIAB", "005D0000001KyEJIA0")],
        },
        headers={"Sforce-Limit-Info": "api-usage=19/5000"},
    )
    connector, _ = make_connector(page_size=2)
    pages = list(connector.iter_company_pages())
    assert [[a.id for a in p.accounts] for p in pages] == [
        ["001D000000IRFmaIAH", "001D000000IRt53IAD"],
        ["001D000000IomazIAB"],
    ]
    assert [p.resume for p in pages] == ["001D000000IRt53IAD", None]
    first = pages[0].accounts[0]
    assert (first.domain, first.country, first.employees) == ("example.com", "US", 120)
    assert first.last_activity_at == datetime(2026, 10, 2, tzinfo=UTC)
    assert [a.locked for p in pages for a in p.accounts] == [True, False, False]
    report = connector.budget()
    assert (report.calls, report.daily_used, report.daily_limit) == (3, 19, 5000)
    queries = [c.request.params["q"] for c in api.calls[1:]]
    assert queries[0].endswith("FROM Account ORDER BY Id LIMIT 2")
    assert queries[1].endswith("FROM Account WHERE Id > '001D000000IRt53IAD' ORDER BY Id LIMIT 2")
    assert "Territory_Lock__c" in queries[0]


def test_incremental_query_starts_a_look_back_before_the_cursor(
    api: responses.RequestsMock,
) -> None:
    described(api, lock=False)  # an org without the lock field is read without it
    api.get(
        f"{API}/query/",
        json={"totalSize": 0, "done": True, "records": []},
        match=[
            matchers.query_param_matcher(
                {
                    "q": "SELECT Id, SystemModstamp, AnnualRevenue, BillingCountry, Industry, "
                    "LastActivityDate, Name, NumberOfEmployees, OwnerId, ParentId, Type, Website "
                    "FROM Account WHERE SystemModstamp >= 2026-03-01T09:50:00Z "
                    "ORDER BY SystemModstamp, Id LIMIT 2000"
                }
            )
        ],
    )
    connector, _ = make_connector()
    assert list(connector.iter_companies(since=datetime(2026, 3, 1, 10, 0, tzinfo=UTC))) == []


def test_an_incremental_page_continues_after_the_modstamp_and_id_of_the_last_record(
    api: responses.RequestsMock,
) -> None:
    described(api, lock=False)
    stamp = "2026-03-01T10:04:05.000+0000"  # Salesforce keeps whole seconds
    records = [account("001D000000IRFmaIAH", "005D0000001KyEIIA0", stamp)]
    api.get(f"{API}/query/", json={"totalSize": 1, "done": True, "records": records})
    api.get(f"{API}/query/", json={"totalSize": 0, "done": True, "records": []})
    connector, _ = make_connector(page_size=1, look_back=timedelta(0))
    since = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    pages = list(connector.iter_company_pages(since=since))
    assert [len(p.accounts) for p in pages] == [1, 0]
    assert pages[0].resume == "2026-03-01T10:04:05+00:00|001D000000IRFmaIAH"
    query = api.calls[2].request.params["q"]
    assert query.endswith(
        "WHERE SystemModstamp >= 2026-03-01T10:00:00Z AND "
        "(SystemModstamp > 2026-03-01T10:04:05Z "
        "OR (SystemModstamp = 2026-03-01T10:04:05Z AND Id > '001D000000IRFmaIAH')) "
        "ORDER BY SystemModstamp, Id LIMIT 1"
    )


def test_the_org_id_is_the_organization_records_id(api: responses.RequestsMock) -> None:
    api.get(
        f"{API}/query/",
        json={
            "totalSize": 1,
            "done": True,
            "records": [
                {
                    "attributes": {
                        "type": "Organization",
                        "url": "/services/data/v59.0/sobjects/Organization/00D5g000004XyzAEAS",
                    },
                    "Id": "00D5g000004XyzAEAS",
                }
            ],
        },
        match=[matchers.query_param_matcher({"q": "SELECT Id FROM Organization"})],
    )
    connector, _ = make_connector()
    assert connector.account_id() == connector.account_id() == "00D5g000004XyzAEAS"
    assert len(api.calls) == 1  # asked once


def test_collection_results_map_to_writes_in_input_order(api: responses.RequestsMock) -> None:
    api.patch(
        f"{API}/composite/sobjects",
        json=[
            {"id": "001RM000003oLrHYAU", "success": True, "errors": []},
            {
                "success": False,
                "errors": [
                    {
                        "statusCode": "MALFORMED_ID",
                        "message": "malformed id 001RM000003oLrB000",
                        "fields": [],
                    }
                ],
            },
            {
                "success": False,
                "errors": [
                    {
                        "statusCode": "UNABLE_TO_LOCK_ROW",
                        "message": "unable to obtain exclusive access to this record",
                        "fields": [],
                    }
                ],
            },
        ],
        match=[
            matchers.json_params_matcher(
                {
                    "allOrNone": False,
                    "records": [
                        {
                            "attributes": {"type": "Account"},
                            "id": "001RM000003oLrHYAU",
                            "OwnerId": "005RM000001aBcDYAU",
                            "Territory__c": "West",
                        },
                        {
                            "attributes": {"type": "Account"},
                            "id": "001RM000003oLrB000",
                            "OwnerId": "005RM000001aBcDYAU",
                        },
                        {
                            "attributes": {"type": "Account"},
                            "id": "001RM000003oLrIYAU",
                            "OwnerId": "005RM000001aBcDYAU",
                        },
                    ],
                }
            )
        ],
    )
    connector, _ = make_connector()
    owner = "005RM000001aBcDYAU"
    results = connector.write_owners(
        [
            OwnerWrite("001RM000003oLrHYAU", owner, {"territory": "West"}),
            OwnerWrite("001RM000003oLrB000", owner),
            OwnerWrite("001RM000003oLrIYAU", owner),
        ]
    )
    assert [(r.account_id, r.ok) for r in results] == [
        ("001RM000003oLrHYAU", True),
        ("001RM000003oLrB000", False),
        ("001RM000003oLrIYAU", False),
    ]
    assert isinstance(results[1].error, TerminalError)
    assert results[1].error.code == "MALFORMED_ID"
    assert isinstance(results[2].error, TransientError)


def test_a_reply_with_the_wrong_number_of_results_is_not_guessed_at(
    api: responses.RequestsMock,
) -> None:
    api.patch(
        f"{API}/composite/sobjects",
        json=[{"id": "001RM000003oLrHYAU", "success": True, "errors": []}],
    )
    connector, _ = make_connector()
    writes = [
        OwnerWrite("001RM000003oLrHYAU", "005RM000001aBcDYAU"),
        OwnerWrite("001RM000003oLrIYAU", "005RM000001aBcDYAU"),
    ]
    with pytest.raises(TerminalError, match="1 results for 2 records") as unexpected:
        connector.write_owners(writes)
    # The call ran: the records may or may not be written, and a read will tell.
    assert [r.outcome for r in unexpected.value.results] == [WriteOutcome.UNKNOWN] * 2


@pytest.mark.parametrize("deployed", [True, False], ids=["lock field", "no lock field"])
def test_the_owner_read_before_a_write_asks_for_the_lock_in_the_same_query(
    api: responses.RequestsMock, deployed: bool
) -> None:
    described(api, lock=deployed)  # once per connector (`ensure_fields` answers it in an apply)
    fields = "Id, OwnerId, Territory_Lock__c" if deployed else "Id, OwnerId"
    records = [
        {"Id": "001D000000IRFmaIAH", "OwnerId": "005D0000001KyEIIA0"}
        | ({"Territory_Lock__c": True} if deployed else {}),
        {"Id": "001D000000IRt53IAD", "OwnerId": "005D0000001KyEJIA0"}
        | ({"Territory_Lock__c": False} if deployed else {}),
    ]
    api.get(
        f"{API}/query/",
        json={"totalSize": 2, "done": True, "records": records},
        match=[
            matchers.query_param_matcher(
                {
                    "q": f"SELECT {fields} FROM Account "
                    "WHERE Id IN ('001D000000IRFmaIAH', '001D000000IRt53IAD')"
                }
            )
        ],
    )
    connector, _ = make_connector()
    states = connector.read_owner_states(["001D000000IRFmaIAH", "001D000000IRt53IAD"])
    assert states == {
        "001D000000IRFmaIAH": OwnerState("005D0000001KyEIIA0", locked=deployed),
        "001D000000IRt53IAD": OwnerState("005D0000001KyEJIA0", locked=False),
    }
    assert len(api.calls) == 2  # the describe and the one query


def test_request_limit_exceeded_is_terminal_and_never_retried(api: responses.RequestsMock) -> None:
    api.get(
        f"{API}/query/",
        status=403,
        json=[{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}],
        headers={"Sforce-Limit-Info": "api-usage=5001/5000"},
    )
    connector, waits = make_connector()
    with pytest.raises(BudgetExhaustedError) as stopped:
        list(connector.iter_owners())
    assert (stopped.value.code, stopped.value.status) == ("REQUEST_LIMIT_EXCEEDED", 403)
    with pytest.raises(BudgetExhaustedError):
        connector.read_owners(["001D000000IRFmaIAH"])
    assert len(api.calls) == 1
    assert waits == []


def test_invalid_session_id_on_a_bare_session_says_what_to_do(api: responses.RequestsMock) -> None:
    api.get(
        f"{API}/sobjects/Account/describe",
        status=401,
        json=[{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}],
    )
    connector, _ = make_connector()
    with pytest.raises(TerminalError) as expired:
        connector.ensure_fields()
    assert expired.value.code == "INVALID_SESSION_ID"
    assert "login settings" in str(expired.value)
    assert SESSION not in str(expired.value)
    assert api.calls[0].request.headers["Authorization"] == f"Bearer {SESSION}"


def test_login_settings_alone_log_in_through_soap_first(api: responses.RequestsMock) -> None:
    soap_login_answers(api)
    api.get(f"{API}/query/", json={"totalSize": 0, "done": True, "records": []})
    connector, _ = make_connector(instance_url=None, session_id=None, login=LOGIN_SETTINGS)
    assert list(connector.iter_owners()) == []
    soap = api.calls[0].request.body
    assert isinstance(soap, bytes | str)
    assert "password-not-loggedtoken-not-logged" in (
        soap.decode() if isinstance(soap, bytes) else soap
    )
    assert api.calls[1].request.headers["Authorization"] == f"Bearer {SESSION}"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("api-usage=18/5000", (18, 5000)),
        ("api-usage=25/5000; per-app-api-usage=17/250(appName=sample-connected-app)", (25, 5000)),
        ("api-usage=4100/5000; api-bursts=3/100", (4100, 5000)),
        ("per-app-api-usage=17/250(appName=x)", None),
        ("", None),
    ],
)
def test_sforce_limit_info_is_read_with_or_without_extras(
    header: str, expected: tuple[int, int] | None
) -> None:
    assert parse_limit_info(header) == expected


def test_api_bursts_header_above_the_daily_share_stops_the_next_call(
    api: responses.RequestsMock,
) -> None:
    api.get(
        f"{API}/query/",
        json={"totalSize": 0, "done": True, "records": []},
        headers={"Sforce-Limit-Info": "api-usage=4100/5000; api-bursts=3/100"},
    )
    connector, _ = make_connector()
    assert list(connector.iter_owners()) == []  # the call that crossed the share still answers
    with pytest.raises(BudgetExhaustedError) as stopped:
        list(connector.iter_owners())
    assert stopped.value.code == "DAILY_SHARE"
    assert len(api.calls) == 1


def test_server_errors_and_dropped_connections_are_retried_with_backoff(
    api: responses.RequestsMock,
) -> None:
    api.get(
        f"{API}/query/",
        status=503,
        json=[{"message": "Server unavailable.", "errorCode": "SERVER_UNAVAILABLE"}],
    )
    api.get(f"{API}/query/", body=requests.ConnectionError("connection reset"))
    api.get(f"{API}/query/", json={"totalSize": 0, "done": True, "records": []})
    connector, waits = make_connector()
    assert list(connector.iter_owners()) == []
    assert waits == [0.25, 0.5]
    assert connector.budget().calls == 3


def test_a_server_errors_retry_after_is_waited_when_longer_than_the_backoff(
    api: responses.RequestsMock,
) -> None:
    api.get(
        f"{API}/query/",
        status=503,
        json=[{"message": "Server unavailable.", "errorCode": "SERVER_UNAVAILABLE"}],
        headers={"Retry-After": "3"},
    )
    api.get(f"{API}/query/", json={"totalSize": 0, "done": True, "records": []})
    connector, waits = make_connector()
    assert list(connector.iter_owners()) == []
    assert waits == [3.0]  # not the 0.25 s backoff


def test_a_write_whose_connection_dropped_is_never_resent_and_is_unknown(
    api: responses.RequestsMock,
) -> None:
    api.patch(f"{API}/composite/sobjects", body=requests.ConnectionError("connection reset"))
    connector, waits = make_connector()
    write = OwnerWrite("001RM000003oLrHYAU", "005RM000001aBcDYAU")
    with pytest.raises(TransientError) as lost:
        connector.write_owners([write])
    assert [(r.outcome, r.attempts) for r in lost.value.results] == [(WriteOutcome.UNKNOWN, 1)]
    assert len(api.calls) == 1
    assert waits == []


def test_a_note_create_refused_with_a_429_is_sent_again_since_it_never_ran(
    api: responses.RequestsMock,
) -> None:
    api.post(
        f"{API}/composite/sobjects",
        status=429,
        json=[{"message": "slow down", "errorCode": "REQUEST_LIMIT"}],
        headers={"Retry-After": "1"},
    )
    notes_created(api)
    api.post(
        f"{API}/composite/sobjects",
        json=[{"id": "06A5g00000XyZaBEAV", "success": True, "errors": []}],
        match=[_creates("ContentDocumentLink")],
    )
    connector, _ = make_connector()
    note = Note("001D000000IRFmaIAH", "c0ffee00c0ffee00", "x", datetime(2027, 1, 4, tzinfo=UTC))
    [result] = connector.post_notes([note])
    assert (result.outcome, result.record_id) == (WriteOutcome.APPLIED, "0695g00000AbCdEAAV")
    assert result.attempts == 3  # the refused create, the create, the link
    assert isinstance(connector.client.budget, PauseRecordingBudget)
    assert connector.client.budget.pauses == [1.0]


def test_a_429_pauses_the_shared_budget_for_as_long_as_retry_after_says(
    api: responses.RequestsMock,
) -> None:
    api.get(
        f"{API}/limits",
        status=429,
        json=[{"message": "slow down", "errorCode": "REQUEST_LIMIT"}],
        headers={"Retry-After": "2"},
    )
    api.get(f"{API}/limits", json={"DailyApiRequests": {"Max": 5000, "Remaining": 4990}})
    connector, waits = make_connector()
    assert connector.client.rest("limits", "limits").value["DailyApiRequests"]["Max"] == 5000
    assert isinstance(connector.client.budget, PauseRecordingBudget)
    assert connector.client.budget.pauses == [2.0]
    assert waits == []  # the budget does the waiting, for every worker sharing it


def test_retries_stop_at_the_attempt_bound(api: responses.RequestsMock) -> None:
    for _ in range(3):
        api.get(
            f"{API}/query/",
            status=500,
            json=[{"message": "An unexpected error occurred.", "errorCode": "UNKNOWN_EXCEPTION"}],
        )
    connector, waits = make_connector()
    with pytest.raises(TransientError) as failed:
        list(connector.iter_owners())
    assert (failed.value.status, failed.value.code) == (500, "UNKNOWN_EXCEPTION")
    assert len(waits) == 2


def test_notes_are_a_collection_of_content_notes_then_of_links_and_a_duplicate_link_is_done(
    api: responses.RequestsMock,
) -> None:
    api.post(
        f"{API}/composite/sobjects",
        json=[
            {"id": "0695g00000AbCdEAAV", "success": True, "errors": []},
            {
                "success": False,
                "errors": [
                    {
                        "statusCode": "INVALID_TYPE_ON_FIELD_IN_RECORD",
                        "message": "Content: value not of required type",
                        "fields": ["Content"],
                    }
                ],
            },
        ],
        match=[_creates("ContentNote")],
    )
    api.post(
        f"{API}/composite/sobjects",
        json=[
            {
                "success": False,
                "errors": [
                    {
                        "statusCode": "DUPLICATE_VALUE",
                        "message": "Document with ID: 0695g00000AbCdEAAV is already linked with "
                        "the entity with ID: 001D000000IRFmaIAH",
                        "fields": [],
                    }
                ],
            }
        ],
        match=[
            matchers.json_params_matcher(
                {
                    "allOrNone": False,
                    "records": [
                        {
                            "attributes": {"type": "ContentDocumentLink"},
                            "ContentDocumentId": "0695g00000AbCdEAAV",
                            "LinkedEntityId": "001D000000IRFmaIAH",
                            "ShareType": "V",
                        }
                    ],
                }
            )
        ],
    )
    connector, _ = make_connector()
    when = datetime(2027, 1, 4, tzinfo=UTC)
    notes = [
        Note("001D000000IRFmaIAH", "c0ffee00c0ffee00", "Owner: A -> B\nrule r7 & <row 3>", when),
        Note("001D000000IRt53IAD", "c0ffee00c0ffee01", "refused", when),
    ]
    done, refused = connector.post_notes(notes)
    assert (done.ok, done.record_id) == (True, "0695g00000AbCdEAAV")
    assert refused.outcome is WriteOutcome.FAILED
    assert refused.error is not None
    assert refused.error.code == "INVALID_TYPE_ON_FIELD_IN_RECORD"
    created = json.loads(api.calls[0].request.body or b"{}")
    assert created["allOrNone"] is False
    assert [r["Title"] for r in created["records"]] == [
        "Territory change territory-sync:c0ffee00c0ffee00",
        "Territory change territory-sync:c0ffee00c0ffee01",
    ]


def test_rate_limited_error_keeps_its_wait(api: responses.RequestsMock) -> None:
    api.get(
        f"{API}/limits",
        status=429,
        json=[{"message": "slow down", "errorCode": "REQUEST_LIMIT"}],
        headers={"Retry-After": "90"},
    )
    connector, waits = make_connector()
    with pytest.raises(RateLimitedError) as limited:
        connector.client.rest("limits", "limits")
    assert limited.value.wait_seconds == 90.0
    assert waits == []  # 90 s is past the policy's 60 s bound: give up instead of sleeping


def test_the_request_after_logging_in_again_waits_for_the_budget_no_later_than_the_call(
    api: responses.RequestsMock,
) -> None:
    """A session expired mid-call: the connector logs in and sends once more, taking a budget
    slot first; that wait keeps to the call's bound, as every other wait does."""
    from connectors.budget import ALL_CALLS, Window  # noqa: PLC0415
    from tests.connectors.test_budget_deadline import FakeClock  # noqa: PLC0415

    soap_login_answers(api)
    api.get(
        f"{API}/query/",
        status=401,
        json=[{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}],
    )
    fake = FakeClock(limit=60)
    # One call an hour: the request after the login would wait an hour for its slot.
    budget = RateBudget({ALL_CALLS: Window(1, 3600)}, sleep=fake.sleep, clock=fake.clock)
    connector = SalesforceConnector(
        SalesforceConfig(
            instance_url=INSTANCE, session_id=SecretStr(SESSION), login=LOGIN_SETTINGS
        ),
        budget=budget,
        session=requests.Session(),
        retry=RetryPolicy(attempts=3, first_wait=0.25, max_seconds=60),
        sleep=fake.sleep,
    )

    with pytest.raises(RateLimitedError) as refused:
        connector.read_owners(["001D000000IRFmaIAH"])

    assert refused.value.code == "BUDGET_DEADLINE"
    assert sum(fake.slept) <= 60
    assert [c.request.method for c in api.calls] == ["GET", "POST"]  # the query, the login
