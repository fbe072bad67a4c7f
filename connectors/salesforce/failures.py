"""Salesforce failures as connector errors: the shared status table, refined by error code.

simple_salesforce raises one exception class per status (SalesforceMalformedRequest 400,
SalesforceExpiredSession 401, SalesforceRefusedRequest 403, SalesforceResourceNotFound 404,
SalesforceGeneralError otherwise); requests raises for dropped connections and timeouts. All of
them go through `connectors.errors.error_for_status`, the one status table; a few error codes
then say more than their status: `REQUEST_LIMIT_EXCEEDED` (403) ends the run, because the org's
whole allowance is spent and retrying only burns the next day's.

Per-record failures of sObject Collections have no status, only a `statusCode` per record; the
record table below says which of them are worth retrying.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import requests
from simple_salesforce.exceptions import SalesforceError

from connectors.errors import (
    BudgetExhaustedError,
    ConnectorError,
    TerminalError,
    TransientError,
    error_for_status,
    parse_retry_after,
)

REQUEST_LIMIT_EXCEEDED: Final = "REQUEST_LIMIT_EXCEEDED"
INVALID_SESSION_ID: Final = "INVALID_SESSION_ID"
DUPLICATE_VALUE: Final = "DUPLICATE_VALUE"

# Error codes that mean more than their HTTP status.
_BY_CODE: Final[dict[str, type[ConnectorError]]] = {
    REQUEST_LIMIT_EXCEEDED: BudgetExhaustedError,
}
# Per-record codes (SaveResult.errors[].statusCode) worth retrying; every other one is terminal.
_TRANSIENT_RECORD_CODES: Final = frozenset(
    {"UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE", "UNKNOWN_EXCEPTION"}
)
_MESSAGE_CHARS: Final = 300


def error_from_exception(
    exc: SalesforceError | requests.RequestException, headers: Mapping[str, str] | None = None
) -> ConnectorError:
    """The typed error for a failed call; `headers`: the failed response's, if any."""
    if isinstance(exc, requests.RequestException):
        # The message names the failure's kind only: a URL could carry query text.
        return TransientError(f"Salesforce request failed: {type(exc).__name__}", code="CONNECTION")
    code, message = _first_error(exc.content)
    error = error_for_status(
        exc.status,
        f"Salesforce refused the call: {message}",
        code=code,
        wait_seconds=parse_retry_after((headers or {}).get("Retry-After")),
    )
    refined = _BY_CODE.get(code or "")
    if refined is not None:
        return refined(error.message, status=exc.status, code=code)
    return error


def record_error(errors: object) -> ConnectorError:
    """The typed error for one failed record of a collection call (its `errors` list)."""
    code, message = _first_error(errors, key="statusCode")
    fields = _fields(errors)
    text = f"Salesforce rejected the record: {message}" + (f" (fields: {fields})" if fields else "")
    kind = TransientError if code in _TRANSIENT_RECORD_CODES else TerminalError
    return kind(text, code=code)


def _first_error(content: object, key: str = "errorCode") -> tuple[str | None, str]:
    """(error code, message) from Salesforce's error list, an OAuth error or plain text."""
    first = content[0] if isinstance(content, list) and content else content
    if isinstance(first, Mapping):
        code = first.get(key) or first.get("errorCode") or first.get("error")
        message = first.get("message") or first.get("error_description") or ""
        return (str(code) if code else None), str(message)[:_MESSAGE_CHARS]
    text = content.decode(errors="replace") if isinstance(content, bytes) else str(content or "")
    return None, text[:_MESSAGE_CHARS]


def _fields(errors: object) -> str:
    first = errors[0] if isinstance(errors, list) and errors else None
    fields = first.get("fields") if isinstance(first, Mapping) else None
    return ", ".join(str(f) for f in fields) if isinstance(fields, list) else ""
