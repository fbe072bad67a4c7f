"""Pull a `Snapshot` through any connector, cleaned the way the CSV source cleans its rows.

Parents are checked with the CSV source's own `link_parents`: a parent that is not among the
companies pulled is cleared with a warning, and companies in a parent cycle are left out with
an error, so the engine sees the same org whichever source it came from.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from connectors.base import Connector
from connectors.files.companies import Companies
from connectors.files.hierarchy import link_parents
from connectors.files.issues import IssueLog, RowIssue
from rules.domain import Snapshot

Progress = Callable[[int], None]


@dataclass(slots=True)
class PulledSnapshot:
    """The snapshot and what cleaning it found (rows are positions in the pull, from 1)."""

    snapshot: Snapshot
    issues: list[RowIssue]
    skipped: int


def pull_snapshot(
    connector: Connector, *, owner_activity: bool = False, progress: Progress | None = None
) -> PulledSnapshot:
    """Owners, every live company and (when asked) per-owner activity, through `connector`."""
    owners = list(connector.iter_owners())
    companies = Companies()
    source = f"{connector.name}:companies"
    for position, account in enumerate(connector.iter_companies(), start=1):
        if account.id in companies.by_id:
            continue  # a CRM never repeats an id; a retried page might
        companies.accounts.append(account)
        companies.by_id[account.id] = account
        if account.parent_id is not None:
            companies.parent_rows[account.id] = position
        if progress is not None and position % 1000 == 0:
            progress(1000)
    log = IssueLog()
    skipped = link_parents(companies, by_name=False, file=source, column="parent_id", log=log)
    snapshot = Snapshot(accounts=companies.accounts, owners=owners)
    if owner_activity:
        _fold_activity(connector, companies, snapshot)
    return PulledSnapshot(snapshot=snapshot, issues=list(log.issues), skipped=skipped)


def _fold_activity(connector: Connector, companies: Companies, snapshot: Snapshot) -> None:
    """Latest touch per (account, owner); a company's recency is raised to its latest touch."""
    latest = snapshot.owner_activity
    for account_id, owner_id, at in connector.iter_owner_activity():
        account = companies.by_id.get(account_id)
        if account is None:
            continue
        key = (account_id, owner_id)
        if key not in latest or at > latest[key]:
            latest[key] = at
        if account.last_activity_at is None or at > account.last_activity_at:
            account.last_activity_at = at
