"""`GET /crm/v3/owners`: active owners by default, the deactivated only with `archived=true`.

A client that never asks for archived owners cannot see who left, which is the point: it must
ask, as it must against HubSpot.
"""

from __future__ import annotations

from typing import Final

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sandbox.hubspot.portal import Portal
from sandbox.hubspot.values import Json, iso
from sandbox.hubspot.wire import bool_param, int_param, page_after, paging
from sandbox.org import LOADED_AT, User

OWNERS_LIMIT: Final = 500


class OwnerHandlers:
    """The owners listing over one portal's users."""

    def __init__(self, portal: Portal) -> None:
        self.org = portal.org

    def list_owners(self, request: Request, _: Json) -> Response:
        params = request.query_params
        limit = int_param(params, "limit", 100, OWNERS_LIMIT)
        archived = bool_param(params, "archived")
        email = (params.get("email") or "").lower()
        owners = sorted(
            (
                u
                for u in self.org.users.values()
                if u.active != archived and (not email or u.email == email)
            ),
            key=lambda u: int(u.hubspot_id),
        )
        window, after = page_after([int(u.hubspot_id) for u in owners], params.get("after"), limit)
        results = [_owner_json(u) for u in owners[window]]
        return JSONResponse({"results": results, **paging(request, after)})


def _owner_json(user: User) -> Json:
    """An owner as `GET /crm/v3/owners` shows it: a queue has no user; a deactivated owner
    keeps only `userIdIncludingInactive`."""
    body: Json = {
        "id": user.hubspot_id,
        "email": user.email,
        "firstName": user.first_name,
        "lastName": user.last_name,
        "createdAt": iso(LOADED_AT),
        "updatedAt": iso(user.updated_at),
        "archived": not user.active,
        "teams": [],
        "type": user.kind,
    }
    if user.kind == "PERSON":
        body["userIdIncludingInactive"] = int(user.hubspot_user_id)
        if user.active:
            body["userId"] = int(user.hubspot_user_id)
    return body
