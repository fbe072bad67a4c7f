"""Connectors built from settings: `--source hubspot` and `--source salesforce`.

The composition root's half of the connector story: `worker.settings` reads the environment,
this module turns it into each connector's typed config and a rate budget (shared through
Redis when `TERRITORY_REDIS_URL` is set), and nothing below it reads the environment.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any, Literal

from connectors.base import Connector
from connectors.budget import RateBudget, hubspot_windows, salesforce_windows
from rules.schema import RuleFile
from worker.settings import Settings

CrmKind = Literal["hubspot", "salesforce"]
CRM_KINDS: tuple[CrmKind, ...] = ("hubspot", "salesforce")


class CrmSettingsError(ValueError):
    """The settings a CRM source needs are missing; the message names the variables."""


def longest_call_seconds() -> float:
    """The longest one CRM call may take with the connectors' default settings: the retry
    policy's bound on its tries and every wait, then a last request at the slowest connector's
    timeouts (HubSpot: connection retries, connect and read; Salesforce: `requests` applies its
    timeout to connecting and to reading apart). A lease shorter than this may end while a
    change is still being written."""
    from connectors.hubspot import HubSpotConfig  # noqa: PLC0415
    from connectors.retry import RetryPolicy  # noqa: PLC0415
    from connectors.salesforce import SalesforceConfig  # noqa: PLC0415

    policy = RetryPolicy()
    hubspot = _defaults(HubSpotConfig)
    hubspot_request = (policy.connect_retries + 1) * hubspot["connect_timeout"] + hubspot[
        "read_timeout"
    ]
    salesforce_request = 2 * _defaults(SalesforceConfig)["timeout_seconds"]
    return float(policy.max_seconds + max(hubspot_request, salesforce_request))


def _defaults(config: type[Any]) -> dict[str, Any]:
    return {
        f.name: f.default
        for f in dataclasses.fields(config)
        if f.default is not dataclasses.MISSING
    }


def _budget(settings: Settings, kind: CrmKind) -> RateBudget:
    redis = settings.redis_url.get_secret_value() if settings.redis_url else None
    windows = hubspot_windows() if kind == "hubspot" else salesforce_windows()
    return RateBudget(
        windows,
        storage_uri=redis,
        namespace=f"territory:{kind}",
        max_daily_share=settings.max_daily_api_share,
    )


def open_connector(kind: CrmKind, settings: Settings, rule: RuleFile | None) -> Connector:
    """The connector for `kind`, configured from `settings`."""
    if kind == "hubspot":
        return _hubspot(settings, rule)
    return _salesforce(settings, rule)


def _hubspot(settings: Settings, rule: RuleFile | None) -> Connector:
    from connectors.hubspot import HubSpotConfig, HubSpotConnector  # noqa: PLC0415

    if settings.hubspot_token is None:
        raise CrmSettingsError(
            "--source hubspot needs TERRITORY_HUBSPOT_TOKEN (or TERRITORY_HUBSPOT_TOKEN_FILE): "
            "a private app token; see docs/settings.md"
        )
    config = HubSpotConfig(
        token=settings.hubspot_token,
        base_url=settings.hubspot_host,
        look_back=timedelta(seconds=settings.look_back_seconds),
    )
    return HubSpotConnector(config, rule=rule, budget=_budget(settings, "hubspot"))


def _salesforce(settings: Settings, rule: RuleFile | None) -> Connector:
    from connectors.salesforce import (  # noqa: PLC0415
        SalesforceConfig,
        SalesforceConnector,
        SalesforceLoginSettings,
    )

    has_session = settings.salesforce_instance_url and settings.salesforce_session_id
    login = None
    if settings.salesforce_username:
        login = SalesforceLoginSettings(
            username=settings.salesforce_username,
            password=settings.salesforce_password,
            security_token=settings.salesforce_security_token,
            domain=settings.salesforce_domain,
        )
    if not has_session and login is None:
        raise CrmSettingsError(
            "--source salesforce needs TERRITORY_SALESFORCE_INSTANCE_URL and "
            "TERRITORY_SALESFORCE_SESSION_ID, or TERRITORY_SALESFORCE_USERNAME with _PASSWORD "
            "and _SECURITY_TOKEN; see docs/settings.md"
        )
    instance = settings.salesforce_instance_url
    config = SalesforceConfig(
        instance_url=str(instance).rstrip("/") if instance else None,
        session_id=settings.salesforce_session_id,
        login=login,
        ca_bundle=settings.salesforce_ca_bundle,
        look_back=timedelta(seconds=settings.look_back_seconds),
        max_daily_share=settings.max_daily_api_share,
    )
    return SalesforceConnector(config, rule=rule, budget=_budget(settings, "salesforce"))
