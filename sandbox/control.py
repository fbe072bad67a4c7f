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
- `POST /owners/{id}/deactivate`: deactivate a user (an archived owner in HubSpot).
- `POST /salesforce/expire-session`: invalidate the Salesforce session id; returns the new one.
- `POST /salesforce/fields/{name}/remove`: take a territory custom field off Account (as if
  never deployed); `POST /salesforce/fields/{name}/deploy` puts it back.
- `POST /scopes/{scope}/revoke`: take a scope away from the HubSpot token.

Ids in paths are CSV ids (the keys `GET /ids` maps).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
from dataclasses import fields
from typing import Any

import orjson
import requests
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.gate import FaultSpecError, parse_faults
from sandbox.org import Company
from sandbox.state import Sandbox


def routes(sandbox: Sandbox) -> list[Route]:  # noqa: PLR0915 - one closure per route
    """The control API's routes (mounted under the control URL's path)."""
    org, gate = sandbox.org, sandbox.gate

    def stats(_: Request) -> Response:
        with org.lock:
            return JSONResponse(org.stats.to_json())

    def reset(_: Request) -> Response:
        with org.lock:
            org.stats.__init__()  # type: ignore[misc]
        gate.reset()
        gate.set_faults([])
        return JSONResponse({"ok": True})

    async def faults(request: Request) -> Response:
        body = await _json(request)
        try:
            rules = parse_faults(str(body.get("spec", "")))
        except FaultSpecError as error:
            return JSONResponse({"error": str(error)}, status_code=400)
        gate.set_faults(rules, seed=body.get("seed"))
        return JSONResponse({"rules": len(rules)})

    async def limits(request: Request) -> Response:
        body = await _json(request)
        known = {f.name for f in fields(gate.limits)}
        unknown = sorted(set(body) - known)
        if unknown:
            return JSONResponse({"error": f"unknown limits {unknown}; known: {sorted(known)}"}, 400)
        for key, value in body.items():
            setattr(gate.limits, key, value)
        gate.reset()
        return JSONResponse({f.name: getattr(gate.limits, f.name) for f in fields(gate.limits)})

    def ids(_: Request) -> Response:
        with org.lock:
            return Response(orjson.dumps(org.id_map()), media_type="application/json")

    async def create_company(request: Request) -> Response:
        body = await _json(request)
        owner = body.get("owner_id")
        if owner is not None and owner not in org.users:
            return JSONResponse({"error": f"unknown owner {owner!r}"}, status_code=404)
        values = {str(k): str(v) for k, v in (body.get("values") or {}).items()}
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
        owner = (await _json(request)).get("owner_id")
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
        values = (await _json(request)).get("values") or {}
        with org.lock:
            company.values.update({str(k): str(v) for k, v in values.items()})
            org.touch(company)
        return JSONResponse({"id": company.key, "updated_at": company.updated_at.isoformat()})

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

    return [
        Route("/stats", stats, methods=["GET"]),
        Route("/reset", reset, methods=["POST"]),
        Route("/faults", faults, methods=["POST"]),
        Route("/limits", limits, methods=["POST"]),
        Route("/ids", ids, methods=["GET"]),
        Route("/companies", create_company, methods=["POST"]),
        Route("/companies/{id}/owner", change_owner, methods=["POST"]),
        Route("/companies/{id}/archive", archive, methods=["POST"]),
        Route("/companies/{id}/values", edit_values, methods=["POST"]),
        Route("/owners/{id}/deactivate", deactivate, methods=["POST"]),
        Route("/salesforce/expire-session", expire_session, methods=["POST"]),
        Route("/salesforce/fields/{name}/{action:str}", salesforce_field, methods=["POST"]),
        Route("/scopes/{scope}/revoke", revoke_scope, methods=["POST"]),
    ]


async def _json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    value = orjson.loads(raw)
    return value if isinstance(value, dict) else {}


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
