"""Salesforce behind the connector protocol, through simple_salesforce.

Reads are SOQL: Accounts in pages by keyset (`companies.py`), deleted Accounts through
queryAll, Users with `IsActive` (inactive users keep owning records), and Tasks and Events by
`AccountId` for per-owner activity; the org id comes from `SELECT Id FROM Organization`.
Incremental reads (companies, deletions, activity) start a look-back before the cursor, so an
edit committed late is not missed. Writes go through sObject Collections, 200 records per
call with `allOrNone: false`, answered per record in input order; a failure of a whole call
stops the run, raising its error with every input's outcome (see `connectors.base`). Collections
have no
per-record precondition: compare-before-write (read the owners with `read_owners`, then write)
has the same race as HubSpot's batch update; `read_owner_version` and `write_owner_if_unchanged`
use the single-record ETag / If-Match for the reconciler. Salesforce requires an owner on
every Account, so a write to no owner fails with HOLDING_OWNER_REQUIRED without being sent.

The custom territory fields are checked with describe, never created: an admin deploys them
from docs/salesforce/.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, Final

import requests

from connectors.base import (
    HOLDING_OWNER_REQUIRED,
    BudgetReport,
    CompanyPage,
    FieldCheck,
    Note,
    OwnerState,
    OwnerWrite,
    WriteOutcome,
    WriteResult,
    accounts_in,
    carries_marker,
)
from connectors.batching import BatchedWrite
from connectors.budget import RateBudget, salesforce_windows
from connectors.errors import ConnectorError, TerminalError
from connectors.records import AccountBuilder, parse_instant
from connectors.retry import Replay, RetryPolicy
from connectors.salesforce import notes
from connectors.salesforce.client import SalesforceClient
from connectors.salesforce.companies import LOCK_FIELD, AccountPages
from connectors.salesforce.config import SalesforceConfig
from connectors.salesforce.failures import record_error
from connectors.salesforce.fields import METADATA_HINT, TERRITORY_CUSTOM_FIELDS, write_values
from connectors.salesforce.queries import (
    batches,
    datetime_literal,
    id_list,
    record_id,
    select,
)
from rules.domain import Account, Owner
from rules.readable_fields import missing_from
from rules.schema import RuleFile

USER_FIELDS: Final = ("Id", "Email", "FirstName", "LastName", "IsActive", "ManagerId")
# Per activity object: extra filter, and the fields that date a touch, most precise first.
ACTIVITY_SOURCES: Final = (
    ("Task", "IsClosed = true", ("CompletedDateTime", "ActivityDate")),
    ("Event", "", ("ActivityDateTime", "ActivityDate")),
)


class SalesforceConnector:
    """One org, read and written for one rule file."""

    name = "salesforce"
    clears_owner = False  # every Account has an owner: a write to none is refused unsent

    def __init__(
        self,
        config: SalesforceConfig,
        *,
        rule: RuleFile | None = None,
        budget: RateBudget | None = None,
        session: requests.Session | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self.builder = AccountBuilder("salesforce", rule)
        self.client = SalesforceClient(
            config,
            budget=budget
            or RateBudget(salesforce_windows(), max_daily_share=config.max_daily_share),
            session=session,
            retry=retry,
            sleep=sleep,
        )
        # User id -> manager's user id, filled by iter_owners (for manager alerts).
        self.managers: dict[str, str] = {}
        self._pages = AccountPages(self.client, self.builder, config.page_size, self._readable)
        self._org_id: str | None = None
        self._described: frozenset[str] | None = None

    # ---- reads ------------------------------------------------------------------------------

    @property
    def write_batch_size(self) -> int:
        """Records or notes per sObject Collections call (`SalesforceConfig.write_batch_size`,
        200)."""
        return self.config.write_batch_size

    def account_id(self) -> str:
        """The org id (`SELECT Id FROM Organization`), asked once."""
        if self._org_id is None:
            records = list(self.client.query(select("Organization", ["Id"])))
            if not records:
                raise TerminalError("Salesforce answered no Organization record", code="NO_ORG")
            self._org_id = str(records[0]["Id"])
        return self._org_id

    def _readable(self, field: str) -> bool:
        """Whether Account has `field` (describe, asked once per connector)."""
        return field in self._account_field_names()

    def iter_company_pages(
        self, *, since: datetime | None = None, resume: str | None = None
    ) -> Iterator[CompanyPage]:
        """Accounts in keyset pages (see `companies.AccountPages`): by `Id`, or with `since`
        by (`SystemModstamp`, `Id`) from `since` minus the look-back."""
        if since is None:
            return self._pages.all(resume)
        return self._pages.modified_since(since - self.config.look_back, resume)

    def iter_companies(self, *, since: datetime | None = None) -> Iterator[Account]:
        return accounts_in(self.iter_company_pages(since=since))

    def iter_archived_company_ids(self, *, since: datetime | None = None) -> Iterator[str]:
        """Deleted Accounts (queryAll); with `since`, those deleted from `since` minus the
        look-back (deleting an Account bumps its SystemModstamp)."""
        where = ["IsDeleted = true"]
        if since is not None:
            where.append(f"SystemModstamp >= {datetime_literal(since - self.config.look_back)}")
        soql = select("Account", ["Id"], where, order_by="Id")
        for record in self.client.query(soql, include_deleted=True):
            yield record["Id"]

    def iter_owners(self) -> Iterator[Owner]:
        for record in self.client.query(select("User", USER_FIELDS, order_by="Id")):
            if record.get("ManagerId"):
                self.managers[record["Id"]] = record["ManagerId"]
            yield Owner(
                id=record["Id"],
                email=(record.get("Email") or "").lower(),
                first_name=record.get("FirstName") or "",
                last_name=record.get("LastName") or "",
                active=bool(record.get("IsActive")),
            )

    def iter_owner_activity(
        self, account_ids: Iterable[str] | None = None, *, since: datetime | None = None
    ) -> Iterator[tuple[str, str, datetime]]:
        """Latest Task/Event per (account, owner), of those changed from `since` minus the
        look-back when given; activity carrying our marker is skipped."""
        groups = [None] if account_ids is None else list(batches(dict.fromkeys(account_ids)))
        changed = []
        if since is not None:
            changed.append(f"SystemModstamp >= {datetime_literal(since - self.config.look_back)}")
        latest: dict[tuple[str, str], datetime] = {}
        for sobject, condition, dated_by in ACTIVITY_SOURCES:
            for group in groups:
                where = [f"AccountId IN {id_list(group)}" if group else "AccountId != NULL"]
                where += [condition] if condition else []
                where += changed
                fields = ["AccountId", "OwnerId", "Subject", *dated_by]
                for record in self.client.query(select(sobject, fields, where)):
                    _fold_touch(latest, record, dated_by)
        for (account_id, owner_id), at in sorted(latest.items()):
            yield account_id, owner_id, at

    def read_owners(self, account_ids: Sequence[str]) -> dict[str, str | None]:
        return {r["Id"]: r.get("OwnerId") for r in self._owner_records(account_ids, ["OwnerId"])}

    def read_owner_states(self, account_ids: Sequence[str]) -> dict[str, OwnerState]:
        """Owner and `Territory_Lock__c` in the same queries as `read_owners`; an org without
        the field (describe, asked once; `ensure_fields` answers it) reads unlocked."""
        fields = ["OwnerId", *([LOCK_FIELD] if self._readable(LOCK_FIELD) else [])]
        return {
            r["Id"]: OwnerState(r.get("OwnerId"), r.get(LOCK_FIELD) is True)
            for r in self._owner_records(account_ids, fields)
        }

    def _owner_records(
        self, account_ids: Sequence[str], fields: list[str]
    ) -> Iterator[dict[str, Any]]:
        """`Id` and `fields` of the Accounts of `account_ids`, a query per batch of ids."""
        for batch in batches(dict.fromkeys(account_ids)):
            soql = select("Account", ["Id", *fields], [f"Id IN {id_list(batch)}"])
            yield from self.client.query(soql)

    def read_owner_version(self, account_id: str) -> tuple[str | None, str | None]:
        """(owner, ETag) of one Account, for a conditional write by the reconciler."""
        path = f"sobjects/Account/{record_id(account_id)}?fields=Id,OwnerId"
        record = self.client.rest("read", path).value
        return record.get("OwnerId"), self.client.last_header("ETag")

    # ---- writes -----------------------------------------------------------------------------

    def write_owners(self, writes: Sequence[OwnerWrite]) -> list[WriteResult]:
        """Owner and territory fields in collections of 200; a write to no owner fails with
        HOLDING_OWNER_REQUIRED, unsent (Salesforce requires an owner on every Account)."""
        run = BatchedWrite([w.account_id for w in writes])
        records: dict[int, dict[str, object]] = {}
        for position, write in enumerate(writes):
            try:
                records[position] = _update_record(write)
            except TerminalError as error:
                run.refuse(position, error)
        for batch in batches(records, self.config.write_batch_size):
            self._write_batch(batch, records, run)
        return run.results()

    def _write_batch(
        self, batch: list[int], records: dict[int, dict[str, object]], run: BatchedWrite
    ) -> None:
        body = {"allOrNone": False, "records": [records[p] for p in batch]}
        try:
            sent = self.client.rest(
                "write", "composite/sobjects", method="PATCH", body=body, replay=Replay.UPDATE
            )
        except ConnectorError as error:
            run.stop(error, batch)
        run.sent(batch, sent.attempts)
        saves = sent.value
        if not isinstance(saves, list) or len(saves) != len(batch):
            unexpected = TerminalError(
                f"Salesforce answered {len(saves) if isinstance(saves, list) else 'no'} "
                f"results for {len(batch)} records; treating the whole batch as unknown",
                code="UNEXPECTED_REPLY",
            )
            run.stop(unexpected, batch, outcome=WriteOutcome.UNKNOWN)
        for position, save in zip(batch, saves, strict=True):
            if isinstance(save, dict) and save.get("success"):
                run.settle(position, WriteOutcome.APPLIED)
            else:
                errors = save.get("errors") if isinstance(save, dict) else None
                run.settle(position, WriteOutcome.FAILED, error=record_error(errors))

    def write_owner_if_unchanged(self, write: OwnerWrite, etag: str) -> WriteResult:
        """Write one Account only if it still has `etag`; a ConflictError result when not."""
        record = {k: v for k, v in _update_record(write).items() if k not in {"attributes", "id"}}
        try:
            sent = self.client.rest(
                "write",
                f"sobjects/Account/{record_id(write.account_id)}",
                method="PATCH",
                body=record,
                headers={"If-Match": etag},
                replay=Replay.UPDATE,
            )
        except ConnectorError as error:
            if error.status not in {400, 404, 409, 412}:
                raise
            return WriteResult(
                write.account_id, WriteOutcome.FAILED, error=error, attempts=error.attempts
            )
        return WriteResult(write.account_id, WriteOutcome.APPLIED, attempts=sent.attempts)

    def find_notes(self, account_ids: Sequence[str], markers: Iterable[str]) -> dict[str, str]:
        return notes.find_notes(
            self.client, account_ids, markers, batch_size=self.config.write_batch_size
        )

    def post_notes(self, notes_to_post: Sequence[Note]) -> list[WriteResult]:
        return notes.post_notes(self.client, notes_to_post, batch_size=self.config.write_batch_size)

    # ---- fields and budget ------------------------------------------------------------------

    def ensure_fields(self, *, create: bool = True) -> FieldCheck:
        """Check with describe that the territory fields and the fields the rule reads exist.

        `create` is ignored: Salesforce fields come from a metadata deployment by an admin.
        """
        del create
        described = self.client.rest("describe", "sobjects/Account/describe").value
        names = frozenset(f["name"] for f in described.get("fields", []))
        self._described = names  # the same answer `_readable` asks for: not asked again
        territory = [f.name for f in TERRITORY_CUSTOM_FIELDS]
        wanted = [*territory, *self.builder.properties()]
        missing = tuple(dict.fromkeys(n for n in wanted if n not in names))
        present = tuple(n for n in territory if n in names)
        detail = (
            f"Account lacks {', '.join(missing)}; {METADATA_HINT}"
            if missing
            else "the territory fields and every field the rule reads exist on Account"
        )
        return FieldCheck(present=present, missing=missing, detail=detail)

    def missing_fields(self, names: Iterable[str]) -> dict[str, str | None]:
        """Each of `names` not spelled as an Account field the integration user can see
        (describe, read once), with the field it most likely means.

        SOQL takes any case, but records come back keyed by the field's own spelling, so a
        name in other case would read as empty on every record.
        """
        return missing_from(self._account_field_names(), names)

    def _account_field_names(self) -> frozenset[str]:
        """Every Account field the integration user can see (describe, asked once)."""
        if self._described is None:
            described = self.client.rest("describe", "sobjects/Account/describe").value
            self._described = frozenset(f["name"] for f in described.get("fields", []))
        return self._described

    def budget(self) -> BudgetReport:
        return self.client.budget.report()


def _update_record(write: OwnerWrite) -> dict[str, object]:
    """The sObject Collections record for one write (TerminalError for no owner or a bad
    territory field)."""
    if write.owner_id is None:
        raise TerminalError(
            "Salesforce requires an owner on every account: give the routing row a "
            "holding_owner; nothing was sent",
            code=HOLDING_OWNER_REQUIRED,
        )
    return {
        "attributes": {"type": "Account"},
        "id": write.account_id,
        "OwnerId": write.owner_id,
        **write_values(write.fields),
    }


def _fold_touch(
    latest: dict[tuple[str, str], datetime], record: dict[str, Any], dated_by: Sequence[str]
) -> None:
    if carries_marker(record.get("Subject")) or not record.get("OwnerId"):
        return
    at = next((parse_instant(record.get(f)) for f in dated_by if record.get(f)), None)
    if at is None:
        return
    key = (record["AccountId"], record["OwnerId"])
    if key not in latest or at > latest[key]:
        latest[key] = at.astimezone(UTC)
