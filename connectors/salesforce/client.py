"""One authenticated simple_salesforce client behind the budget, the retry policy and the
error table: every Salesforce call the connector makes goes through `SalesforceClient.send`.

Each call runs in the one retry loop of `connectors.retry` (`send_within_budget`): per try, a
slot from the rate budget (refused at once once the run is stopped), the request, then
`Sforce-Limit-Info` (read from every response by a session hook, errors included, with or
without `; api-bursts=`) fed to the budget. A failure is mapped through
`failures.error_from_exception`, then:

- `INVALID_SESSION_ID`: log in again (login settings) and send the request once more; with a
  bare session id, a TerminalError that says a new session id is needed;
- REQUEST_LIMIT_EXCEEDED, or the run's daily share used: BudgetExhaustedError, and every later
  call is refused without a request (the allowance is never hammered);
- a 429 holds every worker sharing the budget for its `Retry-After`;
- transient errors are retried with backoff (or after their `Retry-After`, when longer) within
  `RetryPolicy`, only as the request's `Replay` allows: a create that may have run is never
  sent again blindly.

simple_salesforce's own re-login is not used: it would re-send without the budget seeing it,
and its `api_usage` is only set on successful calls.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final, TypeVar

import requests
from requests.adapters import HTTPAdapter
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceAuthenticationFailed, SalesforceError
from simple_salesforce.login import SalesforceLogin

from connectors.budget import RateBudget
from connectors.errors import ConnectorError, TerminalError
from connectors.retry import Replay, RetryPolicy, Sent, send_within_budget
from connectors.salesforce.config import SalesforceConfig
from connectors.salesforce.failures import INVALID_SESSION_ID, error_from_exception

log = logging.getLogger(__name__)
T = TypeVar("T")
Request = Callable[[Salesforce], T]

_API_USAGE: Final = re.compile(r"(?:^|[;,\s])api-usage=(\d+)/(\d+)")


def parse_limit_info(header: str) -> tuple[int, int] | None:
    """(used, allowed) from `Sforce-Limit-Info: api-usage=25/5000[; api-bursts=…]`."""
    match = _API_USAGE.search(header)
    return (int(match.group(1)), int(match.group(2))) if match else None


class _TrustedCaAdapter(HTTPAdapter):
    """Verifies one host's TLS with a given CA bundle, whatever the environment says.

    requests lets `REQUESTS_CA_BUNDLE` / `CURL_CA_BUNDLE` override `Session.verify`, so a
    session's own setting is not enough to trust the sandbox's throwaway CA.
    """

    def __init__(self, ca_bundle: str) -> None:
        super().__init__()
        self.ca_bundle = ca_bundle

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        del verify  # the environment's bundle, or the session's: this host trusts one CA
        return super().send(request, stream, timeout, self.ca_bundle, cert, proxies)


class SalesforceClient:
    """Calls Salesforce for one connector; not shared between threads."""

    def __init__(
        self,
        config: SalesforceConfig,
        *,
        budget: RateBudget,
        session: requests.Session | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self.budget = budget
        self.retry = retry or RetryPolicy()
        self.session = session or requests.Session()
        self.session.hooks["response"].append(self._remember)
        self._sleep = sleep
        self._sf: Salesforce | None = None
        self._headers: Mapping[str, str] = {}

    # ---- calls ------------------------------------------------------------------------------

    def query(self, soql: str, *, include_deleted: bool = False) -> Iterator[dict[str, Any]]:
        """Every record of `soql`, page by page through `nextRecordsUrl`."""
        timeout = self.config.timeout_seconds
        page = self.call(
            "query", lambda sf: sf.query(soql, include_deleted=include_deleted, timeout=timeout)
        )
        yield from page["records"]
        while not page["done"]:
            page = self.call("query_more", _next_page(page["nextRecordsUrl"], timeout))
            yield from page["records"]

    def rest(
        self,
        kind: str,
        path: str,
        *,
        method: str = "GET",
        body: object = None,
        headers: Mapping[str, str] | None = None,
        replay: Replay = Replay.READ,
    ) -> Sent[Any]:
        """One REST call under /services/data/vXX.X/: the decoded JSON (None for 204) and the
        requests it took."""
        data = None if body is None else json.dumps(body)
        return self.send(
            kind,
            lambda sf: sf.restful(
                path,
                method=method,
                data=data,
                headers=dict(headers or {}),
                timeout=self.config.timeout_seconds,
            ),
            replay=replay,
        )

    def last_header(self, name: str) -> str | None:
        """A header of the latest response (e.g. the ETag of the record just read)."""
        return self._headers.get(name)

    def call(self, kind: str, request: Request[T], *, replay: Replay = Replay.READ) -> T:
        """Run `request` as the module docstring says; its answer."""
        return self.send(kind, request, replay=replay).value

    def send(self, kind: str, request: Request[T], *, replay: Replay = Replay.READ) -> Sent[T]:
        """Run `request` under the budget and the retry policy; its answer and the requests
        it took (a failure raises as `connectors.retry.send_within_budget` says)."""
        # The same bound send_within_budget keeps to: the slot after a re-login waits no longer.
        deadline = self.budget.clock() + self.retry.max_seconds
        return send_within_budget(
            lambda: self._attempt(kind, request, deadline),
            budget=self.budget,
            policy=self.retry,
            replay=replay,
            kind=kind,
            sleep=self._sleep,
        )

    def _attempt(self, kind: str, request: Request[T], deadline: float) -> T:
        """One try; a session found expired is renewed and the request sent once more (its
        slot waited for no later than `deadline`, on the budget's clock)."""
        answer = self._request(request)
        if isinstance(answer, ConnectorError) and answer.code == INVALID_SESSION_ID:
            log.info("Salesforce session expired or revoked; logging in again")
            self._log_in_again()
            self.budget.acquire(kind, deadline=deadline)
            answer = self._request(request)
        if isinstance(answer, ConnectorError):
            raise answer
        return answer

    def _request(self, request: Request[T]) -> T | ConnectorError:
        """The answer, or the typed error: returned, never raised from the except block, where
        it would carry the failed call's exception, whose traceback holds the response (and its
        connection) alive."""
        try:
            answer = request(self._client())
        except (SalesforceError, requests.RequestException) as exc:
            error = error_from_exception(exc, self._headers)
        else:
            self._observe_limits()
            return answer
        self._observe_limits()
        return error

    # ---- limits -------------------------------------------------------------------------------

    def _remember(self, response: requests.Response, *_: object, **__: object) -> None:
        self._headers = response.headers

    def _observe_limits(self) -> None:
        """Feed `Sforce-Limit-Info` to the budget: past the run's share, the call that said so
        has succeeded and the next one is refused."""
        usage = parse_limit_info(self._headers.get("Sforce-Limit-Info", ""))
        if usage is not None:
            self.budget.observe(daily_used=usage[0], daily_limit=usage[1])

    # ---- authentication -----------------------------------------------------------------------

    def _client(self) -> Salesforce:
        if self._sf is None:
            config = self.config
            if config.instance_url is not None and config.session_id is not None:
                self._sf = self._connect(config.instance_url, config.session_id.get_secret_value())
            else:
                self._log_in_again()
        assert self._sf is not None
        return self._sf

    def _connect(self, instance_url: str, session_id: str) -> Salesforce:
        if self.config.ca_bundle is not None:
            self.session.mount(
                instance_url.rstrip("/") + "/", _TrustedCaAdapter(str(self.config.ca_bundle))
            )
        return Salesforce(
            instance_url=instance_url,
            session_id=session_id,
            session=self.session,
            version=self.config.api_version,
            object_pairs_hook=dict,
        )

    def _log_in_again(self) -> None:
        login = self.config.login
        if login is None:
            raise TerminalError(
                "Salesforce rejected the session id (expired or revoked) and this connector has "
                "no login settings to get a new one: supply a fresh session id, or login "
                "settings so it can log in again",
                status=401,
                code=INVALID_SESSION_ID,
            )
        try:
            session_id, instance = SalesforceLogin(
                session=self.session, sf_version=self.config.api_version, **login.login_arguments()
            )
        except SalesforceAuthenticationFailed as exc:
            raise TerminalError(
                f"Salesforce login failed for the configured user: {exc.auth_message[:200]}",
                status=401,
                code=str(exc.code) if exc.code else "LOGIN_FAILED",
            ) from None
        except requests.RequestException as exc:
            raise TerminalError(
                f"Salesforce login could not be reached: {type(exc).__name__}", code="LOGIN_FAILED"
            ) from None
        self._sf = self._connect(f"https://{instance}", session_id)


def _next_page(url: str, timeout: float) -> Request[Any]:
    return lambda sf: sf.query_more(url, identifier_is_url=True, timeout=timeout)
