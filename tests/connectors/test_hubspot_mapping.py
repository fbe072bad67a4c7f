"""HubSpot answers read into connector values and errors, without a server."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import orjson
import pytest
from hubspot.crm.owners.exceptions import ApiException
from pydantic import SecretStr

from connectors.base import note_marker
from connectors.budget import RateBudget, hubspot_windows
from connectors.errors import BudgetExhaustedError, RateLimitedError, TerminalError, TransientError
from connectors.hubspot import HubSpotConfig, RetryPolicy
from connectors.hubspot.activity import Touches, fold_touch
from connectors.hubspot.errors import call_error, record_error
from connectors.hubspot.paging import chunks, follow_pages
from connectors.hubspot.transport import HubSpotTransport
from connectors.hubspot.writes import distinct_batches

WHEN = "2026-10-08T14:35:00.000Z"


def activity(owner: str | None, body: str | None = None, when: str | None = WHEN) -> dict:
    return {
        "id": "1",
        "properties": {"hubspot_owner_id": owner, "hs_timestamp": when, "hs_call_body": body},
    }


def test_an_activity_counts_for_its_owner_on_each_company_unless_it_is_ours() -> None:
    touches: Touches = {}
    fold_touch(touches, "calls", activity("50000002"), ["1", "2"])
    fold_touch(touches, "calls", activity("50000003", body=f"x {note_marker('ab' * 12)}"), ["1"])
    fold_touch(touches, "calls", activity(None), ["1"])
    fold_touch(touches, "calls", activity("50000004", when="not a time"), ["1"])
    fold_touch(touches, "calls", activity("50000002", when="2020-01-01T00:00:00Z"), ["1"])
    latest = datetime(2026, 10, 8, 14, 35, tzinfo=UTC)
    assert touches == {("1", "50000002"): latest, ("2", "50000002"): latest}


def scope_body(*scopes: str) -> dict:
    return {
        "status": "error",
        "category": "MISSING_SCOPES",
        "message": "This app hasn't been granted all required scopes to make this call.",
        "errors": [{"context": {"requiredGranularScopes": list(scopes)}}],
    }


def test_a_missing_scope_is_terminal_and_named() -> None:
    error = call_error("properties.create", 403, scope_body("crm.schemas.companies.write"))
    assert isinstance(error, TerminalError)
    assert error.code == "MISSING_SCOPES"
    assert "crm.schemas.companies.write" in str(error)


@pytest.mark.parametrize(
    ("policy", "headers", "wait"),
    [
        ("SECONDLY", {}, 1.0),
        ("TEN_SECONDLY_ROLLING", {"X-HubSpot-RateLimit-Interval-Milliseconds": "1000"}, 1.0),
        ("TEN_SECONDLY_ROLLING", {}, 10.0),
    ],
)
def test_a_429_waits_for_the_window_hubspot_names(
    policy: str, headers: dict[str, str], wait: float
) -> None:
    error = call_error(
        "companies.list", 429, {"policyName": policy, "errorType": "RATE_LIMIT"}, headers
    )
    assert isinstance(error, RateLimitedError)
    assert (error.wait_seconds, error.policy) == (wait, policy)


@pytest.mark.parametrize(
    ("category", "kind", "status"),
    [
        ("INTERNAL_ERROR", TransientError, 500),
        ("OBJECT_NOT_FOUND", TerminalError, 404),
        ("VALIDATION_ERROR", TerminalError, 400),
        ("SOMETHING_NEW", TerminalError, 400),
    ],
)
def test_a_batch_records_category_maps_through_the_status_table(
    category: str, kind: type, status: int
) -> None:
    error = record_error("companies.batch_update", {"category": category, "message": "m"})
    assert type(error) is kind
    assert error.status == status


def test_batches_hold_each_company_once_and_at_most_100() -> None:
    repeated = {i: {"id": str(i % 30)} for i in range(70)}
    assert [len(b) for b in distinct_batches(repeated)] == [30, 30, 10]
    distinct = {i: {"id": str(i)} for i in range(250)}
    batches = list(distinct_batches(distinct))
    assert [len(b) for b in batches] == [100, 100, 50]
    assert [i for b in batches for i in b] == list(range(250))


def test_paging_follows_cursors_past_short_pages_and_refuses_a_loop() -> None:
    pages = {None: (["a"], "x"), "x": ([], "y"), "y": (["b"], None)}

    def fetch(after: str | None) -> dict:
        results, following = pages[after]
        return {"results": results, "paging": {"next": {"after": following}} if following else {}}

    assert list(follow_pages(fetch)) == ["a", "b"]
    with pytest.raises(TerminalError):
        list(follow_pages(lambda _: {"results": [], "paging": {"next": {"after": "same"}}}))
    assert list(chunks(range(5), 2)) == [[0, 1], [2, 3], [4]]


def _refusals(*answers: tuple[int, dict[str, str]]) -> tuple[list[int], object]:
    """A client method failing with (status, headers) for each of `answers`, then answering."""
    sent: list[int] = []
    left = list(answers)

    def method(*_: object, **__: object) -> object:
        sent.append(1)
        if not left:
            return SimpleNamespace(status=200, data=b"{}", headers={})
        status, headers = left.pop(0)
        error = ApiException(status=status, reason="refused")
        body = {"policyName": "DAILY", "errorType": "RATE_LIMIT"} if status == 429 else {}
        error.body = orjson.dumps(body).decode()
        error.headers = headers
        raise error

    return sent, method


def test_a_daily_limit_429_stops_the_run_and_every_later_call_is_refused_unsent() -> None:
    sent, refuse = _refusals((429, {}))
    config = HubSpotConfig(token=SecretStr("pat-test"), retry=RetryPolicy(first_wait=0))
    budget = RateBudget(hubspot_windows(), sleep=lambda _: None)
    transport = HubSpotTransport(config, budget, sleep=lambda _: None)
    with pytest.raises(BudgetExhaustedError) as caught:
        transport.call("owners.list", refuse)
    assert (caught.value.code, caught.value.status) == ("DAILY", 429)
    assert sent == [1]
    with pytest.raises(BudgetExhaustedError) as refused:
        transport.call("owners.list", refuse)
    assert refused.value.attempts == 0  # nobody waits out the day, and nothing more is sent
    assert sent == [1]


def test_a_server_errors_retry_after_is_waited_when_longer_than_the_backoff() -> None:
    sent, busy = _refusals((503, {"Retry-After": "3"}), (502, {}))
    waits: list[float] = []
    config = HubSpotConfig(token=SecretStr("pat-test"), retry=RetryPolicy(first_wait=0.5))
    transport = HubSpotTransport(config, RateBudget(hubspot_windows()), sleep=waits.append)
    reply = transport.call("owners.list", busy)
    assert (reply.status, reply.attempts, len(sent)) == (200, 3, 3)
    assert waits == [3.0, 1.0]  # HubSpot's Retry-After, then the backoff
