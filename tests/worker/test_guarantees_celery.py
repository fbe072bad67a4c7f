"""The Celery settings the reliability protocol rests on, as `territory worker` configures them:
JSON only, one message at a time acknowledged late, an explicit visibility timeout that bounds
countdowns and task time, four queues with every task routed, and apply chunks of <= 200."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from celery import Celery
from pydantic import ValidationError

import worker.tasks  # noqa: F401 - registers the tasks with the app
from tests.worker.conftest import Clock
from tests.worker.fake_crm import FakeCrm
from worker.celery_app import (
    QUEUES,
    app,
    configure,
    max_countdown_seconds,
    schedule,
    task_budget_seconds,
)
from worker.context import WorkerContext
from worker.planning import plan_from_ledger
from worker.settings import Settings, SettingsError, load_settings
from worker.steps import apply_step, sync_step

TASKS = {
    "territory.sync",
    "territory.plan",
    "territory.depart",
    "territory.apply_due",
    "territory.reconcile",
    "territory.relay",
}


def configured(visibility_timeout_seconds: int = 600) -> Celery:
    settings = Settings(
        database_url=None,
        redis_url="redis://127.0.0.1:6379/0",
        visibility_timeout_seconds=visibility_timeout_seconds,
    )
    return configure(Celery("territory-config-test"), settings)


def test_messages_are_json_only() -> None:
    conf = configured().conf

    assert list(conf.accept_content) == ["json"]  # a pickled message is refused, never run
    assert conf.task_serializer == "json"
    assert conf.result_serializer == "json"
    assert conf.task_ignore_result is True


def test_a_worker_holds_one_message_at_a_time_and_acknowledges_it_when_done() -> None:
    conf = configured().conf

    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True


@pytest.mark.parametrize("seconds", [60, 600, 7200])
def test_the_visibility_timeout_is_set_and_bounds_countdowns_and_task_time(seconds: int) -> None:
    conf = configured(seconds).conf
    settings = Settings(database_url=None, visibility_timeout_seconds=seconds)

    assert conf.broker_transport_options["visibility_timeout"] == seconds
    assert max_countdown_seconds(settings) == seconds / 2
    assert conf.task_soft_time_limit == task_budget_seconds(settings) == seconds / 4
    # Killed before the broker would hand the message to another worker.
    assert conf.task_time_limit < seconds


def test_four_queues_and_every_task_routed_to_one_of_them() -> None:
    conf = configured().conf
    queues = {q.name for q in conf.task_queues}

    assert queues == set(QUEUES) == {"sync", "writeback", "routing", "alerts"}
    registered = {name for name in app.tasks if name.startswith("territory.")}
    assert registered == TASKS
    assert {name: conf.task_routes[name]["queue"] for name in TASKS} == {
        "territory.sync": "sync",
        "territory.plan": "sync",
        "territory.depart": "sync",
        "territory.apply_due": "writeback",
        "territory.reconcile": "writeback",
        "territory.relay": "writeback",
    }
    assert conf.task_default_queue in queues
    scheduled = {entry["task"] for entry in schedule(Settings(database_url=None)).values()}
    assert scheduled <= registered


def test_apply_chunks_are_at_most_200_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings(database_url=None).apply_chunk == 200
    assert Settings(database_url=None, apply_chunk=200).apply_chunk == 200
    with pytest.raises(ValidationError):
        Settings(database_url=None, apply_chunk=201)
    monkeypatch.setenv("TERRITORY_APPLY_CHUNK", "500")
    with pytest.raises(SettingsError, match="TERRITORY_APPLY_CHUNK"):
        load_settings()


def test_an_apply_claims_and_reads_no_more_than_a_chunk_at_a_time(
    active: WorkerContext, crm: FakeCrm, clock: Clock
) -> None:
    sync_step(active, spec="hubspot", full=True)
    plan_from_ledger(active, save=True)
    clock.advance(days=60)
    active.settings = active.settings.model_copy(update={"apply_chunk": 4})
    read = crm.read_owners
    batches: list[int] = []

    def counted(account_ids: Sequence[str]) -> dict[str, str | None]:
        batches.append(len(account_ids))
        return read(account_ids)

    crm.read_owners = counted  # type: ignore[method-assign]

    report, _ = apply_step(active)

    assert len(report.rows) > 8
    assert {r.state for r in report.rows} == {"applied"}
    assert max(batches) == 4
    assert len(batches) >= len(report.rows) / 4
