"""One running sandbox: its org, its gate, its credentials and settings, shared by every API."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass, field

from sandbox.gate import Gate
from sandbox.org import Org, organization_id

DEFAULT_PORTAL_ID = 62515


@dataclass(slots=True)
class Sandbox:
    """What handlers need: the org, the gate, credentials, and webhook settings."""

    org: Org
    gate: Gate
    hubspot_token: str
    salesforce_session_id: str
    control_token: str = field(default_factory=lambda: new_secret("sandbox-control-"))
    portal_id: int = DEFAULT_PORTAL_ID  # HubSpot's account-info `portalId`
    # `SELECT Id FROM Organization`
    salesforce_org_id: str = field(default_factory=lambda: organization_id(DEFAULT_PORTAL_ID))
    webhook_url: str | None = None
    webhook_secret: str | None = None
    hubspot_url: str = ""
    salesforce_url: str = ""
    # Scopes the HubSpot token has; the control API can take one away to test a missing scope.
    scopes: set[str] = field(
        default_factory=lambda: {
            "crm.objects.companies.read",
            "crm.objects.companies.write",
            "crm.objects.owners.read",
            "crm.schemas.companies.read",
            "crm.schemas.companies.write",
            "crm.objects.notes.write",
            "crm.objects.notes.read",
        }
    )
    # HubSpot company properties that exist (custom ones are added by properties create).
    custom_properties: dict[str, dict[str, object]] = field(default_factory=dict)
    # Salesforce custom fields present on Account (the admin deploys them from docs/salesforce/).
    salesforce_custom_fields: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def hubspot_authorized(self, header: str | None) -> bool:
        return _bearer_matches(header, self.hubspot_token)

    def salesforce_authorized(self, header: str | None) -> bool:
        return _bearer_matches(header, self.salesforce_session_id)

    def control_authorized(self, header: str | None) -> bool:
        return _bearer_matches(header, self.control_token)

    def expire_salesforce_session(self) -> str:
        """Invalidate the current session id (clients holding it get INVALID_SESSION_ID)."""
        with self.lock:
            self.salesforce_session_id = new_secret("00D")
            return self.salesforce_session_id


def new_secret(prefix: str) -> str:
    return f"{prefix}{secrets.token_urlsafe(24)}"


def _bearer_matches(header: str | None, expected: str) -> bool:
    if not header:
        return False
    scheme, _, value = header.partition(" ")
    if scheme.lower() not in {"bearer", "oauth"}:
        return False
    digest = hashlib.sha256
    return hmac.compare_digest(
        digest(value.strip().encode()).digest(), digest(expected.encode()).digest()
    )
