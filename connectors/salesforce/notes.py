"""Amendment notes on Salesforce: a ContentNote linked to its Account by a ContentDocumentLink.

Never a Task or an Event: a closed Task sets `LastActivityDate`, and the account would look
worked. The marker (`territory-sync:<change id>`) goes into the note's Title, which SOQL can
filter on (the body cannot be queried).

Notes are posted in batches with sObject Collections create (`POST composite/sobjects`, up to
200 records a call, `allOrNone: false`, one SaveResult per record in input order): the
batch's ContentNotes in one call, then their ContentDocumentLinks in a second. Salesforce's
REST guide documents both as creatable there (the collection "can contain objects of different
types", and blob fields such as ContentNote.Content may be sent base64-encoded in JSON up to
37.5 MB: "Insert or Update Blob Data"), so N notes cost 2·ceil(N/200) calls, not 2·N.

A create is not idempotent and is never repeated blindly: when the reply to a note batch is
lost, the run stops with those notes `unknown`, and the caller looks for their markers before
posting again. A link is: repeating one that was made answers DUPLICATE_VALUE, which counts as
done. `find_notes` looks notes up by Title, so it also finds a note created but never linked
(the run died between the two calls) and links it where it belongs: a crash between the calls
never makes a second note.

A failure about one note (a refused field, a bad account id) is that note's `failed` outcome;
any other failure of a call (connection, session, allowance) stops the run, raising its error
with every note's outcome (see `connectors.base`).
"""

from __future__ import annotations

import base64
import html
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from connectors.base import Note, WriteOutcome, WriteResult
from connectors.batching import BatchedWrite
from connectors.errors import ConnectorError, TerminalError, TransientError
from connectors.retry import Replay
from connectors.salesforce.client import SalesforceClient
from connectors.salesforce.failures import DUPLICATE_VALUE, record_error
from connectors.salesforce.queries import batches, id_list, select

TITLE_CHARS: Final = 255
COLLECTIONS: Final = "composite/sobjects"
# Titles per `Title IN (...)`: ~100 characters each keep a query URL near 12 kB (limit 16 kB).
TITLES_PER_QUERY: Final = 100
# Failures of a whole call about its records (a refused body): those notes fail, the run goes on.
_RECORD_STATUSES: Final = frozenset({400, 404})


def title_for(marker: str) -> str:
    """`Territory change <marker>`, cut to Salesforce's 255 characters (the marker kept)."""
    return f"Territory change {marker}"[-TITLE_CHARS:]


def note_title(note: Note) -> str:
    """The Title of `note`'s ContentNote."""
    return title_for(note.marker)


def note_content(note: Note) -> str:
    """The body as ContentNote wants it: HTML-escaped paragraphs, base64-encoded."""
    paragraphs = "".join(f"<p>{html.escape(line)}</p>" for line in note.body.splitlines() or [""])
    return base64.b64encode(paragraphs.encode("utf-8")).decode("ascii")


# ---- find -------------------------------------------------------------------------------------


def find_notes(
    client: SalesforceClient,
    account_ids: Sequence[str],
    markers: Iterable[str],
    *,
    batch_size: int,
) -> dict[str, str]:
    """Marker -> ContentNote id for each of `markers` on one of `account_ids`.

    Notes are found by Title, linked or not. A note linked nowhere (the run stopped between
    creating and linking it) is linked to the account it belongs on when the two lists pair up
    (`markers[i]` on `account_ids[i]`, or one account for every marker), and counts as found
    once linked.
    """
    wanted = list(dict.fromkeys(markers))
    if not wanted or not account_ids:
        return {}
    home = _pairs(account_ids, wanted)
    by_title = {title_for(m): m for m in wanted}
    notes: dict[str, str] = {}  # marker -> note id (the lowest, should there be two)
    for titles in batches(sorted(by_title), TITLES_PER_QUERY):
        soql = select("ContentNote", ["Id", "Title"], [f"Title IN {id_list(titles)}"], "Id")
        for record in client.query(soql):
            marker = by_title.get(record.get("Title") or "")
            if marker is not None:
                notes.setdefault(marker, record["Id"])
    if not notes:
        return {}
    linked = _links(client, notes.values())
    accounts = set(account_ids)
    found = {m: n for m, n in notes.items() if linked.get(n, set()) & accounts}
    # A note linked elsewhere is someone's choice; only a note linked nowhere is ours to link.
    orphans = {m: n for m, n in notes.items() if m in home and not linked.get(n)}
    found.update(_link_orphans(client, orphans, home, batch_size))
    return found


def _pairs(account_ids: Sequence[str], markers: Sequence[str]) -> dict[str, str]:
    """Marker -> the account its note belongs on, where the caller's lists say so."""
    if len(set(account_ids)) == 1:
        return dict.fromkeys(markers, account_ids[0])
    if len(account_ids) == len(markers):
        return dict(zip(markers, account_ids, strict=True))
    # An unlinked note could then never be linked: a caller bug, not a CRM state.
    raise ValueError(
        "find_notes: pass one account for every marker (marker i's note belongs on account i), "
        f"or a single account; got {len(account_ids)} accounts for {len(markers)} markers"
    )


def _links(client: SalesforceClient, note_ids: Iterable[str]) -> dict[str, set[str]]:
    """Note id -> the records it is linked to."""
    linked: dict[str, set[str]] = {}
    for batch in batches(sorted(set(note_ids))):
        soql = select(
            "ContentDocumentLink",
            ["ContentDocumentId", "LinkedEntityId"],
            [f"ContentDocumentId IN {id_list(batch)}"],
        )
        for record in client.query(soql):
            linked.setdefault(record["ContentDocumentId"], set()).add(record["LinkedEntityId"])
    return linked


def _link_orphans(
    client: SalesforceClient,
    orphans: Mapping[str, str],
    home: Mapping[str, str],
    batch_size: int,
) -> dict[str, str]:
    """Link each orphaned note to its account; marker -> note id of those now linked."""
    done: dict[str, str] = {}
    for batch in batches(sorted(orphans), batch_size):
        records = [_link_record(orphans[m], home[m]) for m in batch]
        saves = _collection(client, records, Replay.READ)
        for marker, save in zip(batch, saves, strict=True):
            if _saved(save):
                done[marker] = orphans[marker]
    return done


# ---- post -------------------------------------------------------------------------------------


def post_notes(
    client: SalesforceClient, notes: Sequence[Note], *, batch_size: int
) -> list[WriteResult]:
    """Create the notes, then link them, a batch at a time; one result per note, in order."""
    run = BatchedWrite([n.account_id for n in notes])
    for batch in batches(range(len(notes)), batch_size):
        created = _create(client, notes, batch, run)
        if created:
            _link(client, notes, created, run)
    return run.results()


def _create(
    client: SalesforceClient, notes: Sequence[Note], batch: list[int], run: BatchedWrite
) -> dict[int, str]:
    """Create the batch's ContentNotes; position -> note id of those created."""
    records = [
        {"attributes": {"type": "ContentNote"}, "Title": note_title(n), "Content": note_content(n)}
        for n in (notes[p] for p in batch)
    ]
    try:
        sent = client.rest(
            "create", COLLECTIONS, method="POST", body=_body(records), replay=Replay.CREATE
        )
    except ConnectorError as error:
        _call_failed(run, batch, error)
        return {}
    run.sent(batch, sent.attempts)
    saves = _as_results(sent.value, len(batch), run, batch)
    created: dict[int, str] = {}
    for position, save in zip(batch, saves, strict=True):
        if _saved(save):
            created[position] = str(save["id"])
        else:
            run.settle(position, WriteOutcome.FAILED, error=record_error(save.get("errors")))
    return created


def _link(
    client: SalesforceClient, notes: Sequence[Note], created: dict[int, str], run: BatchedWrite
) -> None:
    """Link each created note to its account; a note made but not linked is `unknown`."""
    positions = list(created)
    records = [_link_record(created[p], notes[p].account_id) for p in positions]
    try:
        sent = client.rest(
            "create", COLLECTIONS, method="POST", body=_body(records), replay=Replay.READ
        )
    except ConnectorError as error:
        run.sent(positions, error.attempts)
        for position in positions:
            # The note exists: `find_notes` finds it by Title and links it.
            run.settle(position, WriteOutcome.UNKNOWN, error=error, record_id=created[position])
        if error.status not in _RECORD_STATUSES:
            run.stop(error, [])
        return
    run.sent(positions, sent.attempts)
    saves = _as_results(sent.value, len(positions), run, positions, created)
    for position, save in zip(positions, saves, strict=True):
        note_id = created[position]
        if _saved(save) or _error_code(save) == DUPLICATE_VALUE:  # a resent link was made
            run.settle(position, WriteOutcome.APPLIED, record_id=note_id)
        else:
            refused = record_error(save.get("errors"))
            run.settle(position, WriteOutcome.FAILED, error=refused, record_id=note_id)


def _link_record(note_id: str, account_id: str) -> dict[str, object]:
    return {
        "attributes": {"type": "ContentDocumentLink"},
        "ContentDocumentId": note_id,
        "LinkedEntityId": account_id,
        "ShareType": "V",
    }


def _body(records: list[dict[str, Any]]) -> dict[str, object]:
    return {"allOrNone": False, "records": records}


def _collection(
    client: SalesforceClient, records: list[dict[str, Any]], replay: Replay
) -> list[dict[str, Any]]:
    """One collections create outside a write run (linking orphans): its SaveResults."""
    saves = client.rest(
        "create", COLLECTIONS, method="POST", body=_body(records), replay=replay
    ).value
    if not isinstance(saves, list) or len(saves) != len(records):
        raise TransientError("Salesforce answered a collection with the wrong number of results")
    return saves


def _as_results(
    saves: object,
    expected: int,
    run: BatchedWrite,
    positions: list[int],
    created: Mapping[int, str] | None = None,
) -> list[dict[str, Any]]:
    """The SaveResults of a call, or the run stopped with that call's inputs `unknown`."""
    if not isinstance(saves, list) or len(saves) != expected:
        unexpected = TerminalError(
            f"Salesforce answered {len(saves) if isinstance(saves, list) else 'no'} results "
            f"for {expected} records; treating the whole batch as unknown",
            code="UNEXPECTED_REPLY",
        )
        for position in positions:
            record_id = created.get(position) if created else None
            run.settle(position, WriteOutcome.UNKNOWN, error=unexpected, record_id=record_id)
        run.stop(unexpected, [])
    return [s if isinstance(s, dict) else {} for s in saves]


def _call_failed(run: BatchedWrite, batch: list[int], error: ConnectorError) -> None:
    """A note call that failed: its notes fail alone (a refused body), or the run stops."""
    if error.status not in _RECORD_STATUSES:
        run.stop(error, batch)
    for position in batch:
        run.fail_call(position, error)


def _saved(save: Mapping[str, Any]) -> bool:
    return bool(save.get("success")) and bool(save.get("id"))


def _error_code(save: Mapping[str, Any]) -> str | None:
    errors = save.get("errors")
    first = errors[0] if isinstance(errors, list) and errors else None
    return str(first.get("statusCode")) if isinstance(first, Mapping) else None
