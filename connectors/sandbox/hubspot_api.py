"""The HubSpot API subset the sandbox serves: CRM v3 objects, search, batch, owners, properties,
notes and v4 associations, with HubSpot's paging, limits, error bodies and value formats.

It is faithful rather than convenient, so a client that works here has met the awkward parts of
the real API: cursors that must be followed to the end, a search that caps at `search_cap`
results and lags behind edits, batch writes that answer 207 per record or refuse the whole batch
for one bad input, owners that vanish from the default listing when deactivated, and 401/403
bodies that name what is missing.

Value formats (clients must parse all of them):
- Every property value is a string or null. An empty value is null on records with an even id
  and "" on odd ids: HubSpot sends both, so a client has to treat them alike.
- Datetime properties (`createdate`, `hs_lastmodifieddate`, `notes_last_contacted`,
  `notes_last_updated`, `hs_timestamp`): ISO 8601 UTC with milliseconds,
  `2026-01-05T09:00:00.000Z`. `hs_last_sales_activity_timestamp` comes as epoch milliseconds
  (`1767603600000`), as some HubSpot timestamps do.
- Date properties (`last_<signal>_date`, custom `date` properties): `YYYY-MM-DD`.
- `hubspot_owner_id` holds the owner's `id` (never its `userId`); `hs_parent_company_id` the
  parent's company id.

Simplifications, each chosen so that a client cannot come to depend on them:
- Search lag: a company whose latest edit is not yet indexed (`searchable_at` in the future) is
  left out of search results entirely, instead of being served in its previous state.
- Built-in enumerations (industry, lifecycle stage) accept any value; custom properties are
  validated by type. An owner id is valid only for an active owner.
- Activity objects (calls, emails, meetings, tasks) need no scope of their own.
- Notes do not bump their company's `hs_lastmodifieddate`.
"""

from __future__ import annotations

import bisect
import functools
import re
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, date, datetime
from typing import Any, Final, TypeVar

import anyio.from_thread
import orjson
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from connectors.sandbox.gate import Kind
from connectors.sandbox.org import (
    HUBSPOT_PROPERTIES,
    LOADED_AT,
    SIGNAL_PREFIX,
    ActivityRecord,
    Company,
    NoteRecord,
    User,
    hubspot_property_for_signal,
)
from connectors.sandbox.state import Sandbox

Json = dict[str, Any]
T = TypeVar("T")
Handler = Callable[[Request, Json], Response]  # the request and its JSON body ({} for a GET)

LIST_LIMIT: Final = 100
SEARCH_LIMIT: Final = 200
BATCH_LIMIT: Final = 100
OWNERS_LIMIT: Final = 500
ASSOCIATIONS_BATCH_LIMIT: Final = 1000
ASSOCIATIONS_PER_OBJECT: Final = 500
NOTE_BODY_LIMIT: Final = 65_536
MAX_FILTER_GROUPS: Final = 5
MAX_FILTERS_PER_GROUP: Final = 6
ACTIVITY_OBJECTS: Final = {
    "calls": "call",
    "emails": "email",
    "meetings": "meeting",
    "tasks": "task",
}
ACTIVITY_BODY: Final = {
    "calls": "hs_call_body",
    "emails": "hs_email_text",
    "meetings": "hs_meeting_body",
    "tasks": "hs_task_body",
}
# HubSpot-defined association type ids, by (from object, to object).
ASSOCIATION_TYPES: Final = {
    ("companies", "notes"): 189,
    ("notes", "companies"): 190,
    ("companies", "calls"): 181,
    ("calls", "companies"): 182,
    ("companies", "emails"): 185,
    ("emails", "companies"): 186,
    ("companies", "meetings"): 187,
    ("meetings", "companies"): 188,
    ("companies", "tasks"): 191,
    ("tasks", "companies"): 192,
}
ALWAYS_RETURNED: Final = ("createdate", "hs_lastmodifieddate", "hs_object_id")
ENGAGEMENT_ALWAYS_RETURNED: Final = ("hs_createdate", "hs_lastmodifieddate", "hs_object_id")
DEFAULT_COMPANY_PROPERTIES: Final = ("createdate", "domain", "hs_lastmodifieddate", "name")
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

_AUTH_MESSAGE: Final = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you "
    "can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)
_SCOPES_MESSAGE: Final = (
    "This app hasn't been granted all required scopes to make this call. Read more about "
    "required scopes here: https://developers.hubspot.com/scopes."
)
_NOT_FOUND_MESSAGE: Final = (
    "Could not get some {kind} objects, they may be deleted or not exist. Check that ids are valid."
)
_PROPERTY_NAME: Final = re.compile(r"^[a-z][a-z0-9_]*$")
_FIELD_TYPES: Final = {
    "string": {"text", "textarea", "html", "phonenumber", "file"},
    "number": {"number", "calculation_equation"},
    "date": {"date"},
    "datetime": {"date"},
    "enumeration": {"select", "radio", "checkbox", "booleancheckbox"},
    "bool": {"booleancheckbox"},
}


# ---- errors ---------------------------------------------------------------------------------


class RefusedError(Exception):
    """Raised by a handler to answer with HubSpot's error body instead of a result."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def error_response(status: int, category: str, message: str, **extra: object) -> JSONResponse:
    """HubSpot's error body: status, message, correlationId, category (+ context, errors…)."""
    body = {
        "status": "error",
        "message": message,
        "correlationId": str(uuid.uuid4()),
        "category": category,
        **extra,
    }
    return JSONResponse(body, status_code=status)


def bad_request(message: str, **extra: object) -> RefusedError:
    return RefusedError(error_response(400, "VALIDATION_ERROR", message, **extra))


def invalid_properties(problems: list[Json]) -> RefusedError:
    """The 400 a write gets when any input has an invalid property value (nothing applied)."""
    detail = orjson.dumps(problems).decode()
    return bad_request(f"Property values were not valid: {detail}")


def property_problem(name: str, code: str, message: str) -> Json:
    return {
        "isValid": False,
        "message": message,
        "error": code,
        "name": name,
        "localizedErrorMessage": message,
    }


def batch_error(category: str, message: str, context: Mapping[str, list[str]]) -> Json:
    """One entry of a 207's `errors` (HubSpot groups the records that failed alike)."""
    return {
        "status": "error",
        "category": category,
        "message": message,
        "context": dict(context),
        "errors": [],
        "links": {},
    }


# ---- formats ----------------------------------------------------------------------------------


def iso(moment: datetime) -> str:
    """`2026-01-05T09:00:00.000Z`: HubSpot's datetime format."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def parse_moment(raw: str) -> datetime | None:
    """ISO text (date or date-time) or epoch milliseconds; None when it is neither."""
    text = raw.strip()
    if not text:
        return None
    if text.isdigit():
        return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def empty_value(record_id: str) -> str | None:
    """HubSpot sends empty values as null or "": here by id parity, so runs are repeatable."""
    return None if int(record_id) % 2 == 0 else ""


def read_json(request: Request) -> Json:
    """The request's JSON object (handlers run in a worker thread; the body is async)."""
    raw = anyio.from_thread.run(request.body)
    try:
        value = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError as exc:
        raise bad_request(f"Invalid input JSON on line 1, column {exc.pos + 1}") from None
    if not isinstance(value, dict):
        raise bad_request("Invalid input JSON: expected an object")
    return value


def int_param(params: QueryParams, name: str, default: int, maximum: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise bad_request(f"{name} must be an integer between 1 and {maximum}, got {raw!r}")
    return int(raw)


def bool_param(params: QueryParams, name: str) -> bool:
    return (params.get(name) or "false").lower() == "true"


def names_param(params: QueryParams, name: str) -> list[str] | None:
    """`properties=a,b` and `properties=a&properties=b` alike; None when absent."""
    values = params.getlist(name)
    if not values:
        return None
    return [n for v in values for n in (p.strip() for p in v.split(",")) if n]


def input_ids(body: Json, limit: int) -> list[str]:
    inputs = body.get("inputs")
    if not isinstance(inputs, list):
        raise bad_request("inputs: expected an array")
    if len(inputs) > limit:
        raise bad_request(f"Batch input limit exceeded: {len(inputs)} inputs, at most {limit}")
    return [str(i.get("id", "")) if isinstance(i, dict) else "" for i in inputs]


def page_after(keys: list[int], after: str | None, limit: int) -> tuple[slice, str | None]:
    """The page of `keys` (sorted ids) starting at cursor `after`, and the next cursor."""
    if after is not None and not after.isdigit():
        raise bad_request(f"after: {after!r} is not a valid paging cursor")
    start = bisect.bisect_left(keys, int(after)) if after else 0
    end = start + limit
    return slice(start, end), str(keys[end]) if end < len(keys) else None


def paging(request: Request, after: str | None) -> Json:
    if after is None:
        return {}
    link = str(request.url.include_query_params(after=after))
    return {"paging": {"next": {"after": after, "link": link}}}


def batch_response(results: list[Json], errors: list[Json], *, ok_status: int = 200) -> Response:
    """200/201 with every result, or 207 with `errors` and `numErrors` beside them."""
    now = iso(datetime.now(UTC))
    body: Json = {"status": "COMPLETE", "results": results, "startedAt": now, "completedAt": now}
    if not errors:
        return JSONResponse(body, status_code=ok_status)
    body.update(numErrors=len(errors), errors=errors)
    return JSONResponse(body, status_code=207)


def record_json(
    record_id: str,
    names: Iterable[str],
    value_of: Callable[[str], str | None],
    *,
    created: datetime,
    updated: datetime,
    archived: bool = False,
) -> Json:
    """One CRM object as v3 answers it: the named properties it has (unknown names are
    ignored, as HubSpot does), empty ones as null or "" by id parity."""
    properties: dict[str, str | None] = {}
    for name in dict.fromkeys(names):
        value = value_of(name)
        if value is not None:
            properties[name] = value or empty_value(record_id)
    body: Json = {
        "id": record_id,
        "properties": properties,
        "createdAt": iso(created),
        "updatedAt": iso(updated),
        "archived": archived,
    }
    if archived:
        body["archivedAt"] = iso(updated)
    return body


def batch_read_response(
    ids: list[str], found: Mapping[str, T], render: Callable[[T], Json], kind: str
) -> Response:
    """A batch read's answer: the records found, and one OBJECT_NOT_FOUND naming the rest."""
    unique = list(dict.fromkeys(ids))
    missing = [i for i in unique if i not in found]
    message = _NOT_FOUND_MESSAGE.format(kind=kind)
    errors = [batch_error("OBJECT_NOT_FOUND", message, {"ids": missing})] if missing else []
    return batch_response([render(found[i]) for i in unique if i in found], errors)


# ---- the property catalogue -------------------------------------------------------------------


def property_definition(
    name: str,
    label: str,
    kind: str,
    field_type: str,
    *,
    group: str = "companyinformation",
    read_only: bool = False,
    hubspot_defined: bool = True,
    options: list[Json] | None = None,
    description: str = "",
) -> Json:
    stamp = iso(LOADED_AT)
    return {
        "name": name,
        "label": label,
        "type": kind,
        "fieldType": field_type,
        "groupName": group,
        "description": description,
        "options": options or [],
        "displayOrder": -1,
        "calculated": False,
        "externalOptions": False,
        "hasUniqueValue": False,
        "hidden": False,
        "hubspotDefined": hubspot_defined,
        "formField": not read_only,
        "modificationMetadata": {
            "archivable": not hubspot_defined,
            "readOnlyDefinition": hubspot_defined,
            "readOnlyValue": read_only,
        },
        "createdAt": stamp,
        "updatedAt": stamp,
        "archived": False,
    }


_BUILTIN: Final = (
    ("name", "Name", "string", "text", False),
    ("domain", "Company Domain Name", "string", "text", False),
    ("industry", "Industry", "enumeration", "select", False),
    ("numberofemployees", "Number of Employees", "number", "number", False),
    ("annualrevenue", "Annual Revenue", "number", "number", False),
    ("country", "Country/Region", "string", "text", False),
    ("lifecyclestage", "Lifecycle Stage", "enumeration", "radio", False),
    ("hubspot_owner_id", "Company owner", "enumeration", "select", False),
    ("hs_parent_company_id", "Parent Company", "number", "number", True),
    ("hs_object_id", "Record ID", "number", "number", True),
    ("createdate", "Create Date", "datetime", "date", True),
    ("hs_lastmodifieddate", "Last Modified Date", "datetime", "date", True),
    ("notes_last_contacted", "Last Contacted", "datetime", "date", True),
    ("notes_last_updated", "Last Activity Date", "datetime", "date", True),
    ("hs_last_sales_activity_timestamp", "Last Engagement Date", "datetime", "date", True),
)
_BUILTIN_GROUPS: Final = {
    "companyinformation": "Company information",
    "sales_properties": "Sales properties",
}
_COLUMN_BY_PROPERTY: Final = {prop: column for column, prop in HUBSPOT_PROPERTIES.items()}


def builtin_properties(signals: Iterable[str]) -> dict[str, Json]:
    """The company properties every sandbox portal has (signal dates are the sample's own)."""
    found = {
        name: property_definition(name, label, kind, field, read_only=read_only)
        for name, label, kind, field, read_only in _BUILTIN
    }
    for signal in signals:
        name = hubspot_property_for_signal(signal)
        label = f"Last {signal.replace('_', ' ')} date"
        found[name] = property_definition(name, label, "date", "date", hubspot_defined=False)
    return found


def value_problem(definition: Json, value: str) -> str | None:
    """The HubSpot error code for writing `value` to a property of this definition, if any."""
    if value == "":
        return None
    kind = definition["type"]
    if kind == "number":
        try:
            float(value)
        except ValueError:
            return "INVALID_NUMBER"
    elif kind == "date" and not _is_date(value):
        return "INVALID_DATE"
    elif kind == "datetime" and parse_moment(value) is None:
        return "INVALID_DATETIME"
    elif kind == "bool" and value not in {"true", "false"}:
        return "INVALID_OPTION"
    elif kind == "enumeration" and definition["options"]:
        if value not in {o["value"] for o in definition["options"]}:
            return "INVALID_OPTION"
    elif len(value) > NOTE_BODY_LIMIT:
        return "VALUE_TOO_LONG"
    return None


def _is_date(value: str) -> bool:
    """`YYYY-MM-DD`, or epoch milliseconds at midnight UTC, as HubSpot's date properties take."""
    if value.isdigit():
        return int(value) % 86_400_000 == 0
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10


# ---- the API ---------------------------------------------------------------------------------


class HubSpotApi:
    """Handlers over one sandbox's org. Every handler runs with the org locked."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.org = sandbox.org
        self.groups: dict[str, str] = dict(_BUILTIN_GROUPS)
        self._ids: list[int] = []
        self._builtin = builtin_properties(self.org.signals)
        self._activities: dict[str, list[ActivityRecord]] = {}
        self._activities_seen = -1
        # Properties HubSpot derives from the record rather than storing as typed.
        self._derived: dict[str, Callable[[Company], str]] = {
            "hs_object_id": lambda c: c.hubspot_id,
            "createdate": lambda c: iso(c.created_at),
            "hs_lastmodifieddate": lambda c: iso(c.updated_at),
            "hubspot_owner_id": self.owner_id_of,
            "hs_parent_company_id": self.parent_id_of,
            "notes_last_contacted": lambda c: _activity_value(c, iso),
            "hs_last_sales_activity_timestamp": lambda c: _activity_value(c, _ms_text),
            "notes_last_updated": self.notes_updated_of,
        }

    # ---- plumbing ---------------------------------------------------------------------------

    def route(
        self,
        endpoint: str,
        name: str,
        kind: Kind,
        scope: str | None,
        handler: Handler,
    ) -> Route:
        """Auth, scope check and refusals around `handler`, behind the gate as `name`."""

        def guarded(request: Request) -> Response:
            if not self.sandbox.hubspot_authorized(request.headers.get("authorization")):
                return error_response(401, "INVALID_AUTHENTICATION", _AUTH_MESSAGE)
            if scope is not None and scope not in self.sandbox.scopes:
                return self.missing_scope(scope)
            try:
                # The body is read before the org is locked: reading it needs the event loop,
                # which may itself be waiting for the lock (the gate counts under it).
                body = read_json(request) if request.method in {"POST", "PATCH"} else {}
                with self.org.lock:
                    return handler(request, body)
            except RefusedError as refused:
                return refused.response

        guarded.__name__ = name.replace(".", "_")
        gated = self.sandbox.gate.endpoint(name, api="hubspot", kind=kind)(guarded)
        method, path = endpoint.split(" ", 1)
        return Route(path, gated, methods=[method])

    @staticmethod
    def missing_scope(scope: str) -> Response:
        return error_response(
            403,
            "MISSING_SCOPES",
            _SCOPES_MESSAGE,
            errors=[
                {
                    "message": "One or more of the following scopes are required.",
                    "context": {"requiredGranularScopes": [scope]},
                }
            ],
            links={"scopes": "https://developers.hubspot.com/scopes"},
        )

    def company_ids(self) -> list[int]:
        """Every company id, sorted (cached until a company is added)."""
        if len(self._ids) != len(self.org.by_hubspot):
            self._ids = sorted(int(i) for i in self.org.by_hubspot)
        return self._ids

    def companies_where(self, *, archived: bool) -> list[Company]:
        by_id = self.org.by_hubspot
        found = (by_id[str(i)] for i in self.company_ids())
        return [c for c in found if c.archived == archived]

    def catalogue(self) -> dict[str, Json]:
        return {**self._builtin, **self.sandbox.custom_properties}

    # ---- company values ---------------------------------------------------------------------

    def company_value(self, company: Company, name: str) -> str | None:
        """Property `name` of `company` as HubSpot stores it ("" when empty)."""
        column = _COLUMN_BY_PROPERTY.get(name)
        if column is not None:
            return company.values.get(column, "")
        derive = self._derived.get(name)
        if derive is not None:
            return derive(company)
        if name.startswith("last_") and name.endswith("_date"):
            signal = name[len("last_") : -len("_date")]
            if signal in self.org.signals:
                return company.values.get(SIGNAL_PREFIX + signal, "")
        if name in self.sandbox.custom_properties:
            return company.territory.get(name, "")
        return None

    def owner_id_of(self, company: Company) -> str:
        user = self.org.owner_user(company)
        return user.hubspot_id if user else ""

    def parent_id_of(self, company: Company) -> str:
        parent = self.org.companies.get(company.parent_key or "")
        return parent.hubspot_id if parent else ""

    def notes_updated_of(self, company: Company) -> str:
        stamps = [n.created_at for n in self.org.notes.values() if company.key in n.account_keys]
        return iso(max(stamps)) if stamps else ""

    def company_json(self, company: Company, names: Iterable[str] | None) -> Json:
        wanted = DEFAULT_COMPANY_PROPERTIES if names is None else names
        return record_json(
            company.hubspot_id,
            (*wanted, *ALWAYS_RETURNED),
            lambda name: self.company_value(company, name),
            created=company.created_at,
            updated=company.updated_at,
            archived=company.archived,
        )

    def live_company(self, record_id: str) -> Company | None:
        company = self.org.by_hubspot.get(record_id)
        return company if company is not None and not company.archived else None

    # ---- companies: reads -------------------------------------------------------------------

    def list_companies(self, request: Request, _: Json) -> Response:
        params = request.query_params
        limit = int_param(params, "limit", 10, LIST_LIMIT)
        companies = self.companies_where(archived=bool_param(params, "archived"))
        keys = [int(c.hubspot_id) for c in companies]
        window, after = page_after(keys, params.get("after"), limit)
        names = names_param(params, "properties")
        results = [self.company_json(c, names) for c in companies[window]]
        return JSONResponse({"results": results, **paging(request, after)})

    def get_company(self, request: Request, _: Json) -> Response:
        company = self.org.by_hubspot.get(request.path_params["companyId"])
        archived = bool_param(request.query_params, "archived")
        if company is None or company.archived != archived:
            return error_response(404, "OBJECT_NOT_FOUND", "resource not found")
        names = names_param(request.query_params, "properties")
        return JSONResponse(self.company_json(company, names))

    def batch_read_companies(self, request: Request, body: Json) -> Response:
        ids = input_ids(body, BATCH_LIMIT)
        archived = bool_param(request.query_params, "archived")
        found = self._companies_by(body.get("idProperty"), ids, archived=archived)
        names = body.get("properties") or None
        return batch_read_response(ids, found, lambda c: self.company_json(c, names), "COMPANY")

    def _companies_by(
        self, id_property: object, ids: list[str], *, archived: bool
    ) -> dict[str, Company]:
        """Input id -> company, by record id or by the value of a unique `idProperty`."""
        if id_property in {None, "", "hs_object_id"}:
            found = {i: self.org.by_hubspot.get(i) for i in ids}
        else:
            name = str(id_property)
            wanted = set(ids)
            found = {}
            for company in self.companies_where(archived=archived):
                value = self.company_value(company, name)
                if value in wanted:
                    found[value] = company
        return {i: c for i, c in found.items() if c is not None and c.archived == archived}

    def search_companies(self, request: Request, body: Json) -> Response:
        limit = body.get("limit", 10)
        if not isinstance(limit, int) or not 1 <= limit <= SEARCH_LIMIT:
            raise bad_request(f"limit must be between 1 and {SEARCH_LIMIT}")
        offset = _offset(body.get("after"))
        cap = self.sandbox.gate.limits.search_cap
        if offset >= cap:
            raise bad_request(
                "There was a problem with the request.", context={"after": [str(offset)]}
            )
        catalogue = self.catalogue()
        matches = Search(catalogue, body).run(self.searchable_companies(), self.company_value)
        page = matches[offset : min(offset + limit, cap)]
        end = offset + len(page)
        reply: Json = {
            "total": len(matches),
            "results": [self.company_json(c, body.get("properties") or None) for c in page],
        }
        if end < len(matches):
            reply["paging"] = {"next": {"after": str(end)}}
        return JSONResponse(reply)

    def searchable_companies(self) -> Iterator[Company]:
        """Live companies whose latest edit the search index has caught up with."""
        now = datetime.now(UTC)
        return (c for c in self.companies_where(archived=False) if c.searchable_at <= now)

    # ---- companies: writes ------------------------------------------------------------------

    def batch_update_companies(self, request: Request, body: Json) -> Response:
        ids = input_ids(body, BATCH_LIMIT)
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise bad_request(f"Duplicate IDs found in batch input: {duplicates}")
        changes = [_properties_of(i) for i in body["inputs"]]
        self.validate_changes(changes)
        results: list[Json] = []
        missing: list[str] = []
        failed: list[str] = []
        rate = self.sandbox.gate.partial_rate("hubspot.companies.batch_update")
        for record_id, change in zip(ids, changes, strict=True):
            company = self.live_company(record_id)
            if company is None:
                missing.append(record_id)
            elif self.sandbox.gate.chance(rate):
                failed.append(record_id)
            else:
                self.apply(company, change)
                results.append(self.company_json(company, change))
        errors = []
        if missing:
            message = _NOT_FOUND_MESSAGE.format(kind="COMPANY")
            errors.append(batch_error("OBJECT_NOT_FOUND", message, {"ids": missing}))
        if failed:
            message = "An internal error occurred while updating these records; try again."
            errors.append(batch_error("INTERNAL_ERROR", message, {"ids": failed}))
        return batch_response(results, errors)

    def update_company(self, request: Request, body: Json) -> Response:
        change = _properties_of(body)
        company = self.live_company(request.path_params["companyId"])
        if company is None:
            return error_response(404, "OBJECT_NOT_FOUND", "resource not found")
        self.validate_changes([change])
        self.apply(company, change)
        return JSONResponse(self.company_json(company, change))

    def validate_changes(self, changes: list[dict[str, str]]) -> None:
        """Refuse the whole request (400) when any input has an invalid value: HubSpot applies
        nothing then, and does not say which input it was."""
        catalogue = self.catalogue()
        for change in changes:
            problems = [p for n, v in change.items() if (p := self.problem(catalogue, n, v))]
            if problems:
                raise invalid_properties(problems)

    def problem(self, catalogue: Mapping[str, Json], name: str, value: str) -> Json | None:
        definition = catalogue.get(name)
        if definition is None:
            return property_problem(
                name, "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist'
            )
        if definition["modificationMetadata"]["readOnlyValue"]:
            return property_problem(name, "READ_ONLY_VALUE", f"{name} is a read only property")
        if name == "hubspot_owner_id":
            owner = self.org.users_by_hubspot.get(value)
            if value and (owner is None or not owner.active):
                message = f"{value} is not a valid owner id"
                return property_problem(name, "INVALID_OWNER_ID", message)
            return None
        code = value_problem(definition, value)
        if code is not None:
            return property_problem(name, code, f"{value!r} is not a valid value for {name}")
        return None

    def apply(self, company: Company, change: Mapping[str, str]) -> None:
        for name, value in change.items():
            column = _COLUMN_BY_PROPERTY.get(name)
            if column is not None:
                company.values[column] = value
            elif name in self.sandbox.custom_properties:
                company.territory[name] = value
            elif name != "hubspot_owner_id":  # a signal date
                signal = name[len("last_") : -len("_date")]
                company.values[SIGNAL_PREFIX + signal] = value
        if "hubspot_owner_id" in change:
            owner = self.org.users_by_hubspot.get(change["hubspot_owner_id"])
            self.org.set_owner(company, owner.key if owner else None)
        else:
            self.org.touch(company)

    # ---- owners -----------------------------------------------------------------------------

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

    # ---- notes ------------------------------------------------------------------------------

    def create_note(self, request: Request, body: Json) -> Response:
        properties, targets = self.note_input(body)
        note = self.add_note(properties, targets)
        return JSONResponse(self.note_json(note, None), status_code=201)

    def batch_create_notes(self, request: Request, body: Json) -> Response:
        input_ids(body, BATCH_LIMIT)
        inputs = [i if isinstance(i, dict) else {} for i in body["inputs"]]
        # Validation is all or nothing: one bad input refuses the batch.
        checked = [self.note_input(i) for i in inputs]
        traces = [str(i.get("objectWriteTraceId") or "") for i in inputs]
        # Per-record failure is only possible when every input carries a trace id that
        # the error can name (HubSpot's opt-in to partial success).
        rate = self.sandbox.gate.partial_rate("hubspot.notes.batch_create") if all(traces) else 0
        results: list[Json] = []
        failed: list[str] = []
        for (properties, targets), trace in zip(checked, traces, strict=True):
            if self.sandbox.gate.chance(rate):
                failed.append(trace)
                continue
            results.append(self.note_json(self.add_note(properties, targets), None, trace))
        errors = []
        if failed:
            message = "An internal error occurred while creating these records; try again."
            errors.append(batch_error("INTERNAL_ERROR", message, {"objectWriteTraceId": failed}))
        return batch_response(results, errors, ok_status=201)

    def note_input(self, body: Json) -> tuple[dict[str, str], list[Company]]:
        """Validate one note create input; return its properties and the companies it joins."""
        properties = _properties_of(body)
        problems = []
        if not properties.get("hs_timestamp"):
            message = "hs_timestamp is required"
            problems.append(property_problem("hs_timestamp", "REQUIRED", message))
        elif parse_moment(properties["hs_timestamp"]) is None:
            message = f"{properties['hs_timestamp']!r} is not a valid datetime"
            problems.append(property_problem("hs_timestamp", "INVALID_DATETIME", message))
        if len(properties.get("hs_note_body", "")) > NOTE_BODY_LIMIT:
            message = f"hs_note_body is longer than {NOTE_BODY_LIMIT} characters"
            problems.append(property_problem("hs_note_body", "VALUE_TOO_LONG", message))
        owner = properties.get("hubspot_owner_id", "")
        if owner and owner not in self.org.users_by_hubspot:
            message = f"{owner} is not a valid owner id"
            problems.append(property_problem("hubspot_owner_id", "INVALID_OWNER_ID", message))
        if problems:
            raise invalid_properties(problems)
        return properties, [self.association_target(a) for a in body.get("associations") or []]

    def association_target(self, association: object) -> Company:
        spec = association if isinstance(association, dict) else {}
        record_id = str((spec.get("to") or {}).get("id", ""))
        for kind in spec.get("types") or [{}]:
            category, type_id = kind.get("associationCategory"), kind.get("associationTypeId")
            if category != "HUBSPOT_DEFINED" or type_id != ASSOCIATION_TYPES["notes", "companies"]:
                raise bad_request(
                    f"association type {category}/{type_id} is not valid from note to company "
                    f"(HUBSPOT_DEFINED/{ASSOCIATION_TYPES['notes', 'companies']} is)"
                )
        company = self.live_company(record_id)
        if company is None:
            raise bad_request("One or more associations are invalid", context={"ids": [record_id]})
        return company

    def add_note(self, properties: Mapping[str, str], targets: list[Company]) -> NoteRecord:
        owner = self.org.users_by_hubspot.get(properties.get("hubspot_owner_id", ""))
        return self.org.add_note(
            body=properties.get("hs_note_body", ""),
            title="",
            timestamp=properties["hs_timestamp"],
            owner_key=owner.key if owner else None,
            account_keys=list(dict.fromkeys(c.key for c in targets)),
        )

    def note_json(self, note: NoteRecord, names: Iterable[str] | None, trace: str = "") -> Json:
        owner = self.org.users.get(note.owner_key or "")
        values = {
            "hs_object_id": note.hubspot_id,
            "hs_note_body": note.body,
            "hs_timestamp": _moment_text(note.timestamp),
            "hubspot_owner_id": owner.hubspot_id if owner else "",
            "hs_createdate": iso(note.created_at),
            "hs_lastmodifieddate": iso(note.created_at),
        }
        body = record_json(
            note.hubspot_id,
            (*ENGAGEMENT_ALWAYS_RETURNED, *(names or ())),
            values.get,
            created=note.created_at,
            updated=note.created_at,
        )
        if trace:
            body["objectWriteTraceId"] = trace
        return body

    def batch_read_notes(self, request: Request, body: Json) -> Response:
        names = body.get("properties") or None
        ids = input_ids(body, BATCH_LIMIT)
        return batch_read_response(ids, self.org.notes, lambda n: self.note_json(n, names), "NOTE")

    # ---- activities -------------------------------------------------------------------------

    def activities(self, objects: str) -> list[ActivityRecord]:
        """Activities of one type in id order (cached until activities are added)."""
        if self._activities_seen != len(self.org.activities):
            self._activities = {name: [] for name in ACTIVITY_OBJECTS}
            objects_of = {kind: name for name, kind in ACTIVITY_OBJECTS.items()}
            for record in sorted(self.org.activities, key=lambda a: int(a.hubspot_id)):
                self._activities[objects_of[record.kind]].append(record)
            self._activities_seen = len(self.org.activities)
        return self._activities[objects]

    def activity_json(self, objects: str, record: ActivityRecord, names: Iterable[str]) -> Json:
        owner = self.org.users.get(record.owner_key or "")
        values = {
            "hs_object_id": record.hubspot_id,
            "hs_timestamp": _moment_text(record.occurred_at),
            "hubspot_owner_id": owner.hubspot_id if owner else "",
            ACTIVITY_BODY[objects]: "",
            "hs_createdate": iso(LOADED_AT),
            "hs_lastmodifieddate": iso(LOADED_AT),
        }
        return record_json(
            record.hubspot_id,
            (*ENGAGEMENT_ALWAYS_RETURNED, *names),
            values.get,
            created=LOADED_AT,
            updated=LOADED_AT,
        )

    def list_activities(self, objects: str, request: Request, _: Json) -> Response:
        params = request.query_params
        limit = int_param(params, "limit", 10, LIST_LIMIT)
        records = [] if bool_param(params, "archived") else self.activities(objects)
        keys = [int(a.hubspot_id) for a in records]
        window, after = page_after(keys, params.get("after"), limit)
        names = names_param(params, "properties") or ()
        results = [self.activity_json(objects, a, names) for a in records[window]]
        return JSONResponse({"results": results, **paging(request, after)})

    def batch_read_activities(self, objects: str, request: Request, body: Json) -> Response:
        by_id = {a.hubspot_id: a for a in self.activities(objects)}
        names = body.get("properties") or ()
        return batch_read_response(
            input_ids(body, BATCH_LIMIT),
            by_id,
            lambda a: self.activity_json(objects, a, names),
            ACTIVITY_OBJECTS[objects].upper(),
        )

    # ---- v4 associations --------------------------------------------------------------------

    def batch_read_associations(self, request: Request, body: Json) -> Response:
        source, target = request.path_params["fromObjectType"], request.path_params["toObjectType"]
        type_id = ASSOCIATION_TYPES.get((source, target))
        if type_id is None:
            raise bad_request(f"Unknown association from {source} to {target}")
        ids = input_ids(body, ASSOCIATIONS_BATCH_LIMIT)
        afters = {
            str(i.get("id")): str(i.get("after") or "")
            for i in body["inputs"]
            if isinstance(i, dict)
        }
        linked = self.associated(source, target)
        results, empty = [], []
        for record_id in dict.fromkeys(ids):
            targets = linked.get(record_id, [])
            if not targets:
                empty.append(record_id)
                continue
            results.append(
                _association_result(record_id, targets, afters.get(record_id) or None, type_id)
            )
        errors = [
            {
                **batch_error(
                    "OBJECT_NOT_FOUND",
                    f"No {target} is associated with {source} {record_id}.",
                    {"fromObjectId": [record_id]},
                ),
                "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
            }
            for record_id in empty
        ]
        return batch_response(results, errors)

    def associated(self, source: str, target: str) -> dict[str, list[int]]:
        """From-object id -> associated to-object ids (sorted), for one pair of object types."""
        pairs: list[tuple[str, str]] = []  # (company id, other id)
        other = target if source == "companies" else source
        if other == "notes":
            pairs = [
                (self.org.companies[key].hubspot_id, note.hubspot_id)
                for note in self.org.notes.values()
                for key in note.account_keys
                if not self.org.companies[key].archived
            ]
        else:
            kind = ACTIVITY_OBJECTS[other]
            pairs = [
                (self.org.companies[a.account_key].hubspot_id, a.hubspot_id)
                for a in self.org.activities
                if a.kind == kind and not self.org.companies[a.account_key].archived
            ]
        found: dict[str, list[int]] = {}
        for company_id, other_id in pairs:
            key, value = (company_id, other_id) if source == "companies" else (other_id, company_id)
            found.setdefault(key, []).append(int(value))
        return {k: sorted(v) for k, v in found.items()}

    # ---- properties -------------------------------------------------------------------------

    def list_properties(self, request: Request, _: Json) -> Response:
        archived = bool_param(request.query_params, "archived")
        found = [] if archived else sorted(self.catalogue().values(), key=lambda p: p["name"])
        return JSONResponse({"results": found})

    def get_property(self, request: Request, _: Json) -> Response:
        name = request.path_params["propertyName"]
        definition = self.catalogue().get(name)
        if definition is None:
            return error_response(404, "OBJECT_NOT_FOUND", f"Unable to find property {name}")
        return JSONResponse(definition)

    def create_property(self, request: Request, body: Json) -> Response:
        name, kind = str(body.get("name", "")), str(body.get("type", ""))
        field_type, group = str(body.get("fieldType", "")), str(body.get("groupName", ""))
        label = str(body.get("label", ""))
        if not _PROPERTY_NAME.match(name) or not label:
            raise bad_request(f"Property name {name!r} or label {label!r} is not valid")
        if field_type not in _FIELD_TYPES.get(kind, ()):
            raise bad_request(f"fieldType {field_type!r} is not valid for type {kind!r}")
        if group not in self.groups:
            raise bad_request(f"Property group {group!r} does not exist")
        if name in self.catalogue():
            return error_response(
                409, "OBJECT_ALREADY_EXISTS", f"Property named '{name}' already exists."
            )
        options = [o for o in body.get("options") or [] if isinstance(o, dict)]
        definition = property_definition(
            name,
            label,
            kind,
            field_type,
            group=group,
            hubspot_defined=False,
            options=[{"hidden": False, "displayOrder": -1, **o} for o in options],
            description=str(body.get("description", "")),
        )
        self.sandbox.custom_properties[name] = definition
        return JSONResponse(definition, status_code=201)

    def list_groups(self, _: Request, __: Json) -> Response:
        results = [
            {"name": n, "label": label, "displayOrder": -1, "archived": False}
            for n, label in sorted(self.groups.items())
        ]
        return JSONResponse({"results": results})

    def create_group(self, request: Request, body: Json) -> Response:
        name, label = str(body.get("name", "")), str(body.get("label", ""))
        if not _PROPERTY_NAME.match(name) or not label:
            raise bad_request(f"Property group name {name!r} or label {label!r} is not valid")
        if name in self.groups:
            return error_response(
                409, "OBJECT_ALREADY_EXISTS", f"Property group named '{name}' already exists."
            )
        self.groups[name] = label
        order = int(body.get("displayOrder", -1))
        return JSONResponse(
            {"name": name, "label": label, "displayOrder": order, "archived": False},
            status_code=201,
        )

    # ---- routing ----------------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        """One route per endpoint: (method and path, gate name, kind, scope, handler)."""
        c, n = "/crm/v3/objects/companies", "/crm/v3/objects/notes"
        p = "/crm/v3/properties/companies"
        a = "/crm/v4/associations/{fromObjectType}/{toObjectType}"
        # fmt: off
        table: list[tuple[str, str, Kind, str | None, Handler]] = [
            (f"GET {c}", "companies.list", READ, COMPANIES_READ, self.list_companies),
            (f"POST {c}/search", "companies.search", SEARCH, COMPANIES_READ, self.search_companies),
            (f"POST {c}/batch/read", "companies.batch_read", READ, COMPANIES_READ,
             self.batch_read_companies),
            (f"POST {c}/batch/update", "companies.batch_update", WRITE, COMPANIES_WRITE,
             self.batch_update_companies),
            (f"GET {c}/{{companyId}}", "companies.get", READ, COMPANIES_READ, self.get_company),
            (f"PATCH {c}/{{companyId}}", "companies.update", WRITE, COMPANIES_WRITE,
             self.update_company),
            ("GET /crm/v3/owners", "owners.list", READ, OWNERS_READ, self.list_owners),
            ("GET /crm/v3/owners/", "owners.list", READ, OWNERS_READ, self.list_owners),
            (f"POST {n}", "notes.create", CREATE, NOTES_WRITE, self.create_note),
            (f"POST {n}/batch/create", "notes.batch_create", CREATE, NOTES_WRITE,
             self.batch_create_notes),
            (f"POST {n}/batch/read", "notes.batch_read", READ, NOTES_READ, self.batch_read_notes),
            (f"POST {a}/batch/read", "associations.batch_read", READ, COMPANIES_READ,
             self.batch_read_associations),
            (f"GET {p}", "properties.read", READ, SCHEMAS_READ, self.list_properties),
            (f"POST {p}", "properties.create", CREATE, SCHEMAS_WRITE, self.create_property),
            (f"GET {p}/groups", "properties.groups.read", READ, SCHEMAS_READ, self.list_groups),
            (f"POST {p}/groups", "properties.groups.create", CREATE, SCHEMAS_WRITE,
             self.create_group),
            (f"GET {p}/{{propertyName}}", "properties.read", READ, SCHEMAS_READ, self.get_property),
        ]
        # fmt: on
        for objects in ACTIVITY_OBJECTS:
            path = f"/crm/v3/objects/{objects}"
            listing = functools.partial(self.list_activities, objects)
            reading = functools.partial(self.batch_read_activities, objects)
            table.append((f"GET {path}", f"{objects}.list", READ, None, listing))
            table.append((f"POST {path}/batch/read", f"{objects}.batch_read", READ, None, reading))
        return [
            self.route(endpoint, f"hubspot.{name}", kind, scope, handler)
            for endpoint, name, kind, scope, handler in table
        ]


def routes(sandbox: Sandbox) -> list[BaseRoute]:
    """The HubSpot API's routes, served at the root of the sandbox's HTTP server."""
    return HubSpotApi(sandbox).routes()


# ---- search ----------------------------------------------------------------------------------


class Search:
    """One search request: filter groups (OR of ANDs), one sort, over HubSpot-typed values."""

    OPERATORS: Final = frozenset(
        {"EQ", "NEQ", "GT", "GTE", "LT", "LTE", "BETWEEN", "IN", "NOT_IN"}
        | {"HAS_PROPERTY", "NOT_HAS_PROPERTY"}
    )

    def __init__(self, catalogue: Mapping[str, Json], body: Json) -> None:
        self.catalogue = catalogue
        groups = body.get("filterGroups") or []
        if len(groups) > MAX_FILTER_GROUPS:
            raise bad_request(f"at most {MAX_FILTER_GROUPS} filterGroups are allowed")
        self.groups: list[list[Json]] = []
        for group in groups:
            filters = list(group.get("filters") or [])
            if len(filters) > MAX_FILTERS_PER_GROUP:
                raise bad_request(f"at most {MAX_FILTERS_PER_GROUP} filters per group are allowed")
            for item in filters:
                self._check_filter(item)
            self.groups.append(filters)
        sorts = body.get("sorts") or [{"propertyName": "hs_object_id", "direction": "ASCENDING"}]
        if len(sorts) > 1:
            raise bad_request("only one sort is supported")
        self.sort_name, self.descending = _sort_spec(sorts[0])

    def _check_filter(self, item: Json) -> None:
        name, operator = item.get("propertyName"), item.get("operator")
        if name not in self.catalogue:
            raise bad_request(f"Property {name!r} does not exist")
        if operator not in self.OPERATORS:
            raise bad_request(f"operator {operator!r} is not supported")
        if operator == "BETWEEN" and item.get("highValue") is None:
            raise bad_request("BETWEEN needs value and highValue")

    def run(
        self, companies: Iterable[Company], value_of: Callable[[Company, str], str | None]
    ) -> list[Company]:
        matches = [
            c
            for c in companies
            if not self.groups or any(self._all(g, c, value_of) for g in self.groups)
        ]

        def key(company: Company) -> tuple[bool, float | str, int]:
            value = self.comparable(self.sort_name, value_of(company, self.sort_name))
            missing = value is None
            return (missing, 0 if value is None else value, int(company.hubspot_id))

        matches.sort(key=key, reverse=self.descending)
        return matches

    def _all(
        self, filters: list[Json], company: Company, value_of: Callable[[Company, str], str | None]
    ) -> bool:
        return all(self._matches(f, value_of(company, f["propertyName"])) for f in filters)

    def _matches(self, item: Json, raw: str | None) -> bool:
        name, operator = str(item["propertyName"]), str(item["operator"])
        if operator in {"HAS_PROPERTY", "NOT_HAS_PROPERTY"}:
            return bool(raw) == (operator == "HAS_PROPERTY")
        value = self.comparable(name, raw)
        if value is None:
            return operator in {"NEQ", "NOT_IN"}
        if operator in {"IN", "NOT_IN"}:
            options = {self.comparable(name, str(v)) for v in item.get("values") or []}
            return (value in options) == (operator == "IN")
        low = self.comparable(name, str(item.get("value", "")))
        if operator == "BETWEEN":
            high = self.comparable(name, str(item["highValue"]))
            return _ordered(low, value) and _ordered(value, high)
        return _compare(operator, value, low)

    def comparable(self, name: str, raw: str | None) -> float | str | None:
        """A value that orders the way HubSpot orders this property's type."""
        if raw is None or raw == "":
            return None
        kind = self.catalogue.get(name, {}).get("type")
        if kind in {"date", "datetime"}:
            moment = parse_moment(raw)
            return None if moment is None else float(epoch_ms(moment))
        if kind == "number":
            try:
                return float(raw)
            except ValueError:
                return None
        return raw.casefold()


def _sort_spec(spec: object) -> tuple[str, bool]:
    if isinstance(spec, str):
        return spec.lstrip("-"), spec.startswith("-")
    if isinstance(spec, dict):
        return str(spec.get("propertyName")), spec.get("direction") == "DESCENDING"
    raise bad_request("sorts: expected property names or {propertyName, direction}")


def _ordered(low: float | str | None, high: float | str | None) -> bool:
    if low is None or high is None or type(low) is not type(high):
        return False
    return low <= high  # type: ignore[operator]  # same type, checked above


def _compare(operator: str, value: float | str, other: float | str | None) -> bool:
    if other is None or type(value) is not type(other):
        return operator == "NEQ"
    checks: dict[str, Callable[[Any, Any], bool]] = {
        "EQ": lambda a, b: a == b,
        "NEQ": lambda a, b: a != b,
        "GT": lambda a, b: a > b,
        "GTE": lambda a, b: a >= b,
        "LT": lambda a, b: a < b,
        "LTE": lambda a, b: a <= b,
    }
    return checks[operator](value, other)


# ---- small pieces -----------------------------------------------------------------------------


def _offset(after: object) -> int:
    text = "0" if after in {None, ""} else str(after)
    if not text.isdigit():
        raise bad_request(f"after: {text!r} is not a valid paging cursor")
    return int(text)


def _properties_of(item: object) -> dict[str, str]:
    raw = item.get("properties") if isinstance(item, dict) else None
    if not isinstance(raw, dict):
        raise bad_request("properties: expected an object of property name to value")
    return {str(k): "" if v is None else str(v) for k, v in raw.items()}


def _activity_value(company: Company, render: Callable[[datetime], str]) -> str:
    moment = parse_moment(company.last_activity_at)
    if moment is None:
        return company.last_activity_at
    return render(moment)


def _moment_text(raw: str) -> str:
    """A stored timestamp in HubSpot's datetime format (left as it is when it does not parse)."""
    moment = parse_moment(raw)
    return iso(moment) if moment else raw


def _ms_text(moment: datetime) -> str:
    return str(epoch_ms(moment))


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


def _association_result(
    record_id: str, targets: list[int], after: str | None, type_id: int
) -> Json:
    start = bisect.bisect_left(targets, int(after)) if after and after.isdigit() else 0
    page = targets[start : start + ASSOCIATIONS_PER_OBJECT]
    result: Json = {
        "from": {"id": record_id},
        "to": [
            {
                "toObjectId": target,
                "associationTypes": [
                    {"category": "HUBSPOT_DEFINED", "typeId": type_id, "label": None}
                ],
            }
            for target in page
        ],
    }
    following = start + ASSOCIATIONS_PER_OBJECT
    if following < len(targets):
        result["paging"] = {"next": {"after": str(targets[following])}}
    return result
