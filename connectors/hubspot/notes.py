"""Amendment notes: posted once, found again by marker.

Notes are created with `POST /crm/v3/objects/notes/batch/create`, associated to their company
with HubSpot-defined type 190 (note to company), and owned by the integration: no
`hubspot_owner_id`, so a note never reads as the new rep's activity. Each input carries an
`objectWriteTraceId`, which lets HubSpot report a failed note on its own (207) and tells which
answer belongs to which note.

A batch HubSpot refuses with a 400 (one invalid input; nothing created) is split in halves and
sent again until the invalid note fails alone.

A create is never sent blindly twice. When the answer is lost (a dropped connection or a 5xx
after the request went out) the run stops, and every note of that call is `unknown`: the caller
looks for the marker with `find` before posting again. `find` reads the company's note
associations and then the notes (a batch read), never the search, which lags behind creates.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC
from typing import Final

from connectors.base import Note, WriteOutcome, WriteResult
from connectors.batching import BatchedWrite
from connectors.errors import ConnectorError, TerminalError, TransientError
from connectors.hubspot.associations import associated_ids
from connectors.hubspot.errors import Json, record_error
from connectors.hubspot.paging import chunks
from connectors.hubspot.transport import HubSpotTransport
from connectors.retry import Replay

NOTE_TO_COMPANY: Final = 190
NOTE_BODY_LIMIT: Final = 65_536
OPERATION: Final = "notes.batch_create"


class NoteStore:
    """Post notes and look them up by marker."""

    def __init__(self, transport: HubSpotTransport, batch_size: int) -> None:
        self.transport = transport
        self.batch_size = batch_size

    def post(self, notes: Sequence[Note]) -> list[WriteResult]:
        run = BatchedWrite([n.account_id for n in notes])
        ready: list[int] = []
        for index, note in enumerate(notes):
            problem = _problem(note)
            if problem is None:
                ready.append(index)
            else:
                run.refuse(index, problem)
        for batch in chunks(ready, self.batch_size):
            self._create(batch, notes, run)
        return run.results()

    def _create(self, batch: list[int], notes: Sequence[Note], run: BatchedWrite) -> None:
        try:
            reply = self.transport.call(
                OPERATION,
                self.transport.apis.notes_batch.create,
                {"inputs": [_input(notes[i], str(i)) for i in batch]},
                replay=Replay.CREATE,
            )
        except ConnectorError as error:
            # One invalid input (a note on a company deleted since): as owner writes do.
            run.halve_refused(error, batch, lambda half: self._create(half, notes, run))
            return
        run.sent(batch, reply.attempts)
        created = {
            str(r.get("objectWriteTraceId")): str(r["id"]) for r in reply.body.get("results") or []
        }
        failed: dict[str, ConnectorError] = {}
        for entry in reply.body.get("errors") or []:
            for trace in (entry.get("context") or {}).get("objectWriteTraceId") or []:
                failed[str(trace)] = record_error(OPERATION, entry)
        for index in batch:
            trace = str(index)
            if trace in created:
                run.settle(index, WriteOutcome.APPLIED, record_id=created[trace])
            elif trace in failed:
                run.settle(index, WriteOutcome.FAILED, error=failed[trace])
            else:
                lost = TransientError(f"HubSpot {OPERATION}: no result for this note")
                run.settle(index, WriteOutcome.UNKNOWN, error=lost)

    def find(self, account_ids: Sequence[str], markers: Iterable[str]) -> dict[str, str]:
        """Marker -> id of the (lowest-numbered) note on one of `account_ids` carrying it."""
        wanted = set(markers)
        if not wanted or not account_ids:
            return {}
        by_company = associated_ids(self.transport, "companies", "notes", account_ids)
        note_ids = sorted({n for ids in by_company.values() for n in ids}, key=int)
        found: dict[str, str] = {}
        for batch in chunks(note_ids):
            for note in self._read(batch):
                body = str((note.get("properties") or {}).get("hs_note_body") or "")
                for marker in wanted - found.keys():
                    if marker in body:
                        found[marker] = str(note["id"])
        return found

    def _read(self, ids: list[str]) -> list[Json]:
        reply = self.transport.call(
            "notes.batch_read",
            self.transport.apis.notes_batch.read,
            {
                "inputs": [{"id": i} for i in ids],
                "properties": ["hs_note_body"],
                "propertiesWithHistory": [],
            },
            archived=False,
        )
        results: list[Json] = reply.body.get("results") or []
        return results


def _input(note: Note, trace: str) -> Json:
    timestamp = note.timestamp if note.timestamp.tzinfo else note.timestamp.replace(tzinfo=UTC)
    return {
        "properties": {
            "hs_timestamp": timestamp.astimezone(UTC).isoformat(timespec="milliseconds"),
            "hs_note_body": note.body,
        },
        "associations": [
            {
                "to": {"id": note.account_id},
                "types": [
                    {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": NOTE_TO_COMPANY}
                ],
            }
        ],
        "objectWriteTraceId": trace,
    }


def _problem(note: Note) -> ConnectorError | None:
    """Refuse, before sending, a note that could never be found again or never fit."""
    if note.marker not in note.body:
        return TerminalError(f"note for change {note.change_id} lacks its marker", code="MARKER")
    if len(note.body) > NOTE_BODY_LIMIT:
        return TerminalError(
            f"note for change {note.change_id} is longer than {NOTE_BODY_LIMIT} characters",
            code="NOTE_TOO_LONG",
        )
    return None
