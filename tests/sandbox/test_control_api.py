"""The control API: only with its token, and limits that cannot break the sandbox."""

from __future__ import annotations

import pytest

from sandbox.gate import Limits
from tests.sandbox.conftest import InProcess

# Every HubSpot read a client makes, answered 2xx while the limits are sane.
HUBSPOT_READS = [
    ("GET", "/crm/v3/objects/companies", None),
    ("GET", "/crm/v3/objects/companies/1000000001", None),
    ("POST", "/crm/v3/objects/companies/search", {"limit": 2}),
    ("POST", "/crm/v3/objects/companies/batch/read", {"inputs": [{"id": "1000000001"}]}),
    ("GET", "/crm/v3/owners", None),
    ("GET", "/crm/v3/properties/companies", None),
    ("GET", "/crm/v3/objects/calls", None),
]
# (limit, value) pairs a control call may send and the sandbox must refuse.
BAD_LIMITS = [
    ("limit_per_window", "ten"),
    ("limit_per_window", -5),
    ("limit_per_window", 0),
    ("limit_per_window", 2.5),
    ("limit_per_window", True),
    ("limit_per_window", None),
    ("search_per_second", [5]),
    ("search_cap", 0),
    ("daily_limit", -1),
    ("salesforce_daily_limit", "100"),
    ("window_seconds", "ten"),
    ("window_seconds", 0),
    ("window_seconds", -1.5),
    ("window_seconds", {"seconds": 1}),
    ("window_seconds", 1e308),  # finite, but no header can say it in milliseconds
    ("window_seconds", 86_401),
    ("enforce", "no"),
    ("enforce", 0),
    ("salesforce_limit_info_extra", 3),
]
# JSON has no NaN or infinity; clients that write them anyway send these bodies.
NOT_JSON_NUMBERS = [
    b'{"window_seconds": NaN}',
    b'{"window_seconds": Infinity}',
    b'{"window_seconds": -Infinity}',
    b'{"window_seconds": 1e999}',
    b'{"limit_per_window": 1e999}',
]


def test_every_control_call_needs_the_token(crm: InProcess) -> None:
    calls = [("GET", "/stats"), ("POST", "/reset"), ("POST", "/limits"), ("GET", "/ids")]
    for method, path in calls:
        for headers in ({"Authorization": ""}, {"Authorization": "Bearer not-the-token"}):
            reply = crm.control.request(method, path, json={}, headers=headers)
            assert reply.status == 401
            assert "control_token" in reply.json()["error"]
    assert crm.sandbox.org.stats.requests == {}
    assert crm.control.request("GET", "/stats").status == 200


def test_the_hubspot_token_does_not_open_the_control_api(crm: InProcess) -> None:
    headers = {"Authorization": f"Bearer {crm.sandbox.hubspot_token}"}
    assert crm.control.request("POST", "/reset", headers=headers).status == 401


@pytest.mark.parametrize(("key", "value"), BAD_LIMITS, ids=[f"{k}={v!r}" for k, v in BAD_LIMITS])
def test_a_limit_of_the_wrong_kind_is_refused_and_the_apis_keep_answering(
    crm: InProcess, key: str, value: object
) -> None:
    before = repr(crm.sandbox.gate.limits)
    reply = crm.control.request("POST", "/limits", json={key: value})
    assert reply.status == 400
    assert key in reply.json()["error"]
    assert repr(crm.sandbox.gate.limits) == before
    assert_hubspot_answers(crm)


@pytest.mark.parametrize("body", NOT_JSON_NUMBERS, ids=[b.decode() for b in NOT_JSON_NUMBERS])
def test_nan_and_infinite_limits_are_refused(crm: InProcess, body: bytes) -> None:
    before = repr(crm.sandbox.gate.limits)
    assert crm.control.request("POST", "/limits", body=body).status == 400
    assert repr(crm.sandbox.gate.limits) == before
    assert_hubspot_answers(crm)


def test_one_bad_limit_refuses_the_whole_call(crm: InProcess) -> None:
    reply = crm.control.request("POST", "/limits", json={"search_cap": 5, "window_seconds": 0})
    assert reply.status == 400
    assert crm.sandbox.gate.limits.search_cap == Limits().search_cap


def test_good_limits_apply_and_are_echoed(crm: InProcess) -> None:
    reply = crm.control.request(
        "POST", "/limits", json={"limit_per_window": 3, "window_seconds": 2, "enforce": True}
    )
    assert reply.status == 200
    assert reply.json()["limit_per_window"] == 3
    assert reply.json()["window_seconds"] == 2.0
    statuses = [crm.hubspot.request("GET", "/crm/v3/objects/companies").status for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


def assert_hubspot_answers(crm: InProcess) -> None:
    for method, path, body in HUBSPOT_READS:
        reply = crm.hubspot.request(method, path, json=body)
        assert reply.status == 200, (path, reply.body)
