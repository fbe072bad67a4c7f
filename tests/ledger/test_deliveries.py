"""Delivery counters: one atomic count per delivery, even when a message is redelivered mid-run."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event as sa_event

from worker.ledger import Ledger
from worker.ledger.deliveries import count_delivery, forget_delivery
from worker.ledger.tables import deliveries

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


def test_each_delivery_counts_one_more_and_a_forgotten_one_starts_again(ledger: Ledger) -> None:
    for expected in (1, 2, 3):
        with ledger.write() as c:
            assert count_delivery(c, "territory.apply_due:m1", now=NOW) == expected
    with ledger.write() as c:
        assert count_delivery(c, "territory.apply_due:m2", now=NOW) == 1
        forget_delivery(c, "territory.apply_due:m1")
    with ledger.write() as c:
        assert count_delivery(c, "territory.apply_due:m1", now=NOW) == 1


ROUNDS = 8
CONTENDERS = 3


@pytest.mark.parametrize("ledger_url", ["postgresql"], indirect=True)
def test_a_redelivery_counted_while_the_first_still_runs_never_raises(ledger: Ledger) -> None:
    """Several connections count the same new message at once: no IntegrityError, no lost count.

    Each contender waits at a barrier just before its first statement on `deliveries`, so they
    all look for the row before any of them has committed one.
    """
    barrier = threading.Barrier(CONTENDERS, timeout=10)
    local = threading.local()  # `contending` is set in a contender until its first statement

    def before(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "deliveries" in statement and getattr(local, "contending", False):
            local.contending = False
            barrier.wait()

    errors: list[BaseException] = []
    counts: list[int] = []

    def contender(task_key: str) -> None:
        local.contending = True
        try:
            with ledger.write() as c:
                counts.append(count_delivery(c, task_key, now=NOW))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
            barrier.abort()

    sa_event.listen(ledger.engine, "before_cursor_execute", before)
    try:
        for round_ in range(ROUNDS):
            barrier.reset()
            counts.clear()
            task_key = f"territory.apply_due:m{round_}"
            threads = [
                threading.Thread(target=contender, args=(task_key,)) for _ in range(CONTENDERS)
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert errors == []
            assert sorted(counts) == list(range(1, CONTENDERS + 1))
            with ledger.read() as c:
                stored = c.scalar(
                    sa.select(deliveries.c.count).where(deliveries.c.task_key == task_key)
                )
            assert stored == CONTENDERS
    finally:
        sa_event.remove(ledger.engine, "before_cursor_execute", before)
