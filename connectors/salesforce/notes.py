"""Amendment notes on Salesforce: a ContentNote linked to its Account by a ContentDocumentLink.

Never a Task or an Event: a closed Task sets `LastActivityDate`, and the account would look
worked. The marker (`territory-sync:<change id>`) goes into the note's Title, which SOQL can
read back (the body cannot be queried), so `find_notes` finds a note through the account's
links and one batch read of their titles, with no search index that lags.

A create is not idempotent and is never repeated blindly: when the reply to one is lost, the
run stops with that note `unknown`, and the caller looks for the marker before posting again.
A link is: repeating one that was made answers DUPLICATE_VALUE, which counts as done. A note
created but never linked (the run died in between) is invisible on the account; posting again
makes a second, linked, note.

A failure about one note (a bad account id, a refused field: 400 or 404) is that note's
`failed` outcome; any other failure (connection, session, allowance) stops the run, raising
its error with every note's outcome (see `connectors.base`).
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Iterable, Sequence
from typing import Final

from connectors.base import NOTE_MARKER_PREFIX, Note, WriteOutcome, WriteResult
from connectors.batching import BatchedWrite
from connectors.errors import ConnectorError
from connectors.retry import Replay
from connectors.salesforce.client import SalesforceClient
from connectors.salesforce.failures import DUPLICATE_VALUE
from connectors.salesforce.queries import batches, id_list, select

TITLE_CHARS: Final = 255
_MARKERS: Final = re.compile(re.escape(NOTE_MARKER_PREFIX) + r"[0-9A-Za-z_-]+")
# Failures about one note (a bad account id, a refused field): reported per note.
_RECORD_STATUSES: Final = frozenset({400, 404})


def note_title(note: Note) -> str:
    """`Territory change <marker>`, cut to Salesforce's 255 characters (the marker kept)."""
    return f"Territory change {note.marker}"[-TITLE_CHARS:]


def note_content(note: Note) -> str:
    """The body as ContentNote wants it: HTML-escaped paragraphs, base64-encoded."""
    paragraphs = "".join(f"<p>{html.escape(line)}</p>" for line in note.body.splitlines() or [""])
    return base64.b64encode(paragraphs.encode("utf-8")).decode("ascii")


def find_notes(
    client: SalesforceClient, account_ids: Sequence[str], markers: Iterable[str]
) -> dict[str, str]:
    """Marker -> ContentNote id for each of `markers` on a note linked to one of `account_ids`."""
    wanted = set(markers)
    if not wanted or not account_ids:
        return {}
    documents: dict[str, None] = {}
    for batch in batches(dict.fromkeys(account_ids)):
        soql = select(
            "ContentDocumentLink", ["ContentDocumentId"], [f"LinkedEntityId IN {id_list(batch)}"]
        )
        documents.update(dict.fromkeys(r["ContentDocumentId"] for r in client.query(soql)))
    found: dict[str, str] = {}
    for batch in batches(documents):
        soql = select("ContentNote", ["Id", "Title"], [f"Id IN {id_list(batch)}"])
        for record in client.query(soql):
            for marker in _MARKERS.findall(record.get("Title") or ""):
                if marker in wanted:
                    found.setdefault(marker, record["Id"])
    return found


def post_notes(client: SalesforceClient, notes: Sequence[Note]) -> list[WriteResult]:
    """Create and link each note; one result per note, in input order."""
    run = BatchedWrite([n.account_id for n in notes])
    for position, note in enumerate(notes):
        _post(client, note, position, run)
    return run.results()


def _post(client: SalesforceClient, note: Note, position: int, run: BatchedWrite) -> None:
    try:
        created = client.rest(
            "create",
            "sobjects/ContentNote",
            method="POST",
            body={"Title": note_title(note), "Content": note_content(note)},
            replay=Replay.CREATE,
        )
    except ConnectorError as error:
        _failed(run, position, error)
        return
    run.sent([position], created.attempts)
    note_id = str(created.value["id"])
    link = {"ContentDocumentId": note_id, "LinkedEntityId": note.account_id, "ShareType": "V"}
    try:
        # A repeated link is refused as DUPLICATE_VALUE, never made twice: safe to resend.
        linked = client.rest("create", "sobjects/ContentDocumentLink", method="POST", body=link)
    except ConnectorError as error:
        if error.code == DUPLICATE_VALUE:  # a retried link that had been made
            run.sent([position], error.attempts)
            run.settle(position, WriteOutcome.APPLIED, record_id=note_id)
        else:
            _failed(run, position, error, note_id)
        return
    run.sent([position], linked.attempts)
    run.settle(position, WriteOutcome.APPLIED, record_id=note_id)


def _failed(
    run: BatchedWrite, position: int, error: ConnectorError, note_id: str | None = None
) -> None:
    """A note's own failure settles it; anything else stops the run."""
    if error.status not in _RECORD_STATUSES:
        run.stop(error, [position], record_id=note_id)
    run.fail_call(position, error, record_id=note_id)
