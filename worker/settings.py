"""Settings from the environment: the one place that reads `TERRITORY_*` variables.

Connectors take typed config and never read the environment; this module builds that config,
so `--source hubspot` and `--source salesforce` run against the sandbox or a real CRM the same
way. Every secret is a `SecretStr` (never printed), and may come from a file: a variable
`TERRITORY_X_FILE=/run/secrets/x` is read before `TERRITORY_X` (Docker and Kubernetes mount
secrets as files). Every setting is listed in docs/settings.md.
"""

from __future__ import annotations

import os
from datetime import time
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AnyHttpUrl, Field, SecretStr, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

PREFIX: Final = "TERRITORY_"
HUBSPOT_API: Final = "https://api.hubapi.com"
# Upper bounds: past them a value means a typo, and the calendar or the scheduler overflows.
DAY: Final = 86_400  # seconds
WEEK_MINUTES: Final = 10_080


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable, never its value."""


class Settings(BaseSettings):
    """Everything territory-sync reads from its environment."""

    model_config = SettingsConfigDict(env_prefix=PREFIX, extra="ignore", frozen=True)

    # HubSpot (private app token)
    hubspot_token: SecretStr | None = Field(None, description="HubSpot private app token")
    hubspot_base_url: AnyHttpUrl = Field(
        AnyHttpUrl(HUBSPOT_API), description="HubSpot API base URL (the sandbox's hubspot_url)"
    )
    # Salesforce: a session (instance URL + session id) or the login settings
    salesforce_instance_url: AnyHttpUrl | None = Field(
        None, description="Salesforce instance URL, e.g. https://acme.my.salesforce.com"
    )
    salesforce_session_id: SecretStr | None = Field(
        None, description="a Salesforce session id (never refreshed: a 401 needs a new one)"
    )
    salesforce_username: str | None = Field(None, description="login: user name")
    salesforce_password: SecretStr | None = Field(None, description="login: password")
    salesforce_security_token: SecretStr | None = Field(None, description="login: security token")
    salesforce_domain: str = Field("login", description="login: 'login', or 'test' for sandboxes")
    salesforce_ca_bundle: Path | None = Field(
        None, description="CA bundle to verify Salesforce's TLS with (the sandbox's ca_cert)"
    )
    # Shared by both CRMs
    redis_url: SecretStr | None = Field(
        None, description="Redis URL shared by all workers (rate budget); none: in-process"
    )
    max_daily_api_share: float = Field(
        0.5,
        gt=0,
        le=1,
        description="stop a run once the CRM reports this share of its daily allowance used",
    )
    look_back_seconds: int = Field(
        600,
        ge=0,
        le=7 * DAY,
        description="incremental sync re-reads this far before the stored cursor",
    )
    # The CSV source
    csv_max_skipped_share: float = Field(
        0.01,
        ge=0,
        le=1,
        description="refuse a CSV source when more than this share of a file's rows is skipped",
    )
    # The ledger and the worker
    database_url: SecretStr | None = Field(
        None,
        description="the ledger: sqlite:///PATH (default sqlite:///territory.sqlite3, in the "
        "working directory) or postgresql://USER:PASSWORD@HOST/DB",
    )
    auto_migrate: bool = Field(
        False, description="run the ledger's migrations when the worker or beat starts"
    )
    timezone: str = Field(
        "UTC", description="IANA zone whose calendar day decides which changes are due"
    )
    visibility_timeout_seconds: int = Field(
        3600,
        ge=60,
        le=7 * DAY,
        description="Redis broker visibility timeout: a task not acknowledged by then is "
        "redelivered; countdowns stay under half of it, tasks finish within a quarter",
    )
    lease_seconds: int = Field(
        300, ge=5, le=DAY, description="how long a worker holds claimed changes before others may"
    )
    apply_chunk: int = Field(
        200, ge=1, le=200, description="changes one apply task claims and writes at a time"
    )
    max_attempts: int = Field(
        8,
        ge=1,
        le=1000,
        description="attempts per change before a transient failure of its own record counts "
        "as failed (a call failing as a whole fails no change)",
    )
    max_deliveries: int = Field(
        5, ge=1, le=1000, description="deliveries of one task message before it is parked as poison"
    )
    sync_every_minutes: float = Field(
        15,
        gt=0,
        le=WEEK_MINUTES,
        allow_inf_nan=False,
        description="beat: incremental sync into the mirror this often",
    )
    apply_every_minutes: float = Field(
        60,
        gt=0,
        le=WEEK_MINUTES,
        allow_inf_nan=False,
        description="beat: apply due changes this often",
    )
    reconcile_every_minutes: float = Field(
        10,
        gt=0,
        le=WEEK_MINUTES,
        allow_inf_nan=False,
        description="beat: finish changes whose worker lease expired this often",
    )
    relay_every_seconds: float = Field(
        60,
        gt=0,
        le=DAY,
        allow_inf_nan=False,
        description="beat: re-enqueue due work from the ledger this often",
    )
    nightly_plan_at: str = Field(
        "02:00", description="beat: plan from the mirror daily at HH:MM in TERRITORY_TIMEZONE"
    )

    @property
    def hubspot_host(self) -> str:
        """The base URL as the HubSpot client wants it (no trailing slash)."""
        return str(self.hubspot_base_url).rstrip("/")

    @field_validator(
        "hubspot_token",
        "salesforce_session_id",
        "salesforce_password",
        "salesforce_security_token",
        "redis_url",
        "database_url",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # `TERRITORY_REDIS_URL=` (set but empty) means "not set", never an empty URL.
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("hubspot_token", "salesforce_session_id")
    @classmethod
    def _one_word(cls, value: SecretStr | None) -> SecretStr | None:
        # A token goes into an Authorization header: a line break inside made the HTTP client
        # fail with the header, token included, in its message. The message here has none.
        if value is None:
            return None
        token = value.get_secret_value().strip()
        if any(c.isspace() or not c.isprintable() for c in token):
            raise ValueError(
                "holds a space, line break or control character inside; expected the token "
                "as one word (the value is not shown)"
            )
        return SecretStr(token)

    @field_validator("database_url")
    @classmethod
    def _ledger_url(cls, value: SecretStr | None) -> SecretStr | None:
        # Checked here, never shown: a malformed URL made SQLAlchemy's parser quote the part
        # it could not read (a password holding '/' read as a port), and sqlite:// opened a
        # ledger in memory that every command lost on exit.
        if value is None:
            return None
        return SecretStr(ledger_url(value.get_secret_value()))

    @field_validator("redis_url")
    @classmethod
    def _broker_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            redis_url(value.get_secret_value())
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("expected an IANA time zone such as Europe/Berlin") from None
        return value

    @field_validator("nightly_plan_at")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        try:
            time.fromisoformat(value)
        except ValueError:
            raise ValueError("expected a time of day as HH:MM") from None
        return value

    @field_validator("hubspot_base_url", "salesforce_instance_url")
    @classmethod
    def _a_base_url(cls, value: AnyHttpUrl | None) -> AnyHttpUrl | None:
        """A base URL the clients append paths to: a query or a fragment would end up in the
        middle of every request's path."""
        if value is not None and (value.query or value.fragment):
            raise ValueError("expected a base URL without ?query or #fragment")
        return value

    @field_validator("salesforce_ca_bundle")
    @classmethod
    def _bundle_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"{value}: no such file")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Explicit arguments, then TERRITORY_<NAME>_FILE secrets, then plain variables.
        return (init_settings, _SecretFiles(settings_cls), env_settings)


def _is_secret(annotation: object) -> bool:
    return annotation is SecretStr or SecretStr in getattr(annotation, "__args__", ())


class _SecretFiles(PydanticBaseSettingsSource):
    """Secret settings read from the file that `TERRITORY_<NAME>_FILE` names."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        variable = f"{PREFIX}{field_name.upper()}_FILE"
        path = os.environ.get(variable)
        if not path or not _is_secret(field.annotation):
            return None, field_name, False
        try:
            return Path(path).read_text(encoding="utf-8").strip(), field_name, False
        except OSError as exc:
            raise SettingsError(f"{variable}: cannot read {path}: {exc.strerror}") from None

    def __call__(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for name, info in self.settings_cls.model_fields.items():
            value, key, _ = self.get_field_value(info, name)
            if value is not None:
                found[key] = value
        return found


# The ledger waits this long for PostgreSQL to answer a connection: a host that accepts the
# connection and never answers (another service's port, a firewall) hung every command.
PG_CONNECT_TIMEOUT_SECONDS: Final = 10


def ledger_url(raw: str) -> str:
    """`raw` checked as a ledger URL (ValueError, never quoting it); PostgreSQL URLs gain a
    `connect_timeout` unless they set one."""
    expected = (
        "expected sqlite:///PATH or postgresql://USER:PASSWORD@HOST[:PORT]/DB, a password "
        "percent-encoded"
    )
    try:
        url = make_url(raw.strip())
        backend = url.get_backend_name()
        port = url.port
    except (ArgumentError, ValueError, TypeError):
        raise ValueError(f"{expected} (the value is not shown)") from None
    if backend == "sqlite":
        database = (url.database or "").strip()
        if not database or database == ":memory:" or "mode=memory" in database:
            raise ValueError(
                "names no file: an SQLite ledger in memory would be lost when the command "
                "ends; expected sqlite:///PATH (the value is not shown)"
            )
        return url.render_as_string(hide_password=False)
    if backend != "postgresql":
        raise ValueError(
            f"{backend!r} is not supported; {expected} (the value is not shown)"
            if backend.isidentifier()
            else f"{expected} (the value is not shown)"
        )
    if not url.host or not url.database or (port is not None and not 0 < port < 65536):
        raise ValueError(f"{expected} (the value is not shown)")
    if "connect_timeout" not in url.query:
        url = url.update_query_dict({"connect_timeout": str(PG_CONNECT_TIMEOUT_SECONDS)})
    return url.render_as_string(hide_password=False)


def redis_url(raw: str) -> None:
    """Raise ValueError (never quoting `raw`) unless it is a Redis URL with a readable port."""
    expected = (
        "expected redis://[:PASSWORD@]HOST[:PORT]/DB, rediss://… or unix://PATH, a password "
        "percent-encoded"
    )
    try:
        parts = urlsplit(raw.strip())
        port = parts.port
    except ValueError:
        raise ValueError(f"{expected} (the value is not shown)") from None
    if parts.scheme not in {"redis", "rediss", "unix"} or (
        parts.scheme != "unix" and not parts.hostname
    ):
        raise ValueError(f"{expected} (the value is not shown)")
    if port is not None and port == 0:
        raise ValueError(f"{expected} (the value is not shown)")


def load_settings() -> Settings:
    """Read settings from the environment, or raise SettingsError naming each bad variable."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{PREFIX}{'_'.join(str(p) for p in e['loc']).upper()}: "
            f"{e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors(include_input=False, include_url=False)
        )
        raise SettingsError(problems) from None
