"""The rule file, version 1: pydantic models for its shape, unknown keys forbidden.

Field names and meanings follow the reference file (`shared/rules.example.yaml`); every field
is documented here (the JSON Schema carries these descriptions) and in `docs/rules.md`.
Checks that span the file (references, catch-all row, duplicate ids) live in `rules.checks`.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    model_validator,
)

CURRENT_VERSION = 1

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_MONTH_DAY = re.compile(r"^(\d{2})-(\d{2})$")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError(f"expected an email address such as ana@example.com, got {value!r}")
    return value.lower()


def _identifier(value: str) -> str:
    if not _ID.match(value):
        raise ValueError(
            f"expected an id of letters, digits, '-', '_' or '.', got {value!r}"
        )
    return value


def _month_day(value: str) -> str:
    match = _MONTH_DAY.match(value)
    if match is None:
        raise ValueError(f"expected MM-DD such as 01-01 or 02-01, got {value!r}")
    month, day = int(match.group(1)), int(match.group(2))
    try:
        # A non-leap year: a fiscal year cannot start on 02-29.
        date(2001, month, day)
    except ValueError:
        raise ValueError(f"{value!r} is not a day of the year") from None
    return value


Email = Annotated[str, AfterValidator(_email)]
Identifier = Annotated[str, AfterValidator(_identifier)]
Share = Annotated[float, Field(gt=0, le=1)]
PositiveInt = Annotated[int, Field(gt=0)]
NonNegativeInt = Annotated[int, Field(ge=0)]
Scalar = str | int | float
FitBand = Literal["A", "B", "C", "D"]


class RuleModel(BaseModel):
    """Base of every rule-file section: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Condition(RuleModel):
    """A test on one account field. Several operators in one condition must all hold.

    A missing value makes every operator false except `exists: false`. Text compares
    case-insensitively after `values:` mapping; `between` is inclusive.
    """

    eq: Scalar | None = Field(None, description="equal to this value")
    ne: Scalar | None = Field(None, description="present and not equal to this value")
    in_: list[Scalar] | None = Field(None, alias="in", description="one of these values")
    not_in: list[Scalar] | None = Field(None, description="present and none of these values")
    between: tuple[float, float] | None = Field(
        None, description="inclusive numeric range [low, high]"
    )
    gte: float | None = Field(None, description="at least this number")
    gt: float | None = Field(None, description="more than this number")
    lte: float | None = Field(None, description="at most this number")
    lt: float | None = Field(None, description="less than this number")
    exists: bool | None = Field(None, description="true: the field has a value; false: it has none")

    @model_validator(mode="after")
    def _one_operator_at_least(self) -> Condition:
        if not self.model_fields_set:
            raise ValueError(
                "a condition needs an operator: eq, ne, in, not_in, between, gte, gt, lte, lt "
                "or exists"
            )
        if self.between is not None and self.between[0] > self.between[1]:
            raise ValueError(
                f"between: low {self.between[0]:g} is above high {self.between[1]:g}"
            )
        return self


When = dict[str, Condition]


class Calendar(RuleModel):
    """The fiscal calendar: quarters bound move budgets and reports."""

    fiscal_year_start: Annotated[str, AfterValidator(_month_day)] = Field(
        "01-01", description="MM-DD on which the fiscal year (and its first quarter) starts"
    )


class FitRow(RuleModel):
    """One ICP fit row; the first row whose conditions all hold gives the band."""

    band: Literal["A", "B", "C"] = Field(description="fit band given by this row (D = no match)")
    id: Identifier | None = Field(None, description="optional name shown by explain")
    when: When = Field(default_factory=dict, description="conditions, all of which must hold")


class Intent(RuleModel):
    """Intent tier from the latest signal: hot within hot_days, warm within warm_days."""

    hot_days: PositiveInt = Field(30, description="a signal this recent (and fit A/B) is hot")
    warm_days: PositiveInt = Field(90, description="a signal this recent (and fit A/B) is warm")
    signals: list[Identifier] = Field(
        default_factory=lambda: [
            "funding",
            "hiring",
            "leadership_change",
            "tech_adoption",
            "rfp",
            "product_usage",
        ],
        description="signal names that count; each is a date per account",
    )

    @model_validator(mode="after")
    def _warm_not_shorter_than_hot(self) -> Intent:
        if self.warm_days < self.hot_days:
            raise ValueError(
                f"warm_days ({self.warm_days}) must be at least hot_days ({self.hot_days})"
            )
        return self


class Factor(RuleModel):
    """One potential factor: a numeric field on a scale over a range, or a table of values."""

    weight: Annotated[float, Field(gt=0)] = Field(description="relative weight of this factor")
    scale: Literal["log", "linear"] | None = Field(
        None, description="numeric transform to 0..1 over `range` (clamped)"
    )
    range: tuple[float, float] | None = Field(None, description="[low, high] for the scale")
    values: dict[str, Annotated[float, Field(ge=0, le=1)]] | None = Field(
        None, description="value -> score in 0..1 for a categorical field; others score 0"
    )

    @model_validator(mode="after")
    def _scale_or_values(self) -> Factor:
        if (self.scale is None) == (self.values is None):
            raise ValueError("a factor needs either `scale` with `range`, or `values`")
        if self.scale is not None:
            if self.range is None:
                raise ValueError(f"scale: {self.scale} needs range: [low, high]")
            low, high = self.range
            if not low < high:
                raise ValueError(f"range: low {low:g} must be below high {high:g}")
            if self.scale == "log" and low <= 0:
                raise ValueError(f"scale: log needs a range above zero, got low {low:g}")
        elif self.range is not None:
            raise ValueError("range applies only with scale")
        return self


class Potential(RuleModel):
    """Weighted potential score 1-100 from explicit factors."""

    factors: dict[str, Factor] = Field(
        default_factory=lambda: {
            "employees": Factor(weight=1, scale="log", range=(10, 100_000)),
        },
        description="field name -> factor",
    )


class Tiers(RuleModel):
    """Shares of A-C accounts, ranked by (potential desc, id), in tier 1 and tier 2."""

    tier1: Share = Field(0.20, description="share of A-C accounts in tier 1")
    tier2: Share = Field(0.30, description="share of A-C accounts in tier 2; the rest is tier 3")

    @model_validator(mode="after")
    def _shares_fit(self) -> Tiers:
        if self.tier1 + self.tier2 > 1 + 1e-9:
            raise ValueError(
                f"tier1 + tier2 = {self.tier1 + self.tier2:g}; the shares must sum to at most 1"
            )
        return self


class Activity(RuleModel):
    """Whose activity counts as a touch."""

    source: Literal["any", "owner"] = Field(
        "any", description="any: anyone's touch counts; owner: only the owner's own activities"
    )
    off_territory: bool = Field(
        False, description="report a rep's activity on accounts owned by another rep"
    )


class TierMinutes(RuleModel):
    """Minutes per quarter an account of each tier costs its rep."""

    tier1: PositiveInt = 90
    tier2: PositiveInt = 45
    tier3: PositiveInt = 25


class RampRow(RuleModel):
    """A ramping rep has `share` of full capacity while days since start_date < until_day."""

    until_day: PositiveInt
    share: Share


class Role(RuleModel):
    """A selling role's account budget."""

    max_accounts: PositiveInt = Field(description="most accounts one rep of this role may hold")


class Capacity(RuleModel):
    """Two budgets per rep, both scaled by ramp: minutes per quarter and max_accounts."""

    working_days_per_quarter: PositiveInt = 60
    focus_hours_per_day: Annotated[float, Field(gt=0, le=24)] = 5
    minutes_per_account: TierMinutes = Field(default_factory=TierMinutes)
    ramp: list[RampRow] = Field(default_factory=list)
    roles: dict[Identifier, Role] = Field(
        default_factory=lambda: {"ae_full_cycle": Role(max_accounts=280)}
    )

    @model_validator(mode="after")
    def _ramp_ascending(self) -> Capacity:
        days = [row.until_day for row in self.ramp]
        if days != sorted(set(days)):
            raise ValueError("ramp rows must have strictly increasing until_day")
        return self

    @property
    def minutes_per_quarter(self) -> float:
        """Full (unramped) capacity of one rep in minutes per quarter."""
        return self.working_days_per_quarter * self.focus_hours_per_day * 60


class Pipeline(RuleModel):
    """Pipeline math: quota / deal size / win rate / conversion = accounts to work."""

    avg_deal_size: Annotated[float, Field(gt=0)]
    win_rate: Share
    account_to_opportunity: Share


class Member(RuleModel):
    """A rep (a CRM owner, by email) in one team."""

    email: Email
    industries: list[str] = Field(
        default_factory=list, description="affinity: industries this rep prefers"
    )
    quota: Annotated[float, Field(ge=0)] | None = Field(None, description="annual quota")
    start_date: date | None = Field(None, description="first day; ramp rows count from it")
    out_of_office_until: date | None = Field(
        None, description="no change for this rep takes effect before this day"
    )
    role: Identifier | None = Field(None, description="overrides the team's role")


class Team(RuleModel):
    """A team of reps sharing one role and one balance band."""

    id: Identifier
    role: Identifier = Field(description="a key of capacity.roles")
    manager: Email | None = Field(None, description="receives alerts for this team")
    escalate_to: Email | None = Field(None, description="receives unresolved alerts")
    pipeline: Pipeline | None = None
    members: list[Member] = Field(default_factory=list)


class AccountRef(RuleModel):
    """Which account a named-account row means: exactly one of id, domain or name."""

    id: str | None = None
    domain: str | None = None
    name: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> AccountRef:
        given = [k for k in ("id", "domain", "name") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("name the account by exactly one of id, domain or name")
        return self


class NamedAccount(RuleModel):
    """An explicit, approved, time-bound exception: the account goes to `owner` until expiry."""

    account: AccountRef
    owner: Email
    approved_by: Email = Field(description="who approved the exception")
    expires: date = Field(description="last day the exception holds")
    reason: str = ""


class Hierarchy(RuleModel):
    """Parent/child families."""

    children_follow_parent: bool = Field(
        True, description="a child follows its ultimate parent's planned owner"
    )


class Assign(RuleModel):
    """What a routing row does with the accounts it matches."""

    team: Identifier | None = Field(None, description="the team (or pool) the accounts go to")
    strategy: Literal["keep_owner", "balanced"] = Field(
        "balanced",
        description="keep_owner: an eligible owner keeps up to capacity; balanced: keep "
        "while the band allows and move the fewest accounts to reach it",
    )
    prefer: Literal["affinity"] | None = Field(
        None, description="affinity: prefer reps whose industries match"
    )
    unassigned: bool = Field(False, description="leave the accounts without a rep")
    watchlist: bool = Field(False, description="put the accounts in the team's watchlist pool")
    holding_owner: Email | None = Field(
        None, description="CRM owner written for unassigned/watchlist accounts"
    )

    @model_validator(mode="after")
    def _coherent(self) -> Assign:
        if self.unassigned and self.watchlist:
            raise ValueError("choose one of unassigned: true or watchlist: true")
        if self.watchlist and self.team is None:
            raise ValueError("watchlist: true needs the team whose pool holds the accounts")
        if not (self.unassigned or self.watchlist) and self.team is None:
            raise ValueError("assign needs a team (or unassigned: true / watchlist: true)")
        if self.holding_owner is not None and not (self.unassigned or self.watchlist):
            raise ValueError("holding_owner applies only with unassigned or watchlist")
        return self

    @property
    def outcome(self) -> Literal["assigned", "watchlist", "unassigned"]:
        if self.watchlist:
            return "watchlist"
        return "unassigned" if self.unassigned else "assigned"


class RoutingRow(RuleModel):
    """One routing row; the first row whose conditions all hold decides."""

    id: Identifier
    when: When = Field(default_factory=dict, description="conditions; none matches everything")
    overrides_hierarchy: bool = Field(
        False, description="route on this row even when the parent's owner would win"
    )
    assign: Assign


class Routing(RuleModel):
    """Ordered routing rows and new-account handling."""

    enrichment_wait_minutes: NonNegativeInt = 15
    keep_creator: bool = False
    rows: list[RoutingRow] = Field(min_length=1)


class IndexWeights(RuleModel):
    """Weights of potential and effort in the balance index."""

    potential: Annotated[float, Field(ge=0)] = 0.5
    effort: Annotated[float, Field(ge=0)] = 0.5

    @model_validator(mode="after")
    def _not_both_zero(self) -> IndexWeights:
        if self.potential + self.effort <= 0:
            raise ValueError("potential and effort weights cannot both be zero")
        return self


class Protect(RuleModel):
    """Accounts never moved for balance."""

    tiers: list[Literal[1, 2, 3]] = Field(default_factory=list)
    routing_rows: list[Identifier] = Field(default_factory=list)


class Balance(RuleModel):
    """Workload balance within each team."""

    index: IndexWeights = Field(default_factory=IndexWeights)
    tolerance: Annotated[float, Field(gt=0, lt=1)] = 0.10
    protect: Protect = Field(default_factory=Protect)
    max_moves_per_quarter: Annotated[float, Field(ge=0, le=1)] = 0.15


class Changes(RuleModel):
    """When changes take effect and when a run stops for approval."""

    notice_days: NonNegativeInt = 30
    max_share_per_run: Share = 0.10
    max_forced_share: Share = 0.30
    respect_manual_days: NonNegativeInt = 90


class TierDays(RuleModel):
    """Days per tier."""

    tier1: PositiveInt = 30
    tier2: PositiveInt = 60
    tier3: PositiveInt = 90


class TierTargets(RuleModel):
    """Coverage targets per tier (share of accounts covered)."""

    tier1: Share | None = 0.90
    tier2: Share | None = 0.60
    tier3: Share | None = None


class Coverage(RuleModel):
    """An account is covered when touched within its tier's window."""

    window_days: TierDays = Field(default_factory=TierDays)
    targets: TierTargets = Field(default_factory=TierTargets)


class Neglect(RuleModel):
    """Days without activity before an alert, by tier."""

    tier1: PositiveInt = 30
    tier2: PositiveInt = 60
    tier3: PositiveInt = 90
    escalate_after_days: PositiveInt = 14
    reclaim_after_days: PositiveInt | None = None


class SlackAlerts(RuleModel):
    channel: str = Field(description="channel for alerts, e.g. #territory-alerts")


class EmailAlerts(RuleModel):
    to_manager: bool = True
    to: list[Email] = Field(default_factory=list, description="extra recipients")


class Alerts(RuleModel):
    """Where alerts go."""

    slack: SlackAlerts | None = None
    email: EmailAlerts | None = None


FieldMap = dict[str, str]


class RuleFile(RuleModel):
    """A territory rule file (schema version 1)."""

    version: Literal[1] = Field(description="schema version of this file format")
    revision: str = Field(
        min_length=1, description="human revision id, written into every amendment note"
    )
    name: str = ""
    effective_from: date | None = Field(None, description="no change takes effect before this")
    calendar: Calendar = Field(default_factory=Calendar)
    fields: dict[Literal["hubspot", "salesforce", "csv"], FieldMap] = Field(
        default_factory=dict, description="per CRM: rule field -> CRM property/field name"
    )
    values: dict[str, dict[Literal["hubspot", "salesforce", "csv"], dict[str, str]]] = Field(
        default_factory=dict,
        description="per field, per CRM: raw value -> canonical value (case-insensitive)",
    )
    regions: dict[Identifier, list[str]] = Field(
        default_factory=dict, description="region -> ISO 3166 alpha-2 country codes"
    )
    fit: list[FitRow] = Field(default_factory=list)
    intent: Intent = Field(default_factory=Intent)
    potential: Potential = Field(default_factory=Potential)
    tiers: Tiers = Field(default_factory=Tiers)
    activity: Activity = Field(default_factory=Activity)
    capacity: Capacity = Field(default_factory=Capacity)
    teams: list[Team] = Field(min_length=1)
    named_accounts: list[NamedAccount] = Field(default_factory=list)
    hierarchy: Hierarchy = Field(default_factory=Hierarchy)
    routing: Routing
    balance: Balance = Field(default_factory=Balance)
    changes: Changes = Field(default_factory=Changes)
    coverage: Coverage = Field(default_factory=Coverage)
    neglect: Neglect = Field(default_factory=Neglect)
    alerts: Alerts = Field(default_factory=Alerts)

    def team(self, team_id: str) -> Team:
        """Return the team with this id (references are checked at load)."""
        for team in self.teams:
            if team.id == team_id:
                return team
        raise KeyError(team_id)
