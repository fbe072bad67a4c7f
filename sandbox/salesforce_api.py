"""The Salesforce REST subset the sandbox serves over HTTPS, under /services/data/vXX.X/.

- `GET query?q=` and `queryAll?q=` (deleted records too): the SOQL of `soql.py`, pages of 2,000
  (`Sforce-Query-Options: batchSize=` may ask for 200..2,000) continued through
  `nextRecordsUrl` (`GET query/01g…-2000`); records carry `attributes: {type, url}`.
- `GET sobjects/{type}/describe`: the object's fields; territory custom fields only while
  deployed (`Sandbox.salesforce_custom_fields`).
- `GET` / `PATCH sobjects/Account/{id}`: one record, with an `ETag`; `If-Match` on PATCH (412
  `PRECONDITION_FAILED` when the record changed) and `If-None-Match` on GET (304).
- `PATCH composite/sobjects`: up to 200 Account updates, `allOrNone`, one SaveResult per record
  in input order; a bad or inactive `OwnerId` fails that record alone. The gate's `partial`
  fault fails single records with `UNABLE_TO_LOCK_ROW`.
- `POST sobjects/ContentNote` (Title, base64 Content) and `POST sobjects/ContentDocumentLink`,
  one record each, or up to 200 of them in `POST composite/sobjects` (sObject Collections
  create: one SaveResult per record, in input order; see `salesforce_content`).
- `query?q=SELECT Id FROM Organization`: the org id (configurable, `SandboxConfig`).
- `GET limits`: `DailyApiRequests` {Max, Remaining}.

Every endpoint answers 401 `INVALID_SESSION_ID` to a wrong or expired session id; the gate
adds `Sforce-Limit-Info` and refuses with 403 `REQUEST_LIMIT_EXCEEDED` past the daily allowance.
Errors are Salesforce's shape: a JSON list of `{message, errorCode[, fields]}`.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import anyio.from_thread
import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sandbox import soql
from sandbox.gate import Kind
from sandbox.org import Company
from sandbox.salesforce_content import CREATABLE, ContentCreator
from sandbox.salesforce_fields import territory_fields
from sandbox.salesforce_objects import (
    WRITABLE_ACCOUNT_FIELDS,
    SalesforceView,
    SObject,
    json_record,
)
from sandbox.salesforce_updates import AccountUpdates, lock_error, rest_error
from sandbox.state import Sandbox

PREFIX: Final = "/services/data/v{version}"
BATCH_SIZE: Final = 2000
MIN_BATCH_SIZE: Final = 200
COLLECTION_LIMIT: Final = 200
OPEN_CURSORS: Final = 64  # Salesforce keeps a handful of open query locators per user, too
_VERSION: Final = re.compile(r"\d{2}\.\d")
_BATCH_OPTION: Final = re.compile(r"batchSize\s*=\s*(\d+)", re.IGNORECASE)

Handler = Callable[[Request], Response]
Error = dict[str, object]


def routes(sandbox: Sandbox) -> list[BaseRoute]:
    """The Salesforce API's routes; the territory fields start out deployed."""
    sandbox.salesforce_custom_fields.update(territory_fields())
    return _SalesforceApi(sandbox).routes()


def _error_body(code: str, message: str, fields: list[str] | None = None) -> Error:
    body: Error = {"message": message, "errorCode": code}
    if fields is not None:
        body["fields"] = fields
    return body


def _reply(
    payload: object, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(
        orjson.dumps(payload), status_code=status, headers=headers, media_type="application/json"
    )


def _error(status: int, code: str, message: str, fields: list[str] | None = None) -> Response:
    return _reply([_error_body(code, message, fields)], status)


class _BadBodyError(ValueError):
    """The request body is not the JSON the endpoint takes."""


def _json_body(request: Request) -> Any:
    # Handlers run in a worker thread; the body is read on the event loop.
    raw = anyio.from_thread.run(request.body)
    try:
        return orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        raise _BadBodyError("the request body is not valid JSON") from None


def etag(company: Company) -> str:
    """An opaque, strong ETag that changes with every write to the record."""
    digest = hashlib.sha256(f"{company.salesforce_id}:{company.version}".encode()).hexdigest()
    return f'"{digest[:32]}"'


@dataclass(slots=True)
class _Cursor:
    records: list[dict[str, object]]
    path: str  # "query" or "queryAll", as the first page was asked


class _Cursors:
    """Open query locators: the rest of a result set, served page by page."""

    def __init__(self) -> None:
        self._open: OrderedDict[str, _Cursor] = OrderedDict()
        self._lock = threading.Lock()

    def open(self, cursor: _Cursor) -> str:
        locator = "01g" + secrets.token_hex(8)[:15]
        with self._lock:
            self._open[locator] = cursor
            while len(self._open) > OPEN_CURSORS:
                self._open.popitem(last=False)
        return locator

    def get(self, locator: str) -> _Cursor | None:
        with self._lock:
            cursor = self._open.get(locator)
            if cursor is not None:
                self._open.move_to_end(locator)
            return cursor


class _SalesforceApi:
    """The handlers, sharing the sandbox, its Salesforce view and the open query locators."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.org = sandbox.org
        self.view = SalesforceView(
            sandbox.org, sandbox.salesforce_custom_fields, sandbox.salesforce_org_id
        )
        self.updates = AccountUpdates(sandbox.org, self.view)
        self.content = ContentCreator(sandbox.org, self._live_account)
        self.cursors = _Cursors()

    def routes(self) -> list[BaseRoute]:
        return [
            *self._route("/query", "GET", "salesforce.query", self.query),
            *self._route("/queryAll", "GET", "salesforce.query", self.query_all),
            *self._route("/query/{locator}", "GET", "salesforce.query_more", self.query_more),
            *self._route("/queryAll/{locator}", "GET", "salesforce.query_more", self.query_more),
            *self._route("/limits", "GET", "salesforce.limits", self.limits),
            *self._route(
                "/sobjects/{sobject}/describe", "GET", "salesforce.describe", self.describe
            ),
            *self._route("/sobjects/{sobject}", "POST", "salesforce.create", self.create, "create"),
            *self._route("/sobjects/Account/{id}", "GET", "salesforce.sobject.get", self.get),
            *self._route(
                "/sobjects/Account/{id}", "PATCH", "salesforce.sobject.patch", self.patch, "write"
            ),
            *self._route(
                "/composite/sobjects", "PATCH", "salesforce.collections", self.collections, "write"
            ),
            *self._route(
                "/composite/sobjects",
                "POST",
                "salesforce.collections.create",
                self.collections_create,
                "create",
            ),
        ]

    def _route(
        self, path: str, method: str, name: str, handler: Handler, kind: Kind = "read"
    ) -> list[Route]:
        gated = self.sandbox.gate.endpoint(name, api="salesforce", kind=kind)(
            self._guarded(handler)
        )
        # simple_salesforce asks for some resources with a trailing slash (`query/`, `limits/`).
        return [Route(PREFIX + p, gated, methods=[method]) for p in (path, path + "/")]

    def _guarded(self, handler: Handler) -> Handler:
        def guarded(request: Request) -> Response:
            if not self.sandbox.salesforce_authorized(request.headers.get("authorization")):
                return _error(401, "INVALID_SESSION_ID", "Session expired or invalid")
            if not _VERSION.fullmatch(request.path_params["version"]):
                return _error(404, "NOT_FOUND", "The requested resource does not exist")
            try:
                return handler(request)
            except soql.SoqlError as error:
                return _error(400, error.code, error.message)
            except _BadBodyError as error:
                return _error(400, "JSON_PARSER_ERROR", str(error))

        guarded.__name__ = handler.__name__
        return guarded

    # ---- query --------------------------------------------------------------------------------

    def query(self, request: Request) -> Response:
        return self._first_page(request, include_deleted=False)

    def query_all(self, request: Request) -> Response:
        return self._first_page(request, include_deleted=True)

    def _first_page(self, request: Request, *, include_deleted: bool) -> Response:
        text = request.query_params.get("q", "")
        if not text.strip():
            return _error(400, "MALFORMED_QUERY", "a query needs the q parameter")
        version = request.path_params["version"]
        records = self._run(text, include_deleted, version)
        path = "queryAll" if include_deleted else "query"
        return self._page(_Cursor(records, path), 0, _batch_size(request), version)

    def query_more(self, request: Request) -> Response:
        locator, _, offset = request.path_params["locator"].rpartition("-")
        cursor = self.cursors.get(locator)
        if cursor is None or not offset.isdigit():
            return _error(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        version = request.path_params["version"]
        return self._page(cursor, int(offset), _batch_size(request), version, locator)

    def _page(
        self, cursor: _Cursor, offset: int, size: int, version: str, locator: str | None = None
    ) -> Response:
        end = offset + size
        page: dict[str, object] = {
            "totalSize": len(cursor.records),
            "done": end >= len(cursor.records),
            "records": cursor.records[offset:end],
        }
        if not page["done"]:
            locator = locator or self.cursors.open(cursor)
            page["nextRecordsUrl"] = f"/services/data/v{version}/{cursor.path}/{locator}-{end}"
        return _reply(page)

    def _run(self, text: str, include_deleted: bool, version: str) -> list[dict[str, object]]:
        """The records of one query, in wire shape (all pages)."""
        parsed = soql.parse(text)
        sobject = self.view.objects().get(parsed.sobject.lower())
        if sobject is None:
            raise soql.SoqlError(
                "INVALID_TYPE",
                f"sObject type '{parsed.sobject}' is not supported. If you are attempting to use "
                "a custom object, be sure to append the '__c' after the entity name.",
            )
        bound = soql.bind(parsed, sobject.schema)
        with self.org.lock:
            candidates = [
                row
                for row in _candidates(sobject, bound)
                if include_deleted or not row.get("IsDeleted")
            ]
            rows = soql.run(bound, candidates, sobject.schema)
        return [json_record(r, bound.fields, sobject.name, version) for r in rows]

    # ---- describe and limits ------------------------------------------------------------------

    def describe(self, request: Request) -> Response:
        sobject = self.view.objects().get(request.path_params["sobject"].lower())
        if sobject is None:
            return _error(404, "NOT_FOUND", "The requested resource does not exist")
        custom = territory_fields()
        fields = [
            {
                "name": name,
                "label": custom[name].label if name in custom else name,
                "type": field_type,
                "custom": name.endswith("__c"),
                "updateable": sobject.name == "Account"
                and (name in WRITABLE_ACCOUNT_FIELDS or name in custom),
                "nillable": name != "Id",
                "filterable": True,
                "length": (custom[name].length or 0) if name in custom else 0,
            }
            for name, field_type in sobject.schema.items()
        ]
        return _reply(
            {
                "name": sobject.name,
                "label": sobject.name,
                "custom": False,
                "queryable": True,
                "updateable": sobject.name == "Account",
                "fields": fields,
            }
        )

    def limits(self, _: Request) -> Response:
        gate = self.sandbox.gate
        allowance = gate.limits.salesforce_daily_limit
        used = gate.salesforce_daily
        return _reply(
            {"DailyApiRequests": {"Max": allowance, "Remaining": max(0, allowance - used)}}
        )

    # ---- one Account ------------------------------------------------------------------------

    def get(self, request: Request) -> Response:
        company = self._live_account(request.path_params["id"])
        if company is None:
            return _error(404, "NOT_FOUND", "The requested resource does not exist")
        with self.org.lock:
            row, tag = self.view.account_row(company), etag(company)
        if request.headers.get("if-none-match") == tag:
            return Response(status_code=304, headers={"ETag": tag})
        wanted = request.query_params.get("fields")
        names = [n.strip() for n in wanted.split(",")] if wanted else list(row)
        version = request.path_params["version"]
        return _reply(json_record(row, names, "Account", version), headers={"ETag": tag})

    def patch(self, request: Request) -> Response:
        body = _json_body(request)
        if not isinstance(body, dict):
            raise _BadBodyError("expected a JSON object of field values")
        with self.org.lock:
            company = self._live_account(request.path_params["id"])
            if company is None:
                return _error(404, "NOT_FOUND", "The requested resource does not exist")
            expected = request.headers.get("if-match")
            if expected is not None and expected != etag(company):
                return _error(
                    412,
                    "PRECONDITION_FAILED",
                    "The requested operation has been denied because the If-Match header "
                    "does not match the record's current ETag.",
                )
            update = self.updates.check(company, body)
            if update.errors:
                return _reply([rest_error(e) for e in update.errors], 400)
            self.updates.apply(update)
        return Response(status_code=204)

    def _live_account(self, record_id: str) -> Company | None:
        company = self.org.by_salesforce.get(record_id)
        return None if company is None or company.archived else company

    # ---- sObject Collections ----------------------------------------------------------------

    def collections(self, request: Request) -> Response:
        records, all_or_none = _collection(_json_body(request))
        for record in records:
            _check_record_shape(record)
        if len(records) > COLLECTION_LIMIT:
            return _too_many()
        gate = self.sandbox.gate
        failure_rate = gate.partial_rate("salesforce.collections")
        with self.org.lock:
            updates = [self.updates.check_record(r) for r in records]
            for update in updates:
                if not update.errors and gate.chance(failure_rate):
                    update.errors.append(lock_error(update))
            rolled_back = all_or_none and any(u.errors for u in updates)
            results = [self.updates.save_result(u, rolled_back=rolled_back) for u in updates]
        return _reply(results)

    # ---- ContentNote and ContentDocumentLink ------------------------------------------------

    def create(self, request: Request) -> Response:
        body = _json_body(request)
        if not isinstance(body, dict):
            raise _BadBodyError("expected a JSON object of field values")
        sobject = request.path_params["sobject"]
        if sobject not in CREATABLE:
            return _error(
                400, "NOT_SUPPORTED", f"the sandbox creates {' and '.join(CREATABLE)} records only"
            )
        created, error = self.content.create(sobject, body)
        if error is not None:
            return _reply([rest_error(error)], 400)
        return _reply({"id": created, "success": True, "errors": []}, 201)

    def collections_create(self, request: Request) -> Response:
        records, all_or_none = _collection(_json_body(request))
        for record in records:
            _check_record_shape(record)
            if "attributes" not in record:
                raise _BadBodyError('every record needs "attributes": {"type": ...}')
        if len(records) > COLLECTION_LIMIT:
            return _too_many()
        return _reply(self.content.create_collection(records, all_or_none=all_or_none))


def _candidates(sobject: SObject, query: soql.Query) -> Any:
    """Rows worth filtering: those an id lookup finds when the filter pins one, else all."""
    pinned = [soql.pinned_values(query.where, name) for name in sobject.required_filter]
    if sobject.required_filter and all(values is None for values in pinned):
        raise soql.SoqlError(
            "MALFORMED_QUERY",
            f"Implementation restriction: {sobject.name} requires a filter by a single Id on "
            f"{' or '.join(sorted(sobject.required_filter))} using the equals operator or "
            "multiple Id's using the IN operator.",
        )
    for name, lookup in sobject.lookups.items():
        values = soql.pinned_values(query.where, name)
        if values is not None:
            return [row for value in dict.fromkeys(values) for row in lookup(value)]
    return sobject.rows()


def _collection(body: object) -> tuple[list[Any], bool]:
    """An sObject Collections body's records and its `allOrNone` (False when absent)."""
    records = body.get("records") if isinstance(body, dict) else None
    if not isinstance(body, dict) or not isinstance(records, list):
        raise _BadBodyError('expected {"allOrNone": false, "records": [...]}')
    all_or_none = body.get("allOrNone", False)
    if not isinstance(all_or_none, bool):
        raise _BadBodyError(f"allOrNone: expected true or false, got {all_or_none!r}")
    return records, all_or_none


def _too_many() -> Response:
    return _error(
        400,
        "EXCEEDED_ID_LIMIT",
        f"record limit reached. cannot submit more than {COLLECTION_LIMIT} records into this call",
    )


def _check_record_shape(record: object) -> None:
    """A Collections record must deserialize: an object, `attributes` an object whose `type`
    is text, an id that is text. Anything else fails the whole call, as in Salesforce."""
    if not isinstance(record, dict):
        raise _BadBodyError(f"records: expected objects, got {record!r}")
    attributes = record.get("attributes", {})
    if not isinstance(attributes, dict) or not isinstance(attributes.get("type", ""), str):
        raise _BadBodyError(f'attributes: expected {{"type": "Account"}}, got {attributes!r}')
    for key in ("id", "Id"):
        if not isinstance(record.get(key, ""), str | None):
            raise _BadBodyError(f"{key}: expected an id, got {record[key]!r}")


def _batch_size(request: Request) -> int:
    option = _BATCH_OPTION.search(request.headers.get("sforce-query-options", ""))
    if option is None:
        return BATCH_SIZE
    return min(BATCH_SIZE, max(MIN_BATCH_SIZE, int(option.group(1))))
