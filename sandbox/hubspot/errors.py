"""HubSpot's error bodies, and the refusal a handler raises to answer with one.

Clients branch on `category` and read `context`, so the bodies keep HubSpot's exact shape:
401/403 say what is missing, a refused write names each invalid property, and a 207 groups the
records that failed alike.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Final

import orjson
from starlette.responses import JSONResponse, Response

from sandbox.hubspot.values import Json

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


def unauthenticated() -> JSONResponse:
    """The 401 for a missing or wrong token."""
    return error_response(401, "INVALID_AUTHENTICATION", _AUTH_MESSAGE)


def missing_scope(scope: str) -> JSONResponse:
    """The 403 for a token without `scope`, naming it as HubSpot does."""
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


def objects_not_found(kind: str, ids: list[str]) -> Json:
    """The 207 entry naming every input id of object type `kind` that does not exist."""
    return batch_error("OBJECT_NOT_FOUND", _NOT_FOUND_MESSAGE.format(kind=kind), {"ids": ids})
