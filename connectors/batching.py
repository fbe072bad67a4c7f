"""Batches of at most N items, and the per-input results of a write sent in batches.

Every connector's `write_owners` and `post_notes` keep their results in a `BatchedWrite`, so the
contract of `connectors.base` (one result per input, in input order; a run-stopping error
carries them all) is kept in one place.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import NoReturn, TypeVar

from connectors.base import WriteOutcome, WriteResult
from connectors.errors import ConnectorError

T = TypeVar("T")


def in_batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Consecutive lists of at most `size` items of `items`, in order (itertools.batched
    arrives with Python 3.12)."""
    if size < 1:
        raise ValueError(f"batch size must be at least 1, got {size}")
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


class BatchedWrite:
    """The results of one write call, input by input (inputs are named by their position).

    `sent` counts the requests that carried some inputs; `settle` records an input's outcome
    once; `stop` settles a failed call's inputs and every input not settled yet as `not_sent`,
    then raises the call's error carrying all the results.
    """

    def __init__(self, account_ids: Sequence[str]) -> None:
        self._account_ids = list(account_ids)
        self._attempts = [0] * len(self._account_ids)
        self._results: list[WriteResult | None] = [None] * len(self._account_ids)

    def sent(self, positions: Iterable[int], attempts: int) -> None:
        """`attempts` more requests carried the inputs at `positions`."""
        for position in positions:
            self._attempts[position] += attempts

    def settle(
        self,
        position: int,
        outcome: WriteOutcome,
        *,
        error: ConnectorError | None = None,
        record_id: str | None = None,
    ) -> None:
        """Record what became of the input at `position` (once)."""
        if self._results[position] is not None:
            raise RuntimeError(f"input {position} of this write already has its result")
        self._results[position] = WriteResult(
            self._account_ids[position],
            outcome,
            error=error,
            record_id=record_id,
            attempts=self._attempts[position],
        )

    def refuse(self, position: int, error: ConnectorError) -> None:
        """The input at `position` failed on its own (refused before sending, or by the CRM)."""
        self.settle(position, WriteOutcome.FAILED, error=error)

    def fail_call(
        self, position: int, error: ConnectorError, *, record_id: str | None = None
    ) -> None:
        """The one-input call carrying `position` failed with `error` without stopping the run."""
        self.sent([position], error.attempts)
        self.settle(position, WriteOutcome.after(error), error=error, record_id=record_id)

    def halve_refused(
        self, error: ConnectorError, batch: list[int], send: Callable[[list[int]], None]
    ) -> None:
        """The call carrying `batch` failed with `error`. A 400 refuses a whole HubSpot batch
        for one invalid input and applies nothing: each half is sent again with `send`, until
        the invalid inputs fail alone (k bad inputs in n cost about 2·k·log2(n) more calls).
        Any other failure stops the run."""
        if error.status != 400:
            self.stop(error, batch)
        if len(batch) == 1:
            self.fail_call(batch[0], error)
            return
        self.sent(batch, error.attempts)
        middle = len(batch) // 2
        send(batch[:middle])
        send(batch[middle:])

    def stop(
        self,
        error: ConnectorError,
        positions: Iterable[int],
        *,
        outcome: WriteOutcome | None = None,
        record_id: str | None = None,
    ) -> NoReturn:
        """The call carrying `positions` failed and the run stops: raise `error` with every
        input's result (`outcome` overrides the one the error implies)."""
        failed = [p for p in positions if self._results[p] is None]
        self.sent(failed, error.attempts)
        for position in failed:
            self.settle(
                position,
                outcome or WriteOutcome.after(error),
                error=error,
                record_id=record_id,
            )
        for position, result in enumerate(self._results):
            if result is None:
                self.settle(position, WriteOutcome.NOT_SENT)
        error.results = tuple(self.results())
        raise error

    def results(self) -> list[WriteResult]:
        """Every input's result, in input order (all must be settled)."""
        missing = [i for i, r in enumerate(self._results) if r is None]
        if missing:
            raise RuntimeError(f"inputs {missing[:5]} of this write have no result")
        return [r for r in self._results if r is not None]
