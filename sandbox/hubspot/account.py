"""`GET /account-info/v3/details`: the portal a token belongs to, as HubSpot answers it.

Clients bind their state to `portalId` (the ledger records it on first sync and refuses another
portal afterwards), so the sandbox serves the portal id it was started with.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sandbox.hubspot.portal import Portal
from sandbox.hubspot.values import Json


class AccountHandlers:
    """The account details of one sandbox portal."""

    def __init__(self, portal: Portal) -> None:
        self.portal = portal

    def details(self, _: Request, __: Json) -> Response:
        # Every field HubSpot's PortalInformationResponse requires, with a sandbox's values.
        return JSONResponse(
            {
                "portalId": self.portal.sandbox.portal_id,
                "accountType": "SANDBOX",
                "timeZone": "Etc/UTC",
                "companyCurrency": "USD",
                "additionalCurrencies": [],
                "utcOffset": "+00:00",
                "utcOffsetMilliseconds": 0,
                "uiDomain": "app.hubspot.com",
                "dataHostingLocation": "na1",
            }
        )
