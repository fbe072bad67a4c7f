"""Shared by the Salesforce tests: sessions and connectors for a running sandbox, and a stand-in
for Salesforce's SOAP login endpoint (which no configuration can point at the sandbox)."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any, cast

import requests
from pydantic import SecretStr
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from connectors.salesforce import (
    RetryPolicy,
    SalesforceConfig,
    SalesforceConnector,
    SalesforceLoginSettings,
)
from rules.loader import load_rules
from rules.schema import RuleFile
from sandbox.server import RunningSandbox
from tests.connectors.conftest import control

LOGIN_URL = "https://login.salesforce.com/"
# Sessions the helpers opened; `close_sessions` closes them before the sandbox stops (an idle
# TLS keep-alive connection otherwise holds the server's shutdown until its timeout).
_OPEN: list[requests.Session] = []
# No waiting between retries in tests; the bounds on attempts still hold.
NO_WAIT = RetryPolicy(attempts=3, first_wait=0.0)


IdMap = dict[str, dict[str, dict[str, str]]]  # "companies"/"owners" -> CSV id -> CRM -> id


def sandbox_ids(running: RunningSandbox) -> IdMap:
    """The control API's `GET /ids`: CSV id -> HubSpot and Salesforce ids."""
    return cast(IdMap, control(running, "GET", "/ids"))


def stats(running: RunningSandbox) -> dict[str, int]:
    """Requests served per endpoint name."""
    return cast(dict[str, int], control(running, "GET", "/stats")["requests"])


def rule_of(org: Path) -> RuleFile:
    path = org / "rules.yaml"
    return load_rules(path.read_text(encoding="utf-8"), str(path)).rule


def sandbox_session(running: RunningSandbox) -> requests.Session:
    """A session trusting the sandbox's CA (the environment's CA bundle variables ignored)."""
    session = tracked_session()
    session.verify = running.info.ca_cert
    session.trust_env = False  # REQUESTS_CA_BUNDLE would otherwise override `verify`
    return session


def tracked_session() -> requests.Session:
    """A plain session, closed by `close_sessions`."""
    session = requests.Session()
    _OPEN.append(session)
    return session


def close_sessions() -> None:
    # A response still referenced (by a traceback, say) keeps its TLS socket open even after
    # the session closes; collect them first.
    gc.collect()
    while _OPEN:
        _OPEN.pop().close()


def config_for(running: RunningSandbox, **overrides: Any) -> SalesforceConfig:
    settings: dict[str, Any] = {
        "instance_url": running.info.salesforce_url,
        "session_id": SecretStr(running.info.salesforce_session_id),
        "ca_bundle": Path(running.info.ca_cert),
    }
    settings.update(overrides)
    return SalesforceConfig(**settings)


def connector_for(
    running: RunningSandbox, *, rule: RuleFile | None = None, **overrides: Any
) -> SalesforceConnector:
    """A connector on the sandbox's session; keyword arguments override config fields."""
    session = overrides.pop("session", None) or tracked_session()
    budget = overrides.pop("budget", None)
    return SalesforceConnector(
        config_for(running, **overrides),
        rule=rule,
        budget=budget,
        session=session,
        retry=NO_WAIT,
        sleep=lambda _: None,
    )


LOGIN_SETTINGS = SalesforceLoginSettings(
    username="integration@example.com",
    password=SecretStr("password-not-logged"),
    security_token=SecretStr("token-not-logged"),
)


class SoapLoginAdapter(BaseAdapter):
    """Answers simple_salesforce's SOAP `login` call with a session id on the sandbox.

    Mounted on a session at `LOGIN_URL`; `session_id` is what the next login returns (a test
    sets it to the one the control API's expire-session handed out).
    """

    def __init__(self, running: RunningSandbox, session_id: str | None = None) -> None:
        super().__init__()
        self.running = running
        self.session_id = session_id
        self.logins: list[bytes] = []  # request bodies, to check what was sent

    def send(self, request: requests.PreparedRequest, *_: Any, **__: Any) -> requests.Response:
        body = request.body if isinstance(request.body, bytes) else str(request.body).encode()
        self.logins.append(body)
        response = requests.Response()
        response.url = request.url or ""
        response.request = request
        response.headers = CaseInsensitiveDict({"Content-Type": "text/xml; charset=utf-8"})
        if self.session_id is None:
            response.status_code = 500
            response._content = _fault("INVALID_LOGIN", "Invalid username, password.")
            return response
        server = f"{self.running.info.salesforce_url}/services/Soap/u/59.0/00D000000000001"
        response.status_code = 200
        response._content = (
            '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
            'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
            'xmlns="urn:partner.soap.sforce.com"><soapenv:Body><loginResponse><result>'
            f"<serverUrl>{server}</serverUrl><sessionId>{self.session_id}</sessionId>"
            "</result></loginResponse></soapenv:Body></soapenv:Envelope>"
        ).encode()
        return response

    def close(self) -> None:
        pass


def _fault(code: str, message: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
        'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:sf="urn:fault.partner.soap.sforce.com"><soapenv:Body><soapenv:Fault>'
        f"<faultcode>sf:{code}</faultcode><faultstring>{code}: {message}</faultstring>"
        f"<detail><sf:LoginFault><sf:exceptionCode>{code}</sf:exceptionCode>"
        f"<sf:exceptionMessage>{message}</sf:exceptionMessage></sf:LoginFault></detail>"
        "</soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    ).encode()
