"""The beat's scheduler: RedBeat (the schedule and a lock in Redis), surviving a Redis restart.

RedBeat keeps the schedule in Redis and lets one beat at a time hold a lock, so two
`territory beat` processes never fire a task twice. As shipped it does not survive Redis
coming back empty (restarted without persistence): extending the vanished lock raises and
stops the beat, and the schedule it would read is gone, so nothing would fire again, the
relay included, and due work would wait in the ledger for a person to restart the beat.
This scheduler instead, on every tick:

- extends its lock, or takes it again when it vanished (and, when another beat took it
  first, stands by without firing anything);
- writes the schedule back when Redis lost it (each task then fires one interval later);
- rides out Redis being unreachable, trying again on the next tick, from its very start.

The lock is taken here, on a tick, never by blocking at start (RedBeat's own `beat_init`
handler is disconnected): a standby beat ticks without firing until the lock is free.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from celery.signals import beat_init
from redbeat.schedulers import (  # type: ignore[import-untyped]  # RedBeat ships no types
    LUA_EXTEND_TO_SCRIPT,
    RedBeatScheduler,
    acquire_distributed_beat_lock,
    get_redis,
)
from redis.exceptions import LockError, RedisError
from redis.lock import Lock

log = logging.getLogger("celery.beat")
# It blocks until the lock is free and gives up for good when Redis does not answer at start.
beat_init.disconnect(acquire_distributed_beat_lock)


class ResilientRedBeatScheduler(RedBeatScheduler):  # type: ignore[misc]  # RedBeat is untyped
    """RedBeat whose lock and schedule outlive a Redis restart (see the module docstring)."""

    lock: Lock | None = None

    def tick(self, min: Callable[..., float] = min, **kwargs: Any) -> float:
        """Fire what is due while this beat holds the lock; seconds until the next tick."""
        try:
            if not self._hold_lock():
                return float(self.max_interval)
            self._restore_schedule()
            return float(super().tick(min=min, **kwargs))
        except RedisError as exc:
            log.warning("beat: Redis does not answer (%s); trying again in a moment", exc)
            return float(self.max_interval)

    def setup_schedule(self) -> None:
        """Write the schedule to Redis; when Redis does not answer yet, a tick writes it."""
        try:
            super().setup_schedule()
        except RedisError as exc:
            log.warning(
                "beat: Redis does not answer (%s); the schedule is written when it does", exc
            )

    def close(self) -> None:
        """Release the lock if Redis still holds it for this beat; stop."""
        try:
            super().close()
        except RedisError as exc:
            log.warning("beat: could not release the lock (%s); it expires by itself", exc)

    def _hold_lock(self) -> bool:
        """Extend this beat's lock, or take it when it is free; False: another beat holds it."""
        if self.lock is None:
            client = get_redis(self.app)
            self.lock = client.lock(
                self.lock_key, timeout=self.lock_timeout, sleep=self.max_interval
            )
            self.lock.lua_extend = client.register_script(LUA_EXTEND_TO_SCRIPT)
        try:
            self.lock.extend(int(self.lock_timeout))
        except LockError:
            if not self.lock.acquire(blocking=False):
                return False
            log.info("beat: Acquired lock")
        return True

    def _restore_schedule(self) -> None:
        """Write the schedule back if Redis lost it."""
        if not get_redis(self.app).exists(self.app.redbeat_conf.schedule_key):
            log.warning("beat: the schedule is gone from Redis (restarted empty?); restoring it")
            self.setup_schedule()
