"""HubSpot's error bodies read into the connector errors of `connectors.errors`.

A whole call fails with an HTTP status and a body `{status, message, category, …}`; one record of
a batch fails with an entry of the 207's `errors` (a category, no status of its own). Both go
through `error_for_status`, the one status table: a record's category is first translated to
the status HubSpot uses for that category on a whole call. One 429 means more than its status:
policy `DAILY` says the portal's daily allowance is spent, which ends the run (a
BudgetExhaustedError) instead of being waited out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import orjson

from connectors.errors import (
    BudgetExhaustedError,
    ConnectorError,
    error_for_status,
    parse_retry_after,
)

Json = dict[str, Any]

# A batch record's error category -> the HTTP status HubSpot answers a whole call with for it.
_CATEGORY_STATUS: Final = {
    "VALIDATION_ERROR": 400,
    "INVALID_AUTHENTICATION": 401,
    "MISSING_SCOPES": 403,
    "OBJECT_NOT_FOUND": 404,
    "CONFLICT": 409,
    "OBJECT_ALREADY_EXISTS": 409,
    "RATE_LIMITS": 429,
    "INTERNAL_ERROR": 500,
}
DAILY: Final = "DAILY"  # the 429 policy of a spent daily allowance
# HubSpot sends no Retry-After on a 429; the policy says which window was full.
_POLICY_WAIT_SECONDS: Final = {"SECONDLY": 1.0, DAILY: 3600.0}
_INTERVAL_HEADER: Final = "X-HubSpot-RateLimit-Interval-Milliseconds"


def json_object(raw: bytes | str | None) -> Json:
    """A response body as a JSON object; {} when it is empty or not an object."""
    if not raw:
        return {}
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def call_error(
    operation: str, status: int, body: Json, headers: Mapping[str, str] | None = None
) -> ConnectorError:
    """The typed error for a failed call: status, HubSpot's category, and what it said."""
    category = body.get("category") or body.get("errorType")
    message = str(body.get("message") or f"HTTP {status}")
    scopes = missing_scopes(body)
    if scopes:
        message = f"the private app lacks scope {', '.join(scopes)}: {message}"
    policy = body.get("policyName")
    if status == 429 and policy == DAILY:
        return BudgetExhaustedError(f"HubSpot {operation}: {message}", status=status, code=DAILY)
    wait: float | None
    if status == 429:
        wait = rate_limit_wait(policy, headers)
    else:
        wait = parse_retry_after((headers or {}).get("Retry-After"))
    return error_for_status(
        status,
        f"HubSpot {operation}: {message}",
        code=str(policy or category) if policy or category else None,
        wait_seconds=wait,
        policy=policy,
    )


def record_error(operation: str, entry: Json) -> ConnectorError:
    """The typed error for one record of a batch (an entry of a 207's `errors`)."""
    category = str(entry.get("category") or "")
    status = _CATEGORY_STATUS.get(category, 400)
    message = str(entry.get("message") or category or "failed")
    return error_for_status(status, f"HubSpot {operation}: {message}", code=category or None)


def missing_scopes(body: Json) -> list[str]:
    """Scopes a 403 MISSING_SCOPES body names (granular or classic)."""
    if body.get("category") != "MISSING_SCOPES":
        return []
    found: list[str] = []
    for detail in body.get("errors") or []:
        context = detail.get("context") if isinstance(detail, dict) else None
        for key in ("requiredGranularScopes", "requiredScopes"):
            found.extend(str(s) for s in (context or {}).get(key) or [])
    return list(dict.fromkeys(found))


def rate_limit_wait(policy: object, headers: Mapping[str, str] | None) -> float:
    """Seconds to hold off after a 429: the window that was full, as far as HubSpot says."""
    if isinstance(policy, str) and policy in _POLICY_WAIT_SECONDS:
        return _POLICY_WAIT_SECONDS[policy]
    interval = (headers or {}).get(_INTERVAL_HEADER)
    if interval and interval.isdigit():
        return int(interval) / 1000
    return 10.0  # TEN_SECONDLY_ROLLING without headers: a whole window


def is_no_associations(entry: Json) -> bool:
    """A v4 association batch's way of saying "none" for one record (its subCategory is
    `crm.associations.NO_ASSOCIATIONS_FOUND`; a record that does not exist has none either)."""
    return entry.get("category") == "OBJECT_NOT_FOUND" or str(
        entry.get("subCategory") or ""
    ).endswith("NO_ASSOCIATIONS_FOUND")
