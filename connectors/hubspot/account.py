"""The portal a token belongs to: `GET /account-info/v3/details` -> `portalId`.

hubspot-api-client has no wrapper for the account-info API, so the call goes through a
generated client's `call_api` (the companies API's): the same urllib3 pool, retry settings and
`ApiException`, hence the same transport, budget and error table as every other call.
"""

from __future__ import annotations

from typing import Any, Final

from connectors.errors import TerminalError
from connectors.hubspot.transport import HubSpotTransport

DETAILS_PATH: Final = "/account-info/v3/details"


def portal_id(transport: HubSpotTransport) -> str:
    """The portal id of the account the token belongs to."""
    api_client = transport.apis.companies.api_client

    def details(**options: Any) -> Any:
        return api_client.call_api(
            DETAILS_PATH,
            "GET",
            {},
            [],
            {"Accept": "application/json"},
            response_types_map={},
            auth_settings=["oauth2"],
            **options,
        )

    body = transport.call("account.details", details).body
    portal = body.get("portalId")
    if not isinstance(portal, int) or isinstance(portal, bool):
        raise TerminalError(
            f"HubSpot's account details carry no portal id (got {portal!r})", code="NO_PORTAL"
        )
    return str(portal)
