"""The Salesforce connector: simple_salesforce behind the connector protocol (see connector.py)."""

from __future__ import annotations

from connectors.retry import RetryPolicy
from connectors.salesforce.config import SalesforceConfig, SalesforceLoginSettings
from connectors.salesforce.connector import SalesforceConnector

__all__ = ["RetryPolicy", "SalesforceConfig", "SalesforceConnector", "SalesforceLoginSettings"]
