"""The rule file, version 1: pydantic models for its shape, unknown keys forbidden.

Field names and meanings follow the reference file (`examples/rules.yaml`); every field
is documented here (the JSON Schema carries these descriptions) and in `docs/rules.md`.
Checks that span the file (references, catch-all row, duplicate ids) live in `rules.checks`.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    ValidationInfo,
    field_validator,
    model_validator,
)

from rules.reasons import Outcome

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
            f"expected an id of letters, digits, '-', '_' or '.' (starting with a letter or "
            f"digit), got {value!r}"
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
        raise ValueError(f"expected MM-DD, but {value!r} is not a day of the year") from None
    return value


def _not_a_number(value: Any) -> Any:
    # Pydantic would read a bare number as a Unix timestamp: `expires: 20270630` is a mistake.
    if isinstance(value, int | float) and not isinstance(value, bool):
        # pydantic reports only ValueError as a validation error, so not TypeError.
        raise ValueError(f"expected a date YYYY-MM-DD such as 2027-06-30, got {value}")  # noqa: TRY004
    return value


Email = Annotated[str, AfterValidator(_email)]
Identifier = Annotated[str, AfterValidator(_identifier)]
Day = Annotated[date, BeforeValidator(_not_a_number)]
# Numbers and flags are strict: YAML already typed them, so `true` is not 1, `yes` is not
# true (YAML 1.2 reads it as text) and a quoted "30" is text, not thirty.
Number = StrictFloat
Flag = StrictBool
Share = Annotated[StrictFloat, Field(gt=0, le=1)]
PositiveNumber = Annotated[StrictFloat, Field(gt=0)]
PositiveInt = Annotated[StrictInt, Field(gt=0)]
NonNegativeInt = Annotated[StrictInt, Field(ge=0)]
# Days a change waits or a hand edit is kept: ten years at most, so the date it leads to stays
# in the calendar from any plannable day (--as-of ends at 2999-12-31; dates at 9999-12-31).
DayCount = Annotated[StrictInt, Field(ge=0, le=3650)]
Scalar = str | StrictInt | StrictFloat
Pair = tuple[StrictFloat, StrictFloat]
FitBand = Literal["A", "B", "C", "D"]


def _ordered_pair(value: Pair | None) -> Pair | None:
    if value is not None and not value[0] < value[1]:
        raise ValueError(
            f"expected [low, high] with low below high, got [{value[0]:g}, {value[1]:g}]"
        )
    return value


class RuleModel(BaseModel):
    """Base of every rule-file section: unknown keys are errors, values are immutable."""

    # .inf and .nan are YAML numbers, but no count, share or bound of a rule file is infinite.
    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, allow_inf_nan=False
    )


class Condition(RuleModel):
    """A test on one account field. Several operators in one condition must all hold.

    A missing value makes every operator false except `exists: false`. Text compares
    case-insensitively after `values:` mapping; `between` is inclusive.
    """

    eq: Scalar | None = Field(None, description="equal to this value")
    ne: Scalar | None = Field(None, description="present and not equal to this value")
    in_: list[Scalar] | None = Field(None, alias="in", description="one of these values")
    not_in: list[Scalar] | None = Field(None, description="present and none of these values")
    between: Pair | None = Field(None, description="inclusive numeric range [low, high]")
    gte: Number | None = Field(None, description="at least this number")
    gt: Number | None = Field(None, description="more than this number")
    lte: Number | None = Field(None, description="at most this number")
    lt: Number | None = Field(None, description="less than this number")
    exists: Flag | None = Field(None, description="true: the field has a value; false: it has none")

    @field_validator(
        "eq", "ne", "in_", "not_in", "between", "gte", "gt", "lte", "lt", "exists", mode="before"
    )
    @classmethod
    def _value_given(cls, value: Any) -> Any:
        # `eq:` with nothing after it would otherwise be an operator that tests nothing.
        if value is None:
            raise ValueError("expected a value after the operator, got an empty value")
        return value

    @field_validator("between")
    @classmethod
    def _low_not_above_high(cls, value: Pair | None) -> Pair | None:
        if value is not None and value[0] > value[1]:
            raise ValueError(
                f"expected [low, high] with low at most high, got [{value[0]:g}, {value[1]:g}]"
            )
        return value

    @model_validator(mode="after")
    def _one_operator_at_least(self) -> Condition:
        if not self.model_fields_set:
            raise ValueError(
                "a condition needs an operator: eq, ne, in, not_in, between, gte, gt, lte, lt "
                "or exists"
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
    when: When = Field(
        default_factory=dict, description="conditions, all of which must hold; none: every account"
    )


class Intent(RuleModel):
    """Intent tier from the latest signal: hot within hot_days, warm within warm_days."""

    hot_days: PositiveInt = Field(30, description="a signal this recent (and fit A/B) is hot")
    warm_days: PositiveInt = Field(
        90,
        validate_default=True,
        description="a signal this recent (and fit A/B) is warm; at least hot_days",
    )
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

    @field_validator("warm_days")
    @classmethod
    def _warm_not_shorter_than_hot(cls, value: int, info: ValidationInfo) -> int:
        hot = info.data.get("hot_days")
        if hot is not None and value < hot:
            raise ValueError(f"warm_days ({value}) must be at least hot_days ({hot})")
        return value


class Factor(RuleModel):
    """One potential factor: a numeric field on a scale over a range, or a table of values."""

    weight: PositiveNumber = Field(description="relative weight of this factor")
    scale: Literal["log", "linear"] | None = Field(
        None, description="numeric transform to 0..1 over `range` (clamped)"
    )
    range: Pair | None = Field(
        None, description="[low, high] for the scale; low below high, above zero for log"
    )
    values: dict[str, Annotated[StrictFloat, Field(ge=0, le=1)]] | None = Field(
        None, description="value -> score in 0..1 for a categorical field; others score 0"
    )

    @field_validator("range")
    @classmethod
    def _range_fits_scale(cls, value: Pair | None, info: ValidationInfo) -> Pair | None:
        if value is None:
            return value
        _ordered_pair(value)
        if info.data.get("scale") == "log" and value[0] <= 0:
            raise ValueError(f"scale: log needs a range above zero, got low {value[0]:g}")
        return value

    @model_validator(mode="after")
    def _scale_or_values(self) -> Factor:
        if (self.scale is None) == (self.values is None):
            raise ValueError("a factor needs either `scale` with `range`, or `values`")
        if self.scale is not None and self.range is None:
            raise ValueError(f"scale: {self.scale} needs range: [low, high]")
        if self.scale is None and self.range is not None:
            raise ValueError("range applies only with scale")
        return self


class Potential(RuleModel):
    """Weighted potential score 1-100 from explicit factors."""

    factors: dict[str, Factor] = Field(
        default_factory=lambda: {
            "employees": Factor(weight=1, scale="log", range=(10, 100_000)),
        },
        min_length=1,
        description="field name -> factor",
    )


class Tiers(RuleModel):
    """Shares of A-C accounts, ranked by (potential desc, id), in tier 1 and tier 2."""

    tier1: Share = Field(0.20, description="share of A-C accounts in tier 1")
    tier2: Share = Field(
        0.30,
        validate_default=True,
        description="share of A-C accounts in tier 2; the rest is tier 3",
    )

    @field_validator("tier2")
    @classmethod
    def _shares_fit(cls, value: float, info: ValidationInfo) -> float:
        tier1 = info.data.get("tier1")
        if tier1 is not None and tier1 + value > 1 + 1e-9:
            raise ValueError(f"tier1 + tier2 = {tier1 + value:g}; the shares must sum to at most 1")
        return value


class Activity(RuleModel):
    """Whose activity counts as a touch."""

    source: Literal["any", "owner"] = Field(
        "any", description="any: anyone's touch counts; owner: only the owner's own activities"
    )
    off_territory: Flag = Field(
        False, description="report a rep's activity on accounts owned by another rep"
    )


class TierMinutes(RuleModel):
    """Minutes per quarter an account of each tier costs its rep."""

    tier1: PositiveInt = Field(90, description="minutes per quarter for a tier-1 account")
    tier2: PositiveInt = Field(45, description="minutes per quarter for a tier-2 account")
    tier3: PositiveInt = Field(25, description="minutes per quarter for a tier-3 account")


class RampRow(RuleModel):
    """A ramping rep has `share` of full capacity while days since start_date < until_day."""

    until_day: PositiveInt = Field(description="applies while days since start_date < this")
    share: Share = Field(description="share of full capacity (minutes and max_accounts)")


class Role(RuleModel):
    """A selling role's account budget."""

    max_accounts: PositiveInt = Field(description="most accounts one rep of this role may hold")


class Capacity(RuleModel):
    """Two budgets per rep, both scaled by ramp: minutes per quarter and max_accounts."""

    working_days_per_quarter: PositiveInt = Field(60, description="selling days in a quarter")
    focus_hours_per_day: Annotated[StrictFloat, Field(gt=0, le=24)] = Field(
        5, description="hours a day a rep spends on accounts"
    )
    minutes_per_account: TierMinutes = Field(
        default_factory=TierMinutes, description="load of one account per quarter, by tier"
    )
    ramp: list[RampRow] = Field(
        default_factory=list,
        description="ramp rows with strictly increasing until_day; after the last: full",
    )
    roles: dict[Identifier, Role] = Field(
        default_factory=lambda: {"ae_full_cycle": Role(max_accounts=280)},
        description="role id -> account budget; teams and members name these",
    )

    @field_validator("ramp")
    @classmethod
    def _ramp_ascending(cls, rows: list[RampRow]) -> list[RampRow]:
        for i in range(1, len(rows)):
            if rows[i].until_day <= rows[i - 1].until_day:
                raise ValueError(
                    f"until_day must increase from row to row: ramp[{i}].until_day "
                    f"{rows[i].until_day} is not above ramp[{i - 1}].until_day "
                    f"{rows[i - 1].until_day}"
                )
        return rows

    @property
    def minutes_per_quarter(self) -> float:
        """Full (unramped) capacity of one rep in minutes per quarter."""
        return self.working_days_per_quarter * self.focus_hours_per_day * 60


class Pipeline(RuleModel):
    """Pipeline math: quota / deal size / win rate / conversion = accounts to work."""

    avg_deal_size: PositiveNumber = Field(description="average won deal size")
    win_rate: Share = Field(description="share of opportunities won")
    account_to_opportunity: Share = Field(
        description="share of worked accounts that become an opportunity in a year"
    )


class Member(RuleModel):
    """A rep (a CRM owner, by email) in one team."""

    email: Email = Field(description="the rep's CRM owner email; one team per rep")
    industries: list[str] = Field(
        default_factory=list, description="affinity: industries this rep prefers"
    )
    quota: Annotated[StrictFloat, Field(ge=0)] | None = Field(None, description="annual quota")
    start_date: Day | None = Field(None, description="first day; ramp rows count from it")
    out_of_office_until: Day | None = Field(
        None, description="no change for this rep takes effect before this day"
    )
    role: Identifier | None = Field(None, description="overrides the team's role")


class Team(RuleModel):
    """A team of reps sharing one role and one balance band."""

    id: Identifier = Field(description="unique team id; routing rows name it")
    role: Identifier = Field(description="a key of capacity.roles")
    manager: Email | None = Field(None, description="receives alerts for this team")
    escalate_to: Email | None = Field(None, description="receives unresolved alerts")
    pipeline: Pipeline | None = Field(None, description="pipeline math for quota coverage")
    members: list[Member] = Field(default_factory=list, description="the team's reps")


class AccountRef(RuleModel):
    """Which account a named-account row means: exactly one of id, domain or name."""

    id: str | None = Field(None, min_length=1, description="the CRM record id")
    domain: str | None = Field(None, min_length=1, description="the company's domain")
    name: str | None = Field(None, min_length=1, description="the exact company name")

    @model_validator(mode="after")
    def _exactly_one(self) -> AccountRef:
        given = [k for k in ("id", "domain", "name") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("name the account by exactly one of id, domain or name")
        return self


class NamedAccount(RuleModel):
    """An explicit, approved, time-bound exception: the account goes to `owner` until expiry."""

    account: AccountRef = Field(description="the account: one of id, domain or name")
    owner: Email = Field(description="the rep who keeps the account, even above capacity")
    approved_by: Email = Field(description="who approved the exception")
    expires: Day = Field(description="last day the exception holds")
    reason: str = Field("", description="why; shown by explain")


class Hierarchy(RuleModel):
    """Parent/child families."""

    children_follow_parent: Flag = Field(
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
    unassigned: Flag = Field(False, description="leave the accounts without a rep")
    watchlist: Flag = Field(False, description="put the accounts in the team's watchlist pool")
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
    def outcome(self) -> Outcome:
        if self.watchlist:
            return Outcome.WATCHLIST
        return Outcome.UNASSIGNED if self.unassigned else Outcome.ASSIGNED


class RoutingRow(RuleModel):
    """One routing row; the first row whose conditions all hold decides."""

    id: Identifier = Field(description="unique row id; explain and balance.protect name it")
    when: When = Field(default_factory=dict, description="conditions; none matches everything")
    overrides_hierarchy: Flag = Field(
        False, description="route on this row even when the parent's owner would win"
    )
    assign: Assign = Field(description="what happens to the accounts this row matches")


class Routing(RuleModel):
    """Ordered routing rows and new-account handling."""

    enrichment_wait_minutes: NonNegativeInt = Field(
        15, description="a new account waits this long for the fields the rules read"
    )
    keep_creator: Flag = Field(
        False, description="keep a new account with the rep who created it when eligible"
    )
    rows: list[RoutingRow] = Field(
        min_length=1, description="ordered rows; first match wins; the last matches everything"
    )


class IndexWeights(RuleModel):
    """Weights of potential and effort in the balance index."""

    potential: Annotated[StrictFloat, Field(ge=0)] = Field(0.5, description="weight of potential")
    effort: Annotated[StrictFloat, Field(ge=0)] = Field(0.5, description="weight of effort minutes")

    @model_validator(mode="after")
    def _not_both_zero(self) -> IndexWeights:
        if self.potential + self.effort <= 0:
            raise ValueError("potential and effort weights cannot both be zero")
        return self


class Protect(RuleModel):
    """Accounts never moved for balance."""

    tiers: list[Literal[1, 2, 3]] = Field(
        default_factory=list, description="accounts of these tiers keep their eligible owner"
    )
    routing_rows: list[Identifier] = Field(
        default_factory=list, description="accounts routed by these rows keep their owner"
    )


class Balance(RuleModel):
    """Workload balance within each team."""

    index: IndexWeights = Field(
        default_factory=IndexWeights, description="index = work share / capacity share"
    )
    tolerance: Annotated[StrictFloat, Field(gt=0, lt=1)] = Field(
        0.10, description="every rep's index within 1 ± tolerance"
    )
    protect: Protect = Field(default_factory=Protect, description="never moved for balance")
    max_moves_per_quarter: Annotated[StrictFloat, Field(ge=0, le=1)] = Field(
        0.15, description="share of accounts balancing may move per fiscal quarter"
    )


class Changes(RuleModel):
    """When changes take effect and when a run stops for approval."""

    notice_days: DayCount = Field(
        30, description="discretionary changes take effect after this notice"
    )
    max_share_per_run: Share = Field(
        0.10, description="discretionary changes above this share of accounts stop for approval"
    )
    max_forced_share: Share = Field(
        0.30, description="forced changes above this share of accounts stop for approval"
    )
    respect_manual_days: DayCount = Field(90, description="an owner set by hand is kept this long")


class TierDays(RuleModel):
    """Days per tier."""

    tier1: PositiveInt = Field(30, description="days for a tier-1 account")
    tier2: PositiveInt = Field(60, description="days for a tier-2 account")
    tier3: PositiveInt = Field(90, description="days for a tier-3 account")


class TierTargets(RuleModel):
    """Coverage targets per tier (share of accounts covered)."""

    tier1: Share | None = Field(0.90, description="target share of tier-1 accounts covered")
    tier2: Share | None = Field(0.60, description="target share of tier-2 accounts covered")
    tier3: Share | None = Field(None, description="target share of tier-3 accounts covered")


class Coverage(RuleModel):
    """An account is covered when touched within its tier's window."""

    window_days: TierDays = Field(
        default_factory=TierDays, description="a touch this recent covers an account"
    )
    targets: TierTargets = Field(default_factory=TierTargets, description="targets per tier")


class Neglect(RuleModel):
    """Days without activity before an alert, by tier."""

    tier1: PositiveInt = Field(30, description="days without activity on a tier-1 account")
    tier2: PositiveInt = Field(60, description="days without activity on a tier-2 account")
    tier3: PositiveInt = Field(90, description="days without activity on a tier-3 account")
    escalate_after_days: PositiveInt = Field(
        14, description="an alert unresolved this long goes to the team's escalate_to"
    )
    reclaim_after_days: PositiveInt | None = Field(
        None, description="when set, unworked accounts go back to the team pool after this long"
    )


class SlackAlerts(RuleModel):
    """Alerts posted to Slack."""

    channel: str = Field(description="channel for alerts, e.g. #territory-alerts")


class EmailAlerts(RuleModel):
    """Alerts sent by email."""

    to_manager: Flag = Field(True, description="send a team's alerts to its manager")
    to: list[Email] = Field(default_factory=list, description="extra recipients")


class Alerts(RuleModel):
    """Where alerts go."""

    slack: SlackAlerts | None = Field(None, description="post alerts to Slack")
    email: EmailAlerts | None = Field(None, description="send alerts by email")


FieldMap = dict[str, str]


class RuleFile(RuleModel):
    """A territory rule file (schema version 1)."""

    version: Literal[1] = Field(description="schema version of this file format")
    revision: str = Field(
        min_length=1, description="human revision id, written into every amendment note"
    )
    name: str = Field("", description="display name of the plan")
    effective_from: Day | None = Field(None, description="no change takes effect before this")
    calendar: Calendar = Field(default_factory=Calendar, description="the fiscal calendar")
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
    fit: list[FitRow] = Field(
        default_factory=list, description="ICP fit rows; first match wins; no match is D"
    )
    intent: Intent = Field(default_factory=Intent, description="intent tier windows and signals")
    potential: Potential = Field(default_factory=Potential, description="potential score 1-100")
    tiers: Tiers = Field(default_factory=Tiers, description="tier shares of A-C accounts")
    activity: Activity = Field(default_factory=Activity, description="what counts as a touch")
    capacity: Capacity = Field(default_factory=Capacity, description="rep capacity budgets")
    teams: list[Team] = Field(min_length=1, description="teams of reps; one team per rep")
    named_accounts: list[NamedAccount] = Field(
        default_factory=list, description="approved, time-bound exceptions"
    )
    hierarchy: Hierarchy = Field(default_factory=Hierarchy, description="parent/child families")
    routing: Routing = Field(description="ordered routing rows")
    balance: Balance = Field(default_factory=Balance, description="workload balance per team")
    changes: Changes = Field(default_factory=Changes, description="notice and approval limits")
    coverage: Coverage = Field(default_factory=Coverage, description="coverage windows, targets")
    neglect: Neglect = Field(default_factory=Neglect, description="neglect alert windows")
    alerts: Alerts = Field(default_factory=Alerts, description="where alerts go")

    def team(self, team_id: str) -> Team:
        """Return the team with this id (references are checked at load)."""
        for team in self.teams:
            if team.id == team_id:
                return team
        raise KeyError(team_id)
