"""The Celery application: Redis broker, JSON only, late acks, one message at a time.

`territory worker` and `territory beat` configure it from settings (`configure`) and start it.
The settings the reliability protocol depends on are set here and nowhere else:

- JSON serializer only; tasks take ids and ISO dates, never pickled objects;
- `acks_late` with `task_reject_on_worker_lost`: a task whose worker dies is redelivered;
- prefetch 1: a worker never holds messages it is not running;
- the Redis visibility timeout set explicitly; retry countdowns stay under half of it and every
  task finishes within a quarter of it (apply works in chunks of at most 200 changes);
- results are never kept.

The schedule (RedBeat: the schedule lives in Redis and one beat holds a lock, so two
`territory beat` processes never fire a task twice) comes from settings.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Final

from celery import Celery
from celery.schedules import crontab
from kombu import Queue

from worker.settings import Settings

QUEUES: Final = ("sync", "writeback", "routing", "alerts")
ROUTES: Final = {
    "territory.sync": {"queue": "sync"},
    "territory.plan": {"queue": "sync"},
    "territory.depart": {"queue": "sync"},
    "territory.apply_due": {"queue": "writeback"},
    "territory.reconcile": {"queue": "writeback"},
    "territory.relay": {"queue": "writeback"},
}

app = Celery("territory", include=["worker.tasks"])


class BrokerSettingsError(ValueError):
    """The worker or beat cannot start without a broker."""


def redis_url(settings: Settings) -> str:
    """The broker URL (TERRITORY_REDIS_URL)."""
    if settings.redis_url is None:
        raise BrokerSettingsError(
            "TERRITORY_REDIS_URL is not set: the worker and beat need Redis as their broker. "
            "Without it every command runs its task code in-process (territory sync, plan, "
            "apply); see docs/worker.md"
        )
    return settings.redis_url.get_secret_value()


def task_budget_seconds(settings: Settings) -> float:
    """How long one task may run: a quarter of the visibility timeout."""
    return settings.visibility_timeout_seconds / 4


def max_countdown_seconds(settings: Settings) -> float:
    """The longest retry countdown: half the visibility timeout."""
    return settings.visibility_timeout_seconds / 2


def configure(celery: Celery, settings: Settings) -> Celery:
    """Set broker, serialisation, acknowledgement, routing, limits and schedule from settings."""
    url = redis_url(settings)
    budget = task_budget_seconds(settings)
    celery.conf.update(
        broker_url=url,
        broker_transport_options={"visibility_timeout": settings.visibility_timeout_seconds},
        broker_connection_retry_on_startup=True,
        # An unattended worker waits for its broker however long it is away, never exits.
        broker_connection_max_retries=None,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        result_backend=None,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_soft_time_limit=budget,
        task_time_limit=budget + 30,
        task_queues=[Queue(name) for name in QUEUES],
        task_default_queue="sync",
        task_routes=ROUTES,
        timezone=settings.timezone,
        enable_utc=True,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        beat_schedule=schedule(settings),
        redbeat_redis_url=url,
        redbeat_key_prefix="territory:beat",
        redbeat_lock_timeout=max(30, int(5 * min(settings.relay_every_seconds, 60))),
        beat_max_loop_interval=min(5.0, settings.relay_every_seconds),
    )
    return celery


def schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    """The beat schedule: incremental sync, apply-due, reconcile, relay, nightly plan."""
    hour, minute = (int(part) for part in settings.nightly_plan_at.split(":")[:2])
    return {
        "incremental-sync": {
            "task": "territory.sync",
            "schedule": timedelta(minutes=settings.sync_every_minutes),
        },
        "apply-due": {
            "task": "territory.apply_due",
            "schedule": timedelta(minutes=settings.apply_every_minutes),
        },
        "reconcile": {
            "task": "territory.reconcile",
            "schedule": timedelta(minutes=settings.reconcile_every_minutes),
        },
        "relay": {
            "task": "territory.relay",
            "schedule": timedelta(seconds=settings.relay_every_seconds),
        },
        "nightly-plan": {
            "task": "territory.plan",
            "schedule": crontab(hour=str(hour), minute=str(minute)),
        },
    }
