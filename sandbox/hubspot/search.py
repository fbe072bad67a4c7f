"""`POST /crm/v3/objects/{companies,calls,emails,meetings,tasks}/search`: filters, one sort,
the result cap and the index lag.

The two awkward parts a client must survive are kept: no page starts at or past `search_cap`
(however many match), and a company whose latest edit the index has not caught up with
(`searchable_at` in the future) is left out of results entirely.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, Final, Protocol, TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sandbox.hubspot.errors import bad_request
from sandbox.hubspot.portal import Portal
from sandbox.hubspot.values import Json, epoch_ms, parse_moment
from sandbox.hubspot.wire import object_list, property_names, scalar_text
from sandbox.org import Company

SEARCH_LIMIT: Final = 200
MAX_FILTER_GROUPS: Final = 5
MAX_FILTERS_PER_GROUP: Final = 6


class Searchable(Protocol):
    """A record the search can sort and page by id."""

    @property
    def hubspot_id(self) -> str: ...


R = TypeVar("R", bound=Searchable)


class CompanySearch:
    """The search handler over one portal's companies."""

    def __init__(self, portal: Portal) -> None:
        self.portal = portal

    def search_companies(self, request: Request, body: Json) -> Response:
        return search_reply(
            body,
            self.portal.catalogue(),
            self.searchable_companies(),
            self.portal.company_value,
            self.portal.company_json,
            self.portal.sandbox.gate.limits.search_cap,
        )

    def searchable_companies(self) -> Iterator[Company]:
        """Live companies whose latest edit the search index has caught up with."""
        now = datetime.now(UTC)
        return (c for c in self.portal.companies_where(archived=False) if c.searchable_at <= now)


def search_reply(
    body: Json,
    catalogue: Mapping[str, Json],
    records: Iterable[R],
    value_of: Callable[[R, str], str | None],
    render: Callable[[R, list[str] | None], Json],
    cap: int,
) -> Response:
    """One page of the `records` that match the search in `body`, as HubSpot answers it."""
    limit = body.get("limit", 10)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= SEARCH_LIMIT:
        raise bad_request(f"limit must be between 1 and {SEARCH_LIMIT}")
    offset = _offset(body.get("after"))
    if offset >= cap:
        raise bad_request("There was a problem with the request.", context={"after": [str(offset)]})
    matches = Search(catalogue, body).run(records, value_of)
    page = matches[offset : min(offset + limit, cap)]
    end = offset + len(page)
    names = property_names(body)
    reply: Json = {"total": len(matches), "results": [render(r, names) for r in page]}
    if end < len(matches):
        reply["paging"] = {"next": {"after": str(end)}}
    return JSONResponse(reply)


class Search:
    """One search request: filter groups (OR of ANDs), one sort, over HubSpot-typed values."""

    OPERATORS: Final = frozenset(
        {"EQ", "NEQ", "GT", "GTE", "LT", "LTE", "BETWEEN", "IN", "NOT_IN"}
        | {"HAS_PROPERTY", "NOT_HAS_PROPERTY"}
    )

    def __init__(self, catalogue: Mapping[str, Json], body: Json) -> None:
        self.catalogue = catalogue
        groups = object_list(body.get("filterGroups"), "filterGroups")
        if len(groups) > MAX_FILTER_GROUPS:
            raise bad_request(f"at most {MAX_FILTER_GROUPS} filterGroups are allowed")
        self.groups: list[list[Json]] = []
        for group in groups:
            filters = object_list(group.get("filters"), "filterGroups[].filters")
            if len(filters) > MAX_FILTERS_PER_GROUP:
                raise bad_request(f"at most {MAX_FILTERS_PER_GROUP} filters per group are allowed")
            self.groups.append([self._checked_filter(item) for item in filters])
        sorts = body.get("sorts") or [{"propertyName": "hs_object_id", "direction": "ASCENDING"}]
        if not isinstance(sorts, list):
            raise bad_request("sorts: expected an array of property names or sort objects")
        if len(sorts) > 1:
            raise bad_request("only one sort is supported")
        self.sort_name, self.descending = _sort_spec(sorts[0])

    def _checked_filter(self, item: Json) -> Json:
        """The filter with its values as text (`values` a list of them); 400 when malformed."""
        name, operator = item.get("propertyName"), item.get("operator")
        if not isinstance(name, str) or name not in self.catalogue:
            raise bad_request(f"Property {name!r} does not exist")
        if not isinstance(operator, str) or operator not in self.OPERATORS:
            raise bad_request(f"operator {operator!r} is not supported")
        if operator == "BETWEEN" and item.get("highValue") is None:
            raise bad_request("BETWEEN needs value and highValue")
        values = item.get("values")
        if values is not None and not isinstance(values, list):
            raise bad_request("filters[].values: expected an array")
        return {
            "propertyName": name,
            "operator": operator,
            "value": scalar_text(item.get("value"), "filters[].value") or "",
            "highValue": scalar_text(item.get("highValue"), "filters[].highValue") or "",
            "values": [scalar_text(v, "filters[].values[]") or "" for v in values or []],
        }

    def run(self, records: Iterable[R], value_of: Callable[[R, str], str | None]) -> list[R]:
        """The records that match, in the requested order (ties by id)."""
        matches = [
            r
            for r in records
            if not self.groups or any(self._all(g, r, value_of) for g in self.groups)
        ]

        def key(record: R) -> tuple[bool, float | str, int]:
            value = self.comparable(self.sort_name, value_of(record, self.sort_name))
            missing = value is None
            return (missing, 0 if value is None else value, int(record.hubspot_id))

        matches.sort(key=key, reverse=self.descending)
        return matches

    def _all(
        self, filters: list[Json], record: R, value_of: Callable[[R, str], str | None]
    ) -> bool:
        return all(self._matches(f, value_of(record, f["propertyName"])) for f in filters)

    def _matches(self, item: Json, raw: str | None) -> bool:
        name, operator = str(item["propertyName"]), str(item["operator"])
        if operator in {"HAS_PROPERTY", "NOT_HAS_PROPERTY"}:
            return bool(raw) == (operator == "HAS_PROPERTY")
        value = self.comparable(name, raw)
        if value is None:
            return operator in {"NEQ", "NOT_IN"}
        if operator in {"IN", "NOT_IN"}:
            options = {self.comparable(name, v) for v in item["values"]}
            return (value in options) == (operator == "IN")
        low = self.comparable(name, item["value"])
        if operator == "BETWEEN":
            high = self.comparable(name, item["highValue"])
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


def _offset(after: object) -> int:
    text = scalar_text(after, "after") or "0"
    if not text.isdigit():
        raise bad_request(f"after: {text!r} is not a valid paging cursor")
    return int(text)


def _sort_spec(spec: object) -> tuple[str, bool]:
    if isinstance(spec, str):
        return spec.lstrip("-"), spec.startswith("-")
    if isinstance(spec, dict):
        name, direction = spec.get("propertyName"), spec.get("direction")
        direction = "ASCENDING" if direction is None else direction
        if isinstance(name, str) and direction in ("ASCENDING", "DESCENDING"):
            return name, direction == "DESCENDING"
    raise bad_request(
        "sorts: expected property names or {propertyName, direction: ASCENDING|DESCENDING}"
    )


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
