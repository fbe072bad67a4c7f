"""With no faults configured, any request to any sandbox route is answered 2xx or 4xx, never 5xx.

Routes come from the apps themselves, so a new endpoint is covered the day it is added; what
is drawn for each is in `drawn_requests`. Each example runs on a fresh sandbox, so what one
request changes (an expired session, a revoked scope) never hides the next one's handler.
`POST /faults` is left out: configuring faults is how a 5xx is asked for.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from anyio.from_thread import BlockingPortal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette

from sandbox.gate import Limits
from sandbox.server import SandboxConfig, apps, build
from sandbox.state import Sandbox
from tests.sandbox.asgi import AsgiClient
from tests.sandbox.conftest import write_org
from tests.sandbox.drawn_requests import DrawnRequest, Endpoint, drawn_requests, endpoints


@pytest.fixture(scope="module")
def org_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_org(tmp_path_factory.mktemp("any-request") / "org")


def fresh(org_dir: Path) -> tuple[Sandbox, Starlette, Starlette]:
    sandbox = build(SandboxConfig(data=org_dir, limits=Limits(enforce=False)))
    sandbox.hubspot_url, sandbox.salesforce_url = "http://sandbox", "https://sandbox"
    http_app, https_app = apps(sandbox)
    return sandbox, http_app, https_app


def without_faults(found: list[Endpoint]) -> list[Endpoint]:
    return [e for e in found if not (e.api == "control" and e.path.endswith("/faults"))]


def credential(sandbox: Sandbox, api: str) -> str:
    tokens = {
        "hubspot": sandbox.hubspot_token,
        "salesforce": sandbox.salesforce_session_id,
        "control": sandbox.control_token,
    }
    return tokens[api]


def test_every_api_and_method_is_drawn(org_dir: Path) -> None:
    _, http_app, https_app = fresh(org_dir)
    drawn = {(e.api, e.method) for e in without_faults(endpoints(http_app, https_app))}
    assert drawn == {
        ("hubspot", "GET"),
        ("hubspot", "POST"),
        ("hubspot", "PATCH"),
        ("salesforce", "GET"),
        ("salesforce", "POST"),
        ("salesforce", "PATCH"),
        ("control", "GET"),
        ("control", "POST"),
    }


def test_no_request_gets_a_server_error(org_dir: Path, portal: BlockingPortal) -> None:
    _, http_app, https_app = fresh(org_dir)
    among = without_faults(endpoints(http_app, https_app))

    @settings(
        max_examples=300,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(request=drawn_requests(among), authorized=st.sampled_from([True, True, True, False]))
    def answered_without_a_server_error(request: DrawnRequest, authorized: bool) -> None:
        sandbox, http_app, https_app = fresh(org_dir)
        api = request.endpoint.api
        token = credential(sandbox, api) if authorized else "wrong"
        app = https_app if api == "salesforce" else http_app
        client = AsgiClient(app, portal, {"Authorization": f"Bearer {token}"})
        reply = client.request(
            request.endpoint.method, request.path, query=request.query, body=request.body
        )
        assert reply.status < 500, reply.body

    answered_without_a_server_error()
