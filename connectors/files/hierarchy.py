"""Parent links of the companies read: names to ids, parents not in the file, cycles."""

from __future__ import annotations

from typing import Final

from connectors.files.companies import Companies
from connectors.files.issues import IssueLog

# Cycles are listed in full in messages up to this length, then shortened.
_SHOWN_CYCLE: Final = 10
_ON_PATH: Final = 1
_DONE: Final = 2


def link_parents(
    companies: Companies, *, by_name: bool, file: str, column: str, log: IssueLog
) -> int:
    """Leave every parent_id naming a loaded company, or None; return how many rows were skipped.

    A parent name resolves by unique company name. A parent that is not in the file (or not
    unique) is cleared with a warning; every account in a parent cycle is skipped as an error.
    """
    if not companies.parent_rows:
        return 0
    if by_name:
        _resolve_names(companies, file=file, column=column, log=log)
    _clear_missing(companies, file=file, column=column, log=log, why="matches no loaded company")
    removed = _skip_cycles(companies, file=file, column=column, log=log)
    if removed:
        companies.accounts = [a for a in companies.accounts if a.id not in removed]
        _clear_missing(
            companies, file=file, column=column, log=log, why="is skipped (it is in a parent cycle)"
        )
    return len(removed)


def _name_key(name: str) -> str:
    return " ".join(name.split()).casefold()


def _resolve_names(companies: Companies, *, file: str, column: str, log: IssueLog) -> None:
    by_id = companies.by_id
    wanted = {_name_key(by_id[i].parent_id or "") for i in companies.parent_rows}
    # Index only the names some row refers to: a million-entry name index would double
    # the memory of the load for the few hundred parents an export names.
    ids: dict[str, str | None] = {}
    for account in companies.accounts:
        key = _name_key(account.name)
        if key in wanted:
            ids[key] = None if key in ids else account.id
    for account_id, row in list(companies.parent_rows.items()):
        account = by_id[account_id]
        name = account.parent_id or ""
        key = _name_key(name)
        if key not in ids:
            continue  # cleared with a warning by _clear_missing
        parent = ids[key]
        if parent is None:
            log.report_warning(
                file,
                row,
                column,
                f"several companies are named {name!r}; the parent is ambiguous and is cleared",
            )
            account.parent_id = None
            del companies.parent_rows[account_id]
        else:
            account.parent_id = parent


def _clear_missing(
    companies: Companies, *, file: str, column: str, log: IssueLog, why: str
) -> None:
    by_id = companies.by_id
    for account_id, row in list(companies.parent_rows.items()):
        account = by_id[account_id]
        if account.parent_id not in by_id:
            log.report_warning(
                file,
                row,
                column,
                f"parent {account.parent_id!r} {why}; the company is kept without a parent",
            )
            account.parent_id = None
            del companies.parent_rows[account_id]


def _skip_cycles(companies: Companies, *, file: str, column: str, log: IssueLog) -> set[str]:
    """Report and drop every account that is its own ancestor; return their ids."""
    by_id = companies.by_id
    state: dict[str, int] = {}
    cycles: list[list[str]] = []
    for start in companies.parent_rows:
        path: list[str] = []
        node: str | None = start
        while node is not None and node not in state:
            state[node] = _ON_PATH
            path.append(node)
            node = by_id[node].parent_id
        if node is not None and state[node] == _ON_PATH:
            cycles.append(path[path.index(node) :])
        for visited in path:
            state[visited] = _DONE

    removed: set[str] = set()
    for cycle in cycles:
        shown = cycle if len(cycle) <= _SHOWN_CYCLE else [*cycle[:_SHOWN_CYCLE], "…"]
        chain = " -> ".join([*shown, cycle[0]])
        for member in cycle:
            log.report_error(
                file,
                companies.parent_rows[member],
                column,
                f"parent cycle {chain}; every company in the cycle is skipped",
            )
        for member in cycle:
            del by_id[member]
            del companies.parent_rows[member]
        removed.update(cycle)
    return removed
