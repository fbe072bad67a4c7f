"""Owner changes written with `POST /crm/v3/objects/companies/batch/update`, 100 per call.

HubSpot answers a batch update three ways: 200 (all applied), 207 (some records failed, each
named in `errors[].context.ids`) or 400 for the whole batch when one input is invalid (an owner
id that is not an active owner, say), without saying which, and applying nothing. That batch is
split in halves and each half sent again, until the invalid inputs are alone and fail on their
own; k bad inputs in n cost at most about 2·k·log2(n) extra calls. Any other failure of a call
stops the run: its error is raised carrying every input's outcome (see `connectors.base`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Final

from connectors.base import OwnerWrite, WriteOutcome, WriteResult
from connectors.batching import BatchedWrite
from connectors.errors import ConnectorError, TerminalError, TransientError
from connectors.hubspot.errors import Json, record_error
from connectors.hubspot.paging import BATCH_SIZE, results_by_id
from connectors.hubspot.transport import HubSpotTransport
from connectors.retry import Replay

OPERATION: Final = "companies.batch_update"
# Logical territory field (connectors.base.TERRITORY_FIELDS) -> HubSpot company property.
TERRITORY_PROPERTIES: Final = {
    "territory": "territory",
    "rule_revision": "territory_rule_revision",
    "effective_date": "territory_effective_date",
    "assigned_at": "territory_assigned_at",
    "lock": "territory_lock",
}


class OwnerWriter:
    """Batch updates with per-record results, in input order."""

    def __init__(self, transport: HubSpotTransport, batch_size: int) -> None:
        self.transport = transport
        self.batch_size = batch_size

    def write(self, writes: Sequence[OwnerWrite]) -> list[WriteResult]:
        run = BatchedWrite([w.account_id for w in writes])
        inputs: dict[int, Json] = {}
        for index, write in enumerate(writes):
            unknown = sorted(set(write.fields) - set(TERRITORY_PROPERTIES))
            if unknown:
                run.refuse(
                    index, TerminalError(f"unknown territory field(s) {unknown}", code="FIELD")
                )
            else:
                inputs[index] = {"id": write.account_id, "properties": _properties(write)}
        for batch in distinct_batches(inputs, self.batch_size):
            self._send(batch, inputs, run)
        return run.results()

    def _send(self, batch: list[int], inputs: Mapping[int, Json], run: BatchedWrite) -> None:
        try:
            reply = self.transport.call(
                OPERATION,
                self.transport.apis.companies_batch.update,
                {"inputs": [inputs[i] for i in batch]},
                replay=Replay.UPDATE,
            )
        except ConnectorError as error:
            run.halve_refused(error, batch, lambda half: self._send(half, inputs, run))
            return
        run.sent(batch, reply.attempts)
        _settle(batch, inputs, reply.body, run)


def _properties(write: OwnerWrite) -> dict[str, str]:
    properties = {TERRITORY_PROPERTIES[name]: value for name, value in write.fields.items()}
    properties["hubspot_owner_id"] = write.owner_id or ""  # "" clears the owner, as HubSpot allows
    return properties


def distinct_batches(inputs: Mapping[int, Json], size: int = BATCH_SIZE) -> Iterator[list[int]]:
    """Input positions in batches of at most `size` that name each company once (HubSpot
    refuses a batch with a duplicate id), in input order so later writes to a company land
    later."""
    batch: list[int] = []
    ids: set[str] = set()
    for index, item in inputs.items():
        if len(batch) == size or item["id"] in ids:
            yield batch
            batch, ids = [], set()
        batch.append(index)
        ids.add(item["id"])
    if batch:
        yield batch


def _settle(batch: list[int], inputs: Mapping[int, Json], body: Json, run: BatchedWrite) -> None:
    """A 200/207 body read into one outcome per input; a record HubSpot does not mention is
    unknown (re-read it)."""
    failed: dict[str, ConnectorError] = {}
    for entry in body.get("errors") or []:
        error = record_error(OPERATION, entry)
        for record_id in (entry.get("context") or {}).get("ids") or []:
            failed[str(record_id)] = error
    applied = results_by_id(body)
    for index in batch:
        record_id = inputs[index]["id"]
        if record_id in failed:
            run.settle(index, WriteOutcome.FAILED, error=failed[record_id])
        elif record_id in applied:
            run.settle(index, WriteOutcome.APPLIED, record_id=record_id)
        else:
            error = TransientError(f"HubSpot {OPERATION}: no result for this record; re-read it")
            run.settle(index, WriteOutcome.UNKNOWN, error=error)
