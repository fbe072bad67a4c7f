"""Every HubSpot endpoint the sandbox serves, in one table, and the guard around each handler.

The table is the one place that names endpoints: tests and benchmarks count requests by these
gate names (`hubspot.<name>`), so a name here is part of the sandbox's interface.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sandbox.gate import Kind
from sandbox.hubspot.account import AccountHandlers
from sandbox.hubspot.activities import ACTIVITY_OBJECTS, ActivityHandlers
from sandbox.hubspot.associations import AssociationHandlers
from sandbox.hubspot.companies import CompanyHandlers
from sandbox.hubspot.errors import RefusedError, missing_scope, unauthenticated
from sandbox.hubspot.notes import NoteHandlers
from sandbox.hubspot.owners import OwnerHandlers
from sandbox.hubspot.portal import Portal
from sandbox.hubspot.properties import PropertyHandlers
from sandbox.hubspot.search import CompanySearch
from sandbox.hubspot.values import Json
from sandbox.hubspot.wire import read_json
from sandbox.state import Sandbox

Handler = Callable[[Request, Json], Response]  # the request and its JSON body ({} for a GET)

READ: Final = "read"
SEARCH: Final = "search"
WRITE: Final = "write"
CREATE: Final = "create"
COMPANIES_READ = "crm.objects.companies.read"
COMPANIES_WRITE = "crm.objects.companies.write"
SCHEMAS_READ = "crm.schemas.companies.read"
SCHEMAS_WRITE = "crm.schemas.companies.write"
OWNERS_READ = "crm.objects.owners.read"
NOTES_READ = "crm.objects.notes.read"
NOTES_WRITE = "crm.objects.notes.write"


def routes(sandbox: Sandbox) -> list[BaseRoute]:
    """The HubSpot API's routes, served at the root of the sandbox's HTTP server."""
    portal = Portal(sandbox)
    companies, search = CompanyHandlers(portal), CompanySearch(portal)
    owners, notes = OwnerHandlers(portal), NoteHandlers(portal)
    associations, properties = AssociationHandlers(portal), PropertyHandlers(portal)
    activities = ActivityHandlers(portal)
    account = AccountHandlers(portal)
    c, n = "/crm/v3/objects/companies", "/crm/v3/objects/notes"
    p = "/crm/v3/properties/companies"
    a = "/crm/v4/associations/{fromObjectType}/{toObjectType}"
    # One row per endpoint: (method and path, gate name, kind, scope, handler). Order matters:
    # Starlette takes the first route that matches, so fixed paths precede templated ones.
    # fmt: off
    table: list[tuple[str, str, Kind, str | None, Handler]] = [
        (f"GET {c}", "companies.list", READ, COMPANIES_READ, companies.list_companies),
        (f"POST {c}/search", "companies.search", SEARCH, COMPANIES_READ, search.search_companies),
        (f"POST {c}/batch/read", "companies.batch_read", READ, COMPANIES_READ,
         companies.batch_read_companies),
        (f"POST {c}/batch/update", "companies.batch_update", WRITE, COMPANIES_WRITE,
         companies.batch_update_companies),
        (f"GET {c}/{{companyId}}", "companies.get", READ, COMPANIES_READ, companies.get_company),
        (f"PATCH {c}/{{companyId}}", "companies.update", WRITE, COMPANIES_WRITE,
         companies.update_company),
        ("GET /crm/v3/owners", "owners.list", READ, OWNERS_READ, owners.list_owners),
        ("GET /crm/v3/owners/", "owners.list", READ, OWNERS_READ, owners.list_owners),
        (f"POST {n}", "notes.create", CREATE, NOTES_WRITE, notes.create_note),
        (f"POST {n}/batch/create", "notes.batch_create", CREATE, NOTES_WRITE,
         notes.batch_create_notes),
        (f"POST {n}/batch/read", "notes.batch_read", READ, NOTES_READ, notes.batch_read_notes),
        (f"POST {a}/batch/read", "associations.batch_read", READ, COMPANIES_READ,
         associations.batch_read_associations),
        (f"GET {p}", "properties.read", READ, SCHEMAS_READ, properties.list_properties),
        (f"POST {p}", "properties.create", CREATE, SCHEMAS_WRITE, properties.create_property),
        (f"GET {p}/groups", "properties.groups.read", READ, SCHEMAS_READ, properties.list_groups),
        (f"POST {p}/groups", "properties.groups.create", CREATE, SCHEMAS_WRITE,
         properties.create_group),
        (f"GET {p}/{{propertyName}}", "properties.read", READ, SCHEMAS_READ,
         properties.get_property),
        # Any valid token may read its own account's details (no scope beyond the token).
        ("GET /account-info/v3/details", "account.details", READ, None, account.details),
    ]
    # fmt: on
    for objects in ACTIVITY_OBJECTS:
        path = f"/crm/v3/objects/{objects}"
        listing = functools.partial(activities.list_activities, objects)
        reading = functools.partial(activities.batch_read_activities, objects)
        searching = functools.partial(activities.search_activities, objects)
        table.append((f"GET {path}", f"{objects}.list", READ, None, listing))
        table.append((f"POST {path}/batch/read", f"{objects}.batch_read", READ, None, reading))
        table.append((f"POST {path}/search", f"{objects}.search", SEARCH, None, searching))
    return [
        guarded_route(sandbox, endpoint, f"hubspot.{name}", kind, scope, handler)
        for endpoint, name, kind, scope, handler in table
    ]


def guarded_route(
    sandbox: Sandbox,
    endpoint: str,
    name: str,
    kind: Kind,
    scope: str | None,
    handler: Handler,
) -> Route:
    """Auth, scope check and refusals around `handler`, behind the gate as `name`."""

    def guarded(request: Request) -> Response:
        if not sandbox.hubspot_authorized(request.headers.get("authorization")):
            return unauthenticated()
        if scope is not None and scope not in sandbox.scopes:
            return missing_scope(scope)
        try:
            # The body is read before the org is locked: reading it needs the event loop,
            # which may itself be waiting for the lock (the gate counts under it).
            body = read_json(request) if request.method in {"POST", "PATCH"} else {}
            with sandbox.org.lock:
                return handler(request, body)
        except RefusedError as refused:
            return refused.response

    guarded.__name__ = name.replace(".", "_")
    gated = sandbox.gate.endpoint(name, api="hubspot", kind=kind)(guarded)
    method, path = endpoint.split(" ", 1)
    return Route(path, gated, methods=[method])
