"""owners.csv: the CRM's owners, and the lookup that turns an export's owner name into an id."""

from __future__ import annotations

from dataclasses import dataclass, field

from connectors.files.cells import boolean
from connectors.files.headers import OWNER_ALIASES, OWNER_FIELDS, simple_columns, simple_rivals
from connectors.files.issues import CsvLoadError, IssueLog, RowIssue
from connectors.files.reading import CsvTable, refuse_rival_columns, require_columns
from rules.domain import Owner

OWNERS_FILE = "owners.csv"


@dataclass(slots=True)
class OwnerDirectory:
    """Owners by id, and by email or unique full name for exports that carry names."""

    owners: list[Owner] = field(default_factory=list)
    by_id: dict[str, Owner] = field(default_factory=dict)
    # Emails are unique (read_owners refuses a file where two owners share one).
    _by_email: dict[str, str] = field(default_factory=dict)
    # None marks a name two owners share: resolving it would be a guess.
    _by_name: dict[str, str | None] = field(default_factory=dict)
    # name -> (owner id, "") or ("", why no single owner matches)
    _resolved: dict[str, tuple[str, str]] = field(default_factory=dict)

    def add(self, owner: Owner) -> None:
        """Register `owner` (its id is new)."""
        self.owners.append(owner)
        self.by_id[owner.id] = owner
        if owner.email:
            self._by_email[owner.email] = owner.id
        name = _name_key(owner.full_name)
        if name:
            self._by_name[name] = None if name in self._by_name else owner.id

    def owner_id(self, raw: str) -> str:
        """Return the known id string equal to `raw` (shared, not copied), or `raw` itself."""
        owner = self.by_id.get(raw)
        return raw if owner is None else owner.id

    def resolve(self, name: str) -> str:
        """Return the id of the owner whose email, else unique full name, is `name`.

        Raise ValueError saying why when no single owner matches.
        """
        found = self._resolved.get(name)
        if found is None:
            found = self._resolve(name)
            # Exports repeat a few hundred names over a million rows: resolve each once.
            self._resolved[name] = found
        owner_id, problem = found
        if problem:
            raise ValueError(problem)
        return owner_id

    def _resolve(self, name: str) -> tuple[str, str]:
        email = name.lower()
        if "@" in email and email in self._by_email:
            return self._by_email[email], ""
        key = _name_key(name)
        owner_id = self._by_name.get(key, "")
        if owner_id:
            return owner_id, ""
        if owner_id is None:
            return "", (
                f"several owners in {OWNERS_FILE} are named {name!r}; "
                "export the owner's email instead, or make the names unique"
            )
        return "", f"no owner in {OWNERS_FILE} has the email or first and last name {name!r}"


def _name_key(name: str) -> str:
    return " ".join(name.split()).casefold()


def read_owners(table: CsvTable, log: IssueLog) -> OwnerDirectory:
    """Read every owner row; a row with no id, a duplicate id or a bad `active` is skipped.

    Raise CsvLoadError naming the rows when two owners share an email (in any case): the
    rule names reps by email, and a guess between the two could give a rep's book away.
    """
    refuse_rival_columns(table.file, simple_rivals(table.headers, OWNER_FIELDS, OWNER_ALIASES))
    index = simple_columns(table.headers, OWNER_FIELDS, OWNER_ALIASES)
    require_columns(table, index, ("id", "email"), expected=",".join(OWNER_FIELDS))
    i_id, i_email = index["id"], index["email"]
    i_first, i_last, i_active = index["first_name"], index["last_name"], index["active"]
    directory = OwnerDirectory()
    email_rows: dict[str, tuple[str, int]] = {}
    shared: list[RowIssue] = []
    for row_number, row in table.rows():
        owner_id = row[i_id].strip()
        if not owner_id:
            log.report_error(table.file, row_number, table.headers[i_id], "missing owner id")
            table.skipped += 1
            continue
        if owner_id in directory.by_id:
            log.report_error(
                table.file,
                row_number,
                table.headers[i_id],
                f"duplicate owner id {owner_id!r}; the first row with it is kept",
            )
            table.skipped += 1
            continue
        active = True
        raw_active = row[i_active].strip()
        if raw_active:
            try:
                active = boolean(raw_active)
            except ValueError as exc:
                log.report_error(table.file, row_number, table.headers[i_active], str(exc))
                table.skipped += 1
                continue
        email = row[i_email].strip().lower()
        if email in email_rows:
            first_id, first_row = email_rows[email]
            message = f"{email!r} is also the email of owner {first_id!r} (row {first_row})"
            shared.append(RowIssue(table.file, row_number, table.headers[i_email], message))
            continue
        if email:
            email_rows[email] = (owner_id, row_number)
        directory.add(
            Owner(
                id=owner_id,
                email=email,
                first_name=row[i_first].strip(),
                last_name=row[i_last].strip(),
                active=active,
            )
        )
    if shared:
        raise CsvLoadError(
            f"{table.file}: {len(shared)} owner(s) share an email with another owner (emails "
            "compare ignoring case); the rule names reps by email, so each owner needs its own: "
            "remove the duplicate rows or correct their emails; nothing was loaded",
            shared,
        )
    return directory
