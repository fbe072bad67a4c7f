"""SOQL text built from values: quoting, datetime literals, id lists in batches.

Values are always quoted here, never pasted into query text by callers, so an id or marker with
a quote in it can neither break a query nor change its meaning.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Final, TypeVar

from connectors.batching import in_batches
from connectors.errors import TerminalError

T = TypeVar("T")
_RECORD_ID: Final = re.compile(r"[0-9A-Za-z]{15}(?:[0-9A-Za-z]{3})?")

# Ids per `IN (...)` list: 200 ids keep a query URL near 5 kB, far below Salesforce's 16 kB.
IDS_PER_QUERY: Final = 200


def quote(value: str) -> str:
    """A SOQL string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def record_id(value: str) -> str:
    """`value`, checked to be a 15- or 18-character id before it goes into a resource path."""
    if not _RECORD_ID.fullmatch(value):
        raise TerminalError(f"{value!r} is not a Salesforce record id", code="MALFORMED_ID")
    return value


def id_list(ids: Iterable[str]) -> str:
    """`('001…', '001…')` for an IN filter."""
    return "(" + ", ".join(quote(i) for i in ids) + ")"


def datetime_literal(moment: datetime) -> str:
    """A SOQL datetime literal in UTC; a naive `moment` is taken as UTC."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def select(
    sobject: str, fields: Sequence[str], where: Sequence[str] = (), order_by: str = ""
) -> str:
    """`SELECT fields FROM sobject [WHERE a AND b] [ORDER BY …]` with `fields` deduplicated."""
    # Field and object names come from code; every value went through `quote`.
    text = f"SELECT {', '.join(dict.fromkeys(fields))} FROM {sobject}"  # noqa: S608
    if where:
        text += " WHERE " + " AND ".join(where)
    if order_by:
        text += f" ORDER BY {order_by}"
    return text


def batches(items: Iterable[T], size: int = IDS_PER_QUERY) -> Iterator[list[T]]:
    """Consecutive lists of at most `size` items."""
    return in_batches(items, size)
