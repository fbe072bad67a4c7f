"""Accounts in keyset pages: each page is one SOQL query that starts after the last record of
the page before, so a read stopped by an error resumes from a token that never expires.

`nextRecordsUrl` would cost the same calls, but its query locator expires after 15 minutes
idle, and a user has at most 10 open (Salesforce's QueryLocator guidelines): a sync that waits
out a failure would have to start over. Keyset pages need no locator:

- full read: `ORDER BY Id`, each page asking for `Id > last`; the token is the last Id;
- incremental read: `SystemModstamp >= start ORDER BY SystemModstamp, Id`, each page asking
  for records after the last (SystemModstamp, Id) pair; the token is that pair. An Account
  edited mid-read moves behind the keyset and is read again, never skipped.

A page with fewer records than the page size is the last; a full last page is followed by one
empty page. The territory lock (`Territory_Lock__c`) is read when the org has the field (an
admin deploys it from docs/salesforce/; a query naming a missing field would be refused).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, Final

from connectors.base import CompanyPage
from connectors.errors import TerminalError
from connectors.records import AccountBuilder, parse_instant
from connectors.salesforce.client import SalesforceClient
from connectors.salesforce.queries import datetime_literal, quote, record_id, select
from rules.domain import Account

LOCK_FIELD: Final = "Territory_Lock__c"
MODSTAMP: Final = "SystemModstamp"
_SEPARATOR: Final = "|"


class AccountPages:
    """Keyset pages of Accounts as domain Accounts."""

    def __init__(
        self,
        client: SalesforceClient,
        builder: AccountBuilder,
        page_size: int,
        readable: Callable[[str], bool],
    ) -> None:
        self.client = client
        self.builder = builder
        self.page_size = page_size
        self.readable = readable  # whether the org has an Account field (describe, once)

    def all(self, resume: str | None) -> Iterator[CompanyPage]:
        """Every live Account by Id, after the Id `resume` when given."""
        last = None if resume is None else record_id(resume)
        while True:
            where = [] if last is None else [f"Id > {quote(last)}"]
            records = self._query(where, "Id")
            following = str(records[-1]["Id"]) if len(records) == self.page_size else None
            yield CompanyPage([self._account(r) for r in records], following)
            if following is None:
                return
            last = following

    def modified_since(self, start: datetime, resume: str | None) -> Iterator[CompanyPage]:
        """Accounts with SystemModstamp at or after `start`, in (SystemModstamp, Id) order,
        after the pair `resume` names when given."""
        after = None if resume is None else _pair(resume)
        window = f"{MODSTAMP} >= {datetime_literal(start)}"
        while True:
            where = [window] if after is None else [window, _after(*after)]
            records = self._query(where, f"{MODSTAMP}, Id")
            if len(records) < self.page_size:
                yield CompanyPage([self._account(r) for r in records], None)
                return
            last = records[-1]
            following = (_stamp(last.get(MODSTAMP)), str(last["Id"]))
            if following == after:
                raise TerminalError("Salesforce returned the same page twice", code="PAGING")
            yield CompanyPage([self._account(r) for r in records], _token(*following))
            after = following

    def _query(self, where: list[str], order_by: str) -> list[dict[str, Any]]:
        fields = ["Id", MODSTAMP, *self.builder.properties()]
        if self.readable(LOCK_FIELD):
            fields.append(LOCK_FIELD)
        soql = select("Account", fields, where, order_by) + f" LIMIT {self.page_size}"
        return list(self.client.query(soql))

    def _account(self, record: dict[str, Any]) -> Account:
        account = self.builder.build(record["Id"], record, record.get("OwnerId"))
        account.locked = record.get(LOCK_FIELD) is True
        return account


def _stamp(raw: object) -> datetime:
    moment = parse_instant(raw)
    if moment is None:
        raise TerminalError("Salesforce returned an Account without SystemModstamp", code="PAGING")
    return moment.astimezone(UTC)


def _after(stamp: datetime, last_id: str) -> str:
    """Records after (stamp, last_id) in (SystemModstamp, Id) order."""
    literal = _literal(stamp)
    return (
        f"({MODSTAMP} > {literal} OR ({MODSTAMP} = {literal} AND Id > {quote(record_id(last_id))}))"
    )


def _literal(stamp: datetime) -> str:
    """A datetime literal exact to the millisecond: Salesforce keeps whole seconds (and the
    literal is the documented one), a store that keeps milliseconds gets them."""
    if stamp.microsecond == 0:
        return datetime_literal(stamp)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


def _token(stamp: datetime, last_id: str) -> str:
    return f"{stamp.isoformat()}{_SEPARATOR}{last_id}"


def _pair(token: str) -> tuple[datetime, str]:
    """A token back to its (SystemModstamp, Id); TerminalError for one this read never made."""
    stamp, separator, last_id = token.partition(_SEPARATOR)
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        moment = None
    if not separator or moment is None or moment.tzinfo is None:
        raise TerminalError(f"not a Salesforce resume token: {token!r}", code="RESUME")
    return moment, record_id(last_id)
