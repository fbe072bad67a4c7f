"""Connectors built from settings: `--source hubspot` and `--source salesforce`.

The composition root's half of the connector story: `worker.settings` reads the environment,
this module turns it into each connector's typed config and a rate budget (shared through
Redis when `TERRITORY_REDIS_URL` is set), and nothing below it reads the environment.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from connectors.base import Connector
from connectors.budget import RateBudget, hubspot_windows, salesforce_windows
from rules.schema import RuleFile
from worker.settings import Settings

CrmKind = Literal["hubspot", "salesforce"]
CRM_KINDS: tuple[CrmKind, ...] = ("hubspot", "salesforce")


class CrmSettingsError(ValueError):
    """The settings a CRM source needs are missing; the message names the variables."""


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
    raise CrmSettingsError("--source salesforce is not wired yet")
