"""The control API under `control_url`: stats, reset, faults, and the hand edits tests need.

- `GET /stats`: requests per endpoint, 429s served, owner writes per record (by CSV id),
  notes per marker, faults served.
- `POST /reset`: zero the stats and the rate windows, clear the faults.
- `POST /faults` `{"spec": "...", "seed": 0}`: replace the fault rules (see `--faults`).
- `POST /limits` `{"limit_per_window": ...}`: change limits at run time (fields of `Limits`).
- `GET /ids`: CSV id -> HubSpot and Salesforce ids, for companies and owners.
- `POST /companies` `{"values": {...}, "owner_id": "..."}`: create a company; sends a signed
  HubSpot v3 webhook to the configured URL.
- `POST /companies/{id}/owner` `{"owner_id": "..."}`: change an owner by hand (not counted in
  `owner_writes`).
- `POST /companies/{id}/archive`: archive (delete) a company.
- `POST /companies/{id}/values` `{"values": {...}}`: edit canonical values; bumps the modified
  date.
- `POST /companies/{id}/lock` `{"locked": true}`: set (or, with false, clear) the territory
  lock as a person would in the CRM (HubSpot `territory_lock`, Salesforce `Territory_Lock__c`);
  bumps the modified date, and gives the HubSpot portal its `territory_lock` property if it had
  none.
- `POST /owners/{id}/deactivate`: deactivate a user (an archived owner in HubSpot).
- `POST /salesforce/expire-session`: invalidate the Salesforce session id; returns the new one.
- `POST /salesforce/fields/{name}/remove`: take a territory custom field off Account (as if
  never deployed); `POST /salesforce/fields/{name}/deploy` puts it back.
- `POST /scopes/{scope}/revoke`: take a scope away from the HubSpot token.

Ids in paths are CSV ids (the keys `GET /ids` maps). Every call needs
`Authorization: Bearer <control_token>` (printed at start; 401 otherwise); a body that is not
the JSON object a call takes is a 400 naming what was expected, and nothing is changed then.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import fields
from typing import Any, Final

import orjson
import requests
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.gate import FaultSpecError, Limits, parse_faults
from sandbox.hubspot.portal import define_lock_property
from sandbox.org import Company, Stats
from sandbox.state import Sandbox

Handler = Callable[[Request], Awaitable[Response]]
_UNAUTHORIZED: Final = (
    "the control API needs the header 'Authorization: Bearer <control_token>' (the token is "
    "in the first line `territory sandbox serve` prints)"
)


# HubSpot's longest window is a day. A longer one gains a test nothing, and a huge one
# (1e308 is finite) overflows the window header every HubSpot answer carries.
MAX_WINDOW_SECONDS: Final = 86_400


class BadControlRequestError(Exception):
    """A control call whose body is not what it takes: answered 400 with the message."""


def routes(sandbox: Sandbox) -> list[Route]:  # noqa: PLR0915 - one closure per route
    """The control API's routes (mounted under the control URL's path)."""
    org, gate = sandbox.org, sandbox.gate

    def stats(_: Request) -> Response:
        with org.lock:
            return JSONResponse(org.stats.to_json())

    def reset(_: Request) -> Response:
        with org.lock:
            org.stats = Stats()
        gate.reset()
        gate.set_faults([])
        return JSONResponse({"ok": True})

    async def faults(request: Request) -> Response:
        body = await _json(request)
        spec = _optional(body, "spec", str, "a fault spec string") or ""
        seed = _optional(body, "seed", int, "a whole number")
        try:
            rules = parse_faults(spec)
        except FaultSpecError as error:
            return _refused(str(error))
        gate.set_faults(rules, seed=seed)
        return JSONResponse({"rules": len(rules)})

    async def limits(request: Request) -> Response:
        changes = checked_limits(await _json(request), gate.limits)
        for key, value in changes.items():
            setattr(gate.limits, key, value)
        gate.reset()
        return JSONResponse({f.name: getattr(gate.limits, f.name) for f in fields(gate.limits)})

    def ids(_: Request) -> Response:
        with org.lock:
            return Response(orjson.dumps(org.id_map()), media_type="application/json")

    async def create_company(request: Request) -> Response:
        body = await _json(request)
        owner = _optional(body, "owner_id", str, "an owner id (a CSV id) or null")
        values = _values(body)
        if owner is not None and owner not in org.users:
            return JSONResponse({"error": f"unknown owner {owner!r}"}, status_code=404)
        company = org.create_company(values, owner_key=owner)
        sent = _send_webhook(sandbox, company) if sandbox.webhook_url else None
        return JSONResponse(
            {
                "id": company.key,
                "hubspot_id": company.hubspot_id,
                "salesforce_id": company.salesforce_id,
                "webhook": sent,
            },
            status_code=201,
        )

    async def change_owner(request: Request) -> Response:
        company = _company(sandbox, request)
        if company is None:
            return _not_found(request)
        body = await _json(request)
        owner = _optional(body, "owner_id", str, "an owner id (a CSV id) or null")
        if owner is not None and owner not in org.users:
            return JSONResponse({"error": f"unknown owner {owner!r}"}, status_code=404)
        org.set_owner(company, owner, by_hand=True)
        return JSONResponse({"id": company.key, "owner_id": owner})

    def archive(request: Request) -> Response:
        company = _company(sandbox, request)
        if company is None:
            return _not_found(request)
        with org.lock:
            company.archived = True  # archiving does not bump the modified date (as in HubSpot)
        return JSONResponse({"id": company.key, "archived": True})

    async def edit_values(request: Request) -> Response:
        company = _company(sandbox, request)
        if company is None:
            return _not_found(request)
        values = _values(await _json(request))
        with org.lock:
            company.values.update(values)
            org.touch(company)
        return JSONResponse({"id": company.key, "updated_at": company.updated_at.isoformat()})

    async def lock(request: Request) -> Response:
        company = _company(sandbox, request)
        if company is None:
            return _not_found(request)
        locked = _optional(await _json(request), "locked", bool, "true or false")
        if locked is None:
            raise BadControlRequestError("locked: expected true or false")
        with org.lock:
            define_lock_property(sandbox)
            org.set_lock(company, locked)
        return JSONResponse({"id": company.key, "locked": locked})

    def deactivate(request: Request) -> Response:
        key = request.path_params["id"]
        if key not in org.users:
            return _not_found(request)
        user = org.deactivate_user(key)
        return JSONResponse({"id": user.key, "active": user.active})

    def expire_session(_: Request) -> Response:
        return JSONResponse({"salesforce_session_id": sandbox.expire_salesforce_session()})

    def salesforce_field(request: Request) -> Response:
        name, action = request.path_params["name"], request.path_params["action"]
        if action not in {"remove", "deploy"}:
            return JSONResponse({"error": f"unknown action {action!r}: remove or deploy"}, 404)
        if action == "remove":
            sandbox.salesforce_custom_fields.discard(name)
        else:
            sandbox.salesforce_custom_fields.add(name)
        return JSONResponse({"fields": sorted(sandbox.salesforce_custom_fields)})

    def revoke_scope(request: Request) -> Response:
        sandbox.scopes.discard(request.path_params["scope"])
        return JSONResponse({"scopes": sorted(sandbox.scopes)})

    table: list[tuple[str, Handler, str]] = [
        ("/stats", _in_thread(stats), "GET"),
        ("/reset", _in_thread(reset), "POST"),
        ("/faults", faults, "POST"),
        ("/limits", limits, "POST"),
        ("/ids", _in_thread(ids), "GET"),
        ("/companies", create_company, "POST"),
        ("/companies/{id}/owner", change_owner, "POST"),
        ("/companies/{id}/archive", _in_thread(archive), "POST"),
        ("/companies/{id}/values", edit_values, "POST"),
        ("/companies/{id}/lock", lock, "POST"),
        ("/owners/{id}/deactivate", _in_thread(deactivate), "POST"),
        ("/salesforce/expire-session", _in_thread(expire_session), "POST"),
        ("/salesforce/fields/{name}/{action:str}", _in_thread(salesforce_field), "POST"),
        ("/scopes/{scope}/revoke", _in_thread(revoke_scope), "POST"),
    ]
    return [
        Route(path, _guarded(sandbox, handler), methods=[method]) for path, handler, method in table
    ]


def _guarded(sandbox: Sandbox, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """The token check before `handler`, and a 400 for a body it cannot take."""

    async def guarded(request: Request) -> Response:
        if not sandbox.control_authorized(request.headers.get("authorization")):
            return JSONResponse({"error": _UNAUTHORIZED}, status_code=401)
        try:
            return await handler(request)
        except BadControlRequestError as error:
            return _refused(str(error))

    return guarded


def _in_thread(handler: Callable[[Request], Response]) -> Handler:
    """`handler` run off the event loop: it may wait for the org's lock."""

    async def run(request: Request) -> Response:
        return await run_in_threadpool(handler, request)

    return run


def checked_limits(body: dict[str, Any], current: Limits) -> dict[str, object]:
    """The limit changes `body` asks for, each checked; BadControlRequestError names the first
    bad one, so a refused call changes nothing."""
    known = {f.name for f in fields(current)}
    unknown = sorted(set(body) - known)
    if unknown:
        raise BadControlRequestError(f"unknown limits {unknown}; known: {sorted(known)}")
    return {key: _limit(key, value, getattr(current, key)) for key, value in body.items()}


def _limit(key: str, value: object, current: object) -> object:
    """`value` as limit `key` takes it: of the current value's kind, and a number above 0
    (a window of at most `MAX_WINDOW_SECONDS`)."""
    if isinstance(current, str):
        if isinstance(value, str):
            return value
        raise BadControlRequestError(f"{key}: expected text, got {value!r}")
    if isinstance(current, bool):
        if isinstance(value, bool):
            return value
        raise BadControlRequestError(f"{key}: expected true or false, got {value!r}")
    number = value if isinstance(value, int | float) and not isinstance(value, bool) else None
    if isinstance(current, int):
        if isinstance(number, int) and number > 0:
            return number
        raise BadControlRequestError(f"{key}: expected a whole number above 0, got {value!r}")
    if number is not None and math.isfinite(number) and 0 < number <= MAX_WINDOW_SECONDS:
        return float(number)
    raise BadControlRequestError(
        f"{key}: expected a number of seconds above 0 and at most {MAX_WINDOW_SECONDS:,}, "
        f"got {value!r}"
    )


async def _json(request: Request) -> dict[str, Any]:
    """The body as a JSON object ({} when empty); BadControlRequestError otherwise."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadControlRequestError(f"the body is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise BadControlRequestError("the body must be a JSON object")
    return value


def _optional(body: dict[str, Any], key: str, kind: type, expected: str) -> Any:
    """`body[key]` when it has type `kind`, None when absent or null; refused otherwise."""
    value = body.get(key)
    if value is None:
        return None
    if (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind):
        raise BadControlRequestError(f"{key}: expected {expected}, got {value!r}")
    return value


def _values(body: dict[str, Any]) -> dict[str, str]:
    """`body["values"]`: column name -> text or number (null clears the value)."""
    values = body.get("values")
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise BadControlRequestError(
            f"values: expected an object of column -> value, got {values!r}"
        )
    checked: dict[str, str] = {}
    for key, value in values.items():
        if isinstance(value, bool) or not isinstance(value, str | int | float | None):
            raise BadControlRequestError(f"values.{key}: expected text or a number, got {value!r}")
        checked[key] = "" if value is None else str(value)
    return checked


def _refused(message: str) -> Response:
    return JSONResponse({"error": message}, status_code=400)


def _company(sandbox: Sandbox, request: Request) -> Company | None:
    return sandbox.org.companies.get(request.path_params["id"])


def _not_found(request: Request) -> Response:
    return JSONResponse({"error": f"no record {request.path_params['id']!r}"}, status_code=404)


def hubspot_signature_v3(secret: str, method: str, uri: str, body: bytes, timestamp_ms: int) -> str:
    """base64(HMAC-SHA256(secret, method + uri + body + timestamp)), as HubSpot signs v3."""
    message = method.encode() + uri.encode() + body + str(timestamp_ms).encode()
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


def _send_webhook(sandbox: Sandbox, company: Company) -> dict[str, Any]:
    """Deliver a `company.creation` event to the webhook URL, signed v3, in the background."""
    url, secret = sandbox.webhook_url or "", sandbox.webhook_secret or ""
    now_ms = int(time.time() * 1000)
    event = {
        "eventId": int(company.hubspot_id) % 1_000_000_000,
        "subscriptionId": 1001,
        "portalId": sandbox.portal_id,
        "appId": 2001,
        "occurredAt": now_ms,
        "subscriptionType": "company.creation",
        "attemptNumber": 0,
        "objectId": int(company.hubspot_id),
        "changeFlag": "CREATED",
        "changeSource": "CRM",
    }
    body = orjson.dumps([event])

    def deliver() -> None:
        # HubSpot retries on failure; the sandbox tries a few times, a second apart.
        for attempt in range(3):
            stamp = int(time.time() * 1000)
            headers = {
                "Content-Type": "application/json",
                "X-HubSpot-Signature-Version": "v3",
                "X-HubSpot-Request-Timestamp": str(stamp),
                "X-HubSpot-Signature-v3": hubspot_signature_v3(secret, "POST", url, body, stamp),
            }
            try:
                reply = requests.post(url, data=body, headers=headers, timeout=5)
            except requests.RequestException:
                reply = None
            if reply is not None and reply.ok:
                return
            time.sleep(1.0 * (attempt + 1))

    threading.Thread(target=deliver, name="sandbox-webhook", daemon=True).start()
    return {"url": url, "objectId": event["objectId"]}
