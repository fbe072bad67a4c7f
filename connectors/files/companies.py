"""companies.csv: stream rows into Accounts, reporting and skipping the rows that are wrong."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import TypeVar

from connectors.files.cells import DateReader, amount, boolean, domain, whole_number
from connectors.files.countries import country_code
from connectors.files.headers import COMPANY_FIELDS, CompanyColumns
from connectors.files.issues import IssueLog
from connectors.files.mapping import MappedColumn
from connectors.files.owners import OwnerDirectory
from connectors.files.reading import CsvTable, require_columns
from rules.domain import Account
from rules.values import UnmappedCount, ValueMapper

COMPANIES_FILE = "companies.csv"
_EXPORT_ID_HINT = " (or a HubSpot export's 'Record ID', a Salesforce report's 'Account ID')"
T = TypeVar("T")


@dataclass(slots=True)
class Companies:
    """The accounts read, with what the hierarchy step and the refusal checks need."""

    accounts: list[Account] = field(default_factory=list)
    by_id: dict[str, Account] = field(default_factory=dict)
    # Only accounts that name a parent: their row, to locate hierarchy issues later.
    parent_rows: dict[str, int] = field(default_factory=dict)
    owner_names: int = 0
    owner_names_unresolved: int = 0
    country: UnmappedCount = field(default_factory=UnmappedCount)


def _stripped(raw: str) -> str | None:
    return raw.strip() or None


class CompanyReader:
    """Turns companies.csv rows into Accounts: mapped values, ISO countries, UTC times."""

    def __init__(
        self,
        table: CsvTable,
        columns: CompanyColumns,
        *,
        owners: OwnerDirectory,
        mapper: ValueMapper,
        dates: DateReader,
        log: IssueLog,
    ) -> None:
        expected = ",".join(COMPANY_FIELDS) + _EXPORT_ID_HINT
        require_columns(table, columns.index, ("id",), expected=expected)
        self.table = table
        self.columns = columns
        self.owners = owners
        self.dates = dates
        self.log = log
        self.result = Companies()
        index = columns.index
        self._id, self._name, self._domain = index["id"], index["name"], index["domain"]
        self._owner, self._parent = index["owner_id"], index["parent_id"]
        self._employees, self._revenue = index["employees"], index["annual_revenue"]
        self._industry, self._lifecycle = index["industry"], index["lifecycle"]
        self._country, self._last_activity = index["country"], index["last_activity_at"]
        self._lock = index["territory_lock"]
        self._owner_by_name = "owner_id" in columns.by_name
        self._owners_by_id = owners.by_id
        self._instant = dates.instant
        self._map_industry = MappedColumn(mapper, "industry")
        self._map_lifecycle = MappedColumn(mapper, "lifecycle")
        # A country the rule's `values:` names (e.g. Deutschland: DE) is mapped before ISO lookup.
        self._map_country = MappedColumn(mapper, "country") if "country" in mapper.fields else None
        # Custom fields keep their text unless `values:` or a rule condition names the field.
        self._map_extra: dict[str, Callable[[str], str | None]] = {
            name: MappedColumn(mapper, name) if name in mapper.fields else _stripped
            for name, _ in columns.extra
        }
        self._bad = False

    def read(self) -> Companies:
        """Read every row; return the accounts of the rows that were not skipped."""
        result = self.result
        accounts, by_id, parent_rows = result.accounts, result.by_id, result.parent_rows
        i_id = self._id
        for row_number, row in self.table.rows():
            account_id = row[i_id].strip()
            if not account_id:
                self._problem(row_number, i_id, "missing id; every company needs one")
            elif account_id in by_id:
                message = f"duplicate id {account_id!r}; the first row with it is kept"
                self._problem(row_number, i_id, message)
            else:
                account = self._account(row_number, account_id, row)
                if account is not None:
                    accounts.append(account)
                    by_id[account_id] = account
                    if account.parent_id is not None:
                        parent_rows[account_id] = row_number
                    continue
            self.table.skipped += 1
        return result

    def _account(self, row_number: int, account_id: str, row: list[str]) -> Account | None:
        """Return the row's account, or None once every bad cell in it is reported."""
        self._bad = False
        # The four cells below are parsed inline, not through _cell: a call per cell is a
        # measurable share of a million-row load.
        employees = revenue = last_activity = None
        raw = row[self._employees].strip()
        if raw:
            try:
                employees = whole_number(raw)
            except ValueError as exc:
                self._problem(row_number, self._employees, str(exc))
        raw = row[self._revenue].strip()
        if raw:
            try:
                revenue = amount(raw)
            except ValueError as exc:
                self._problem(row_number, self._revenue, str(exc))
        raw = row[self._last_activity].strip()
        if raw:
            try:
                last_activity = self._instant(raw)
            except ValueError as exc:
                self._problem(row_number, self._last_activity, str(exc))
        locked = False
        raw = row[self._lock].strip()
        if raw:
            try:
                locked = boolean(raw)
            except ValueError as exc:
                self._problem(row_number, self._lock, str(exc))
        owner_id: str | None = row[self._owner].strip() or None
        if owner_id is not None:
            if self._owner_by_name:
                owner_id = self._owner_by_name_id(row_number, owner_id)
            else:
                owner = self._owners_by_id.get(owner_id)
                # The owner's own id string: one object per owner, not one per row.
                owner_id = owner_id if owner is None else owner.id
        signals = self._signals(row_number, row) if self.columns.signals else ()
        if self._bad:
            return None
        raw_domain = row[self._domain].strip()
        return Account(
            id=account_id,
            name=row[self._name].strip(),
            domain=domain(raw_domain) if raw_domain else None,
            owner_id=owner_id,
            industry=self._map_industry(row[self._industry]),
            employees=employees,
            annual_revenue=revenue,
            country=self._country_code(row[self._country]),
            lifecycle=self._map_lifecycle(row[self._lifecycle]),
            # Checked (and a name resolved to an id) once every company is known.
            parent_id=row[self._parent].strip() or None,
            last_activity_at=last_activity,
            signals=signals,
            extra=self._extra(row) if self._map_extra else None,
            locked=locked,
        )

    def _cell(
        self, row_number: int, row: list[str], column: int, parse: Callable[[str], T]
    ) -> T | None:
        raw = row[column].strip()
        if not raw:
            return None
        try:
            return parse(raw)
        except ValueError as exc:
            self._problem(row_number, column, str(exc))
            return None

    def _problem(self, row_number: int, column: int, message: str) -> None:
        """Report a bad cell; its row is skipped once all its cells have been checked."""
        self.log.report_error(self.table.file, row_number, self.columns.header(column), message)
        self._bad = True

    def _owner_by_name_id(self, row_number: int, name: str) -> str | None:
        self.result.owner_names += 1
        try:
            return self.owners.resolve(name)
        except ValueError as exc:
            self.result.owner_names_unresolved += 1
            self._problem(row_number, self._owner, str(exc))
            return None

    def _signals(self, row_number: int, row: list[str]) -> tuple[tuple[str, date], ...]:
        found: list[tuple[str, date]] = []
        for name, column in self.columns.signals:
            day = self._cell(row_number, row, column, self.dates.day)
            if day is not None:
                found.append((name, day))
        return tuple(found)

    def _country_code(self, raw: str) -> str | None:
        raw = raw.strip()
        if not raw:
            return None
        count = self.result.country
        count.total += 1
        mapped = self._map_country(raw) if self._map_country is not None else None
        code = country_code(mapped or raw)
        if code is None:
            count.unmapped[raw.lower()] += 1
        return code

    def _extra(self, row: list[str]) -> dict[str, str] | None:
        extra: dict[str, str] = {}
        for name, column in self.columns.extra:
            value = self._map_extra[name](row[column])
            if value is not None:
                extra[name] = value
        return extra or None
