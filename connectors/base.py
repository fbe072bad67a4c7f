"""The one protocol every source implements: CSV directory, HubSpot, Salesforce.

Reads stream domain values (`rules.domain`); failures raise the typed errors of
`connectors.errors` (transient, rate-limited, terminal, conflict). Companies come in pages
(`CompanyPage`), each carrying the token that continues the read after it, so a read stopped by
an error resumes where it stopped instead of starting over.

Writes (`write_owners`, `post_notes`) send their inputs in batches and answer with exactly one
`WriteResult` per input, in input order, whose `outcome` is one of:

- `applied`: the CRM carried it out (a note: created and attached to its company);
- `failed`: the CRM refused it, or it was refused before sending; it did not happen;
- `unknown`: it was sent and we cannot tell whether it landed (the connection dropped after
  sending, a server error on a call that may have run): resolve it by reading back
  (`read_owner_states`, `find_notes`), never by writing again blindly;
- `not_sent`: never sent, because the run stopped earlier.

One record's failure never raises. A failure of a whole call that no record can get past (bad
credentials, a missing scope, a spent allowance, a transient failure whose retries ran out)
raises its typed error with `results`: every input's outcome, the earlier batches' as they
happened, the failing batch's `failed` or `unknown`, and `not_sent` for the rest.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Final, Protocol, runtime_checkable

from connectors.errors import ConnectorError
from rules.domain import Account, Owner

# Every note we post carries this marker followed by the change id, so our own notes are found
# again (never posted twice) and never counted as activity.
NOTE_MARKER_PREFIX: Final = "territory-sync:"

# The error code of a write to no owner where the CRM requires one (`clears_owner` is False):
# nothing is sent, and the routing row needs a `holding_owner`.
HOLDING_OWNER_REQUIRED: Final = "HOLDING_OWNER_REQUIRED"

# The CRM fields territory-sync writes besides the owner (HubSpot property / Salesforce field
# names are the connector's business; these are the logical names).
TERRITORY_FIELDS: Final = ("territory", "rule_revision", "effective_date", "assigned_at", "lock")


def note_marker(change_id: str) -> str:
    """The marker a note for `change_id` carries."""
    return f"{NOTE_MARKER_PREFIX}{change_id}"


def carries_marker(text: str | None) -> bool:
    """True when `text` (a note or activity body) is one of ours."""
    return bool(text) and NOTE_MARKER_PREFIX in (text or "")


@dataclass(frozen=True, slots=True)
class CompanyPage:
    """One page of a company read and the token that continues the read after it (None on
    the last page): `iter_company_pages(since=…, resume=page.resume)` yields the pages that
    follow this one, with the same `since`."""

    accounts: list[Account]
    resume: str | None


def accounts_in(pages: Iterable[CompanyPage]) -> Iterator[Account]:
    """Every account of `pages`, in order."""
    for page in pages:
        yield from page.accounts


@dataclass(frozen=True, slots=True)
class OwnerState:
    """An account as write-back reads it just before writing: its owner (None: no owner) and
    whether its `territory_lock` is set (a locked account is never written)."""

    owner_id: str | None
    locked: bool = False


def owners_in(states: Mapping[str, OwnerState]) -> dict[str, str | None]:
    """The owner per account of `states`."""
    return {account_id: state.owner_id for account_id, state in states.items()}


@dataclass(frozen=True, slots=True)
class OwnerWrite:
    """Set `account_id`'s owner to `owner_id` (None: no owner, where the CRM allows it; see
    `Connector.clears_owner`), with the territory fields alongside."""

    account_id: str
    owner_id: str | None
    fields: Mapping[str, str] = field(default_factory=dict)  # logical name -> value


class WriteOutcome(StrEnum):
    """What became of one input of a write (see this module's docstring)."""

    APPLIED = "applied"
    FAILED = "failed"
    UNKNOWN = "unknown"
    NOT_SENT = "not_sent"

    @classmethod
    def after(cls, error: ConnectorError) -> WriteOutcome:
        """The outcome of the inputs of a call that failed with `error` (as the retry loop
        left it): never sent, may have run, or refused."""
        if error.attempts == 0:
            return cls.NOT_SENT
        return cls.UNKNOWN if error.may_have_run else cls.FAILED


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What became of one input of a write: its outcome, the error when it did not apply, the
    created record (a note) when there is one, and how many requests carried it."""

    account_id: str
    outcome: WriteOutcome
    error: ConnectorError | None = None
    record_id: str | None = None
    attempts: int = 1

    @property
    def ok(self) -> bool:
        """True when the write was applied."""
        return self.outcome is WriteOutcome.APPLIED


@dataclass(frozen=True, slots=True)
class Note:
    """An amendment note on `account_id`; `body` must carry `note_marker(change_id)`."""

    account_id: str
    change_id: str
    body: str
    timestamp: datetime

    @property
    def marker(self) -> str:
        return note_marker(self.change_id)


@dataclass(frozen=True, slots=True)
class FieldCheck:
    """The territory fields: which exist, which this run created, which are missing and why."""

    present: tuple[str, ...] = ()
    created: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    detail: str = ""

    @property
    def ok(self) -> bool:
        return not self.missing


@dataclass(frozen=True, slots=True)
class BudgetReport:
    """API use by this connector in this process, and what the CRM last said about its limits."""

    calls: int = 0
    calls_by_kind: Mapping[str, int] = field(default_factory=dict)
    rate_limited: int = 0  # 429s (or equivalents) the CRM served us
    waited_seconds: float = 0.0  # time spent waiting on the shared budget before calls
    remaining: int | None = None  # the CRM's own count, from its headers, when it sends one
    limit: int | None = None
    daily_used: int | None = None
    daily_limit: int | None = None


@runtime_checkable
class Connector(Protocol):
    """A CRM (or an export of one) seen through the operations territory-sync needs."""

    name: str

    @property
    def clears_owner(self) -> bool:
        """Whether a write with `owner_id=None` leaves a record without an owner; False where
        the CRM requires one on every record (Salesforce: such a write fails with
        HOLDING_OWNER_REQUIRED, unsent)."""
        ...

    @property
    def write_batch_size(self) -> int:
        """How many owner writes (or notes) one call to the CRM carries. Write-back hands
        `write_owners` and `post_notes` slices of this size, one batch call each, and renews
        its lease before each slice."""
        ...

    def account_id(self) -> str:
        """The CRM account this connector reads and writes (HubSpot portal id, Salesforce org
        id, the CSV directory's absolute path): what a ledger binds to."""
        ...

    def iter_company_pages(
        self, *, since: datetime | None = None, resume: str | None = None
    ) -> Iterator[CompanyPage]:
        """Every live company (or those modified at or after `since`, minus the look-back) in
        pages; with `resume` (a page's token, same `since`), only the pages after that one."""
        ...

    def iter_companies(self, *, since: datetime | None = None) -> Iterator[Account]:
        """Every live company, or those modified at or after `since` (minus the look-back)."""
        ...

    def iter_archived_company_ids(self, *, since: datetime | None = None) -> Iterator[str]:
        """Ids of companies deleted/archived in the CRM (absent from `iter_companies`); with
        `since`, at least those deleted at or after it (minus the look-back)."""
        ...

    def iter_owners(self) -> Iterator[Owner]:
        """Every owner/user, deactivated ones included (`active=False`)."""
        ...

    def iter_owner_activity(
        self, account_ids: Iterable[str] | None = None, *, since: datetime | None = None
    ) -> Iterator[tuple[str, str, datetime]]:
        """(account id, owner id, latest touch) per pair; our own notes never count. With
        `since`, at least the pairs touched at or after it (minus the look-back)."""
        ...

    def read_owners(self, account_ids: Sequence[str]) -> dict[str, str | None]:
        """Current owner per account (None: no owner); unknown accounts are left out."""
        ...

    def read_owner_states(self, account_ids: Sequence[str]) -> dict[str, OwnerState]:
        """Current owner and territory lock per account, in the calls `read_owners` makes (the
        lock rides along in the same reads); unknown accounts are left out. Where the CRM has
        no lock field, every account reads unlocked."""
        ...

    def write_owners(self, writes: Sequence[OwnerWrite]) -> list[WriteResult]:
        """Apply owner changes in batches; one result per write, in input order (a run-stopping
        error carries them as `results`)."""
        ...

    def find_notes(self, account_ids: Sequence[str], markers: Iterable[str]) -> dict[str, str]:
        """Marker -> note id for each of `markers` already on one of `account_ids`.

        When both have the same length, `markers[i]` belongs on `account_ids[i]` (as the
        write-back asks): a connector whose notes are created and attached in two calls
        (Salesforce) also finds a note created but never attached, and attaches it there.
        """
        ...

    def post_notes(self, notes: Sequence[Note]) -> list[WriteResult]:
        """Create notes owned by the integration; one result per note, in input order (a
        run-stopping error carries them as `results`)."""
        ...

    def ensure_fields(self, *, create: bool = True) -> FieldCheck:
        """Check (and where allowed create) the territory fields."""
        ...

    def budget(self) -> BudgetReport:
        """API calls made and the CRM's latest limit figures."""
        ...
