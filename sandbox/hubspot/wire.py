"""How requests are read and answers shaped, the same for every resource: query parameters,
batch inputs, cursor paging, v3 records and batch answers (200/201, or 207 with errors).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Final, TypeVar

import anyio.from_thread
import orjson
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sandbox.hubspot.errors import bad_request, objects_not_found
from sandbox.hubspot.values import Json, empty_value, iso

T = TypeVar("T")

LIST_LIMIT: Final = 100
BATCH_LIMIT: Final = 100
# What every engagement (note, call, email, meeting, task) answers, asked for or not.
ENGAGEMENT_ALWAYS_RETURNED: Final = ("hs_createdate", "hs_lastmodifieddate", "hs_object_id")


# ---- reading requests -------------------------------------------------------------------------


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
    """The `id` of every input (text or a number); 400 for any other shape or too many."""
    inputs = object_list(body.get("inputs"), "inputs", required=True)
    if len(inputs) > limit:
        raise bad_request(f"Batch input limit exceeded: {len(inputs)} inputs, at most {limit}")
    return [scalar_text(i.get("id"), "inputs[].id") or "" for i in inputs]


def object_list(value: object, where: str, *, required: bool = False) -> list[Json]:
    """A JSON array of objects (absent or null: empty, unless `required`); 400 otherwise."""
    if value is None and not required:
        return []
    if not isinstance(value, list) or not all(isinstance(i, dict) for i in value):
        raise bad_request(f"{where}: expected an array of objects")
    return value


def object_of(value: object, where: str) -> Json:
    """A JSON object (absent or null: empty); 400 otherwise."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise bad_request(f"{where}: expected an object")
    return value


def scalar_text(value: object, where: str) -> str | None:
    """A string, number or boolean as HubSpot reads it into text; None when null; 400 for an
    array or object."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise bad_request(f"{where}: expected a string or a number")


def text_of(body: Json, key: str) -> str:
    """`body[key]` as a string ("" when absent or null); 400 for any other type."""
    value = body.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise bad_request(f"{key}: expected a string")
    return value


def whole_number_of(body: Json, key: str, default: int) -> int:
    """`body[key]` as an integer (`default` when absent or null); 400 for any other type."""
    value = body.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad_request(f"{key}: expected an integer")
    return value


def property_names(body: Json, key: str = "properties") -> list[str] | None:
    """`body[key]`: property names asked for; None when absent, null or empty; 400 otherwise."""
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(n, str) for n in value):
        raise bad_request(f"{key}: expected an array of property names")
    return value or None


def properties_of(item: object) -> dict[str, str]:
    """An input's `properties` as text, null values as "" (HubSpot's way of clearing one)."""
    raw = item.get("properties") if isinstance(item, dict) else None
    if not isinstance(raw, dict):
        raise bad_request("properties: expected an object of property name to value")
    return {str(k): scalar_text(v, f"properties.{k}") or "" for k, v in raw.items()}


# ---- shaping answers --------------------------------------------------------------------------


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
    errors = [objects_not_found(kind, missing)] if missing else []
    return batch_response([render(found[i]) for i in unique if i in found], errors)
