"""Owner changes written with `POST /crm/v3/objects/companies/batch/update`, 100 per call.

HubSpot answers a batch update three ways: 200 (all applied), 207 (some records failed, each
named in `errors[].context.ids`) or 400 for the whole batch when one input is invalid (an owner
id that is not an active owner, say), without saying which, and applying nothing. That batch is
split in halves and each half sent again, until the invalid inputs are alone and fail on their
own; k bad inputs in n cost at most about 2·k·log2(n) extra calls.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Final

from connectors.base import OwnerWrite, WriteResult
from connectors.errors import BudgetExhaustedError, ConnectorError, TerminalError, TransientError
from connectors.hubspot.errors import Json, record_error
from connectors.hubspot.paging import BATCH_SIZE, results_by_id
from connectors.hubspot.transport import HubSpotTransport, Replay

OPERATION: Final = "companies.batch_update"
# Logical territory field (connectors.base.TERRITORY_FIELDS) -> HubSpot company property.
TERRITORY_PROPERTIES: Final = {
    "territory": "territory",
    "rule_revision": "territory_rule_revision",
    "effective_date": "territory_effective_date",
    "assigned_at": "territory_assigned_at",
    "lock": "territory_lock",
}


def fails_the_run(error: ConnectorError) -> bool:
    """Errors no record can get past: bad credentials, a missing scope, a spent allowance."""
    return isinstance(error, BudgetExhaustedError) or error.status in {401, 403}


class OwnerWriter:
    """Batch updates with per-record results, in input order."""

    def __init__(self, transport: HubSpotTransport) -> None:
        self.transport = transport

    def write(self, writes: Sequence[OwnerWrite]) -> list[WriteResult]:
        results: dict[int, WriteResult] = {}
        inputs: dict[int, Json] = {}
        for index, write in enumerate(writes):
            unknown = sorted(set(write.fields) - set(TERRITORY_PROPERTIES))
            if unknown:
                error = TerminalError(f"unknown territory field(s) {unknown}", code="FIELD")
                results[index] = WriteResult(write.account_id, ok=False, error=error)
            else:
                inputs[index] = {"id": write.account_id, "properties": _properties(write)}
        for batch in distinct_batches(inputs):
            results.update(self._send(batch, inputs))
        return [results[i] for i in range(len(writes))]

    def _send(self, batch: list[int], inputs: Mapping[int, Json]) -> dict[int, WriteResult]:
        try:
            reply = self.transport.call(
                OPERATION,
                self.transport.apis.companies_batch.update,
                {"inputs": [inputs[i] for i in batch]},
                replay=Replay.UPDATE,
            )
        except ConnectorError as error:
            if fails_the_run(error):
                raise
            if error.status == 400 and len(batch) > 1:
                middle = len(batch) // 2
                return self._send(batch[:middle], inputs) | self._send(batch[middle:], inputs)
            return {i: WriteResult(inputs[i]["id"], ok=False, error=error) for i in batch}
        return _per_record(batch, inputs, reply.body)


def _properties(write: OwnerWrite) -> dict[str, str]:
    properties = {TERRITORY_PROPERTIES[name]: value for name, value in write.fields.items()}
    properties["hubspot_owner_id"] = write.owner_id  # "" clears the owner, as HubSpot allows
    return properties


def distinct_batches(inputs: Mapping[int, Json]) -> Iterator[list[int]]:
    """Input positions in batches of at most 100 that name each company once (HubSpot refuses
    a batch with a duplicate id), in input order so later writes to a company land later."""
    batch: list[int] = []
    ids: set[str] = set()
    for index, item in inputs.items():
        if len(batch) == BATCH_SIZE or item["id"] in ids:
            yield batch
            batch, ids = [], set()
        batch.append(index)
        ids.add(item["id"])
    if batch:
        yield batch


def _per_record(batch: list[int], inputs: Mapping[int, Json], body: Json) -> dict[int, WriteResult]:
    """A 200/207 body read into one result per input."""
    failed: dict[str, ConnectorError] = {}
    for entry in body.get("errors") or []:
        error = record_error(OPERATION, entry)
        for record_id in (entry.get("context") or {}).get("ids") or []:
            failed[str(record_id)] = error
    applied = results_by_id(body)
    results: dict[int, WriteResult] = {}
    for index in batch:
        record_id = inputs[index]["id"]
        if record_id in failed:
            results[index] = WriteResult(record_id, ok=False, error=failed[record_id])
        elif record_id in applied:
            results[index] = WriteResult(record_id, ok=True, record_id=record_id)
        else:
            error = TransientError(f"HubSpot {OPERATION}: no result for this record; re-read it")
            results[index] = WriteResult(record_id, ok=False, error=error)
    return results
