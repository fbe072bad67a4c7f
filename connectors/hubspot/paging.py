"""Cursor paging and batching, once for every HubSpot listing and batch endpoint."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Final, TypeVar

from connectors.batching import in_batches
from connectors.errors import TerminalError
from connectors.hubspot.config import BATCH_LIMIT
from connectors.hubspot.errors import Json

T = TypeVar("T")

BATCH_SIZE: Final = BATCH_LIMIT  # inputs per batch read/update/create call
LIST_LIMIT: Final = 100  # records per page of a v3 object listing


def next_after(page: Json) -> str | None:
    """The cursor of the next page (`paging.next.after`), or None on the last page."""
    following = ((page.get("paging") or {}).get("next") or {}).get("after")
    return None if following in {None, ""} else str(following)


def follow_pages(fetch: Callable[[str | None], Json]) -> Iterator[Json]:
    """Every result of a cursor-paged listing: `fetch(after)` until no next cursor.

    A page shorter than the limit is not the end; only a missing `paging.next` is.
    """
    after: str | None = None
    while True:
        page = fetch(after)
        yield from page.get("results") or []
        following = next_after(page)
        if following is None:
            return
        if following == after:
            raise same_cursor_error()
        after = following


def same_cursor_error() -> TerminalError:
    """A listing that answers the cursor it was asked with: stop instead of looping."""
    return TerminalError(
        "HubSpot returned the same paging cursor twice; stopping instead of looping",
        code="PAGING",
    )


def chunks(items: Iterable[T], size: int = BATCH_SIZE) -> Iterator[list[T]]:
    """`items` in lists of at most `size`, in order."""
    return in_batches(items, size)


def results_by_id(body: Json) -> dict[str, Json]:
    """A batch answer's `results`, by record id."""
    return {str(r.get("id")): r for r in body.get("results") or []}


def ids_of(items: Sequence[Json]) -> list[str]:
    return [str(item["id"]) for item in items]
