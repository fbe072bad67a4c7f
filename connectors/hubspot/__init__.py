"""HubSpot as a territory-sync source and target, through the official `hubspot-api-client`."""

from __future__ import annotations

from connectors.hubspot.config import HUBSPOT_API_URL, HubSpotConfig
from connectors.hubspot.connector import HubSpotConnector
from connectors.retry import RetryPolicy

__all__ = ["HUBSPOT_API_URL", "HubSpotConfig", "HubSpotConnector", "RetryPolicy"]
