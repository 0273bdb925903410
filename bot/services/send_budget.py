"""The sending budget shared by every bot process: Telegram's limits belong to the bot token, not a process.

A :class:`SendBudget` is a token bucket (``capacity`` sends at once, refilled at ``per_second``) kept where
every process sees it:

* :class:`DatabaseBudget` — a row of the ``send_budget`` table on PostgreSQL (the default there), taken
  under a row lock, timed by the database's clock so the processes share one clock;
* :class:`RedisBudget` — a hash in Redis (``redis.url`` / ``AMANAT_REDIS__URL``), taken by one Lua script,
  timed by Redis's clock;
* :class:`LocalBudget` — in the process's memory (SQLite, the console, tests): one process, one budget.

A shared budget is wrapped in a :class:`FallbackBudget`: while the database or Redis cannot be reached,
each process keeps the limits on its own, so the bot can still say that it cannot save anything now.

Priorities: a :attr:`Priority.REPLY` (an answer to somebody who is waiting) may take the last token; a
:attr:`Priority.BACKGROUND` send (notifications, heartbeats, broadcasts) takes one only while ``reserve``
tokens are left over, so under load the replies always find room and background sending fills the rest.

:meth:`SendBudget.take` never waits: it takes a token and returns 0, or returns the seconds until one
could be there; :func:`acquire` waits for one. The Telegram side (which calls count, 429 handling) is
handlers/rate_limiter.py. :func:`open_send_budget` picks the kind from the settings.
"""

from __future__ import annotations

import asyncio
import logging
import time
from enum import IntEnum
from typing import Any, Protocol

from sqlalchemy import text

from bot.config import Settings
from models import Database

_LOGGER = logging.getLogger(__name__)

BUDGET_NAME = "telegram"


class Priority(IntEnum):
    """Who goes first when the budget is short: replies, then everything sent in the background."""

    REPLY = 0
    BACKGROUND = 1


class SendBudget(Protocol):
    """A token bucket shared by the processes that send with one bot token."""

    async def take(self, priority: Priority) -> float:
        """Take one token (return 0) or return the seconds until one could be there for ``priority``."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


class _Bucket:
    """The arithmetic every budget shares: refill, then take if ``priority`` may."""

    def __init__(self, capacity: float, per_second: float, reserve: float) -> None:
        if capacity < 1 or per_second <= 0 or reserve < 0 or reserve >= capacity:
            raise ValueError("a send budget needs capacity >= 1, per_second > 0 and 0 <= reserve < capacity")
        self.capacity = capacity
        self.per_second = per_second
        self.reserve = reserve

    def need(self, priority: Priority) -> float:
        """Tokens that must be there before ``priority`` may take one."""
        return 1.0 if priority is Priority.REPLY else 1.0 + self.reserve

    def step(self, tokens: float, updated: float, now: float, priority: Priority) -> tuple[float, float]:
        """(tokens left, seconds to wait): the bucket after one attempt at ``now``."""
        level = min(self.capacity, tokens + max(0.0, now - updated) * self.per_second)
        need = self.need(priority)
        if level >= need:
            return level - 1.0, 0.0
        return level, (need - level) / self.per_second


class LocalBudget(_Bucket):
    """The budget in this process's memory (one process: SQLite, the console, tests)."""

    def __init__(self, capacity: float, per_second: float, reserve: float = 0.0) -> None:
        super().__init__(capacity, per_second, reserve)
        self._tokens = capacity
        self._updated = time.monotonic()

    async def take(self, priority: Priority) -> float:
        now = time.monotonic()
        self._tokens, wait = self.step(self._tokens, self._updated, now, priority)
        self._updated = now
        return wait

    async def close(self) -> None:
        """Nothing to release."""


class DatabaseBudget(_Bucket):
    """The budget as a row of ``send_budget`` in the shared database (PostgreSQL)."""

    def __init__(
        self, db: Database, capacity: float, per_second: float, reserve: float = 0.0, name: str = BUDGET_NAME
    ) -> None:
        super().__init__(capacity, per_second, reserve)
        self.db = db
        self.name = name

    async def take(self, priority: Priority) -> float:
        select = text(
            "SELECT tokens, updated, extract(epoch FROM clock_timestamp()) FROM send_budget "
            "WHERE name = :name FOR UPDATE"
        )
        async with self.db.session() as session:
            row = (await session.execute(select, {"name": self.name})).one_or_none()
            if row is None:  # the first send ever: a full bucket
                await session.execute(
                    text(
                        "INSERT INTO send_budget (name, tokens, updated) "
                        "VALUES (:name, :tokens, extract(epoch FROM clock_timestamp())) "
                        "ON CONFLICT (name) DO NOTHING"
                    ),
                    {"name": self.name, "tokens": self.capacity},
                )
                row = (await session.execute(select, {"name": self.name})).one()
            now = float(row[2])
            tokens, wait = self.step(float(row[0]), float(row[1]), now, priority)
            await session.execute(
                text("UPDATE send_budget SET tokens = :tokens, updated = :now WHERE name = :name"),
                {"name": self.name, "tokens": tokens, "now": now},
            )
        return wait

    async def close(self) -> None:
        """The database belongs to the application."""


_REDIS_TAKE = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local capacity, per_second, need = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local stored = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
local tokens = tonumber(stored[1]) or capacity
local updated = tonumber(stored[2]) or now
local level = math.min(capacity, tokens + math.max(0, now - updated) * per_second)
local wait = 0
if level >= need then level = level - 1 else wait = (need - level) / per_second end
redis.call('HSET', KEYS[1], 'tokens', tostring(level), 'updated', tostring(now))
redis.call('EXPIRE', KEYS[1], 3600)
return tostring(wait)
"""


class RedisBudget(_Bucket):
    """The budget as a Redis hash, taken atomically by a Lua script on Redis's clock."""

    def __init__(
        self, url: str, capacity: float, per_second: float, reserve: float = 0.0, name: str = BUDGET_NAME
    ) -> None:
        super().__init__(capacity, per_second, reserve)
        import redis.asyncio  # only with redis.url set: the client library costs a quarter second to import

        self._client: Any = redis.asyncio.Redis.from_url(url)
        self._script: Any = self._client.register_script(_REDIS_TAKE)
        self.key = f"amanat:send_budget:{name}"

    async def take(self, priority: Priority) -> float:
        wait = await self._script(keys=[self.key], args=[self.capacity, self.per_second, self.need(priority)])
        return float(wait)

    async def close(self) -> None:
        await self._client.aclose()


class FallbackBudget:
    """A shared budget that falls back to one in this process while the shared one cannot be reached.

    The database (or Redis) being away must not silence the bot: the "I cannot save anything right now"
    answer still has to go out. Meanwhile each process keeps Telegram's limits on its own.
    """

    def __init__(self, shared: SendBudget, local: LocalBudget) -> None:
        self.shared = shared
        self.local = local
        self._warned = False

    async def take(self, priority: Priority) -> float:
        try:
            wait = await self.shared.take(priority)
        except Exception as error:
            if not self._warned:
                _LOGGER.warning(
                    "the shared sending budget is unreachable (%s); this process keeps the limits alone",
                    type(error).__name__,
                )
                self._warned = True
            return await self.local.take(priority)
        if self._warned:
            _LOGGER.info("the shared sending budget is back")
            self._warned = False
        return wait

    async def close(self) -> None:
        await self.shared.close()


async def acquire(budget: SendBudget, priority: Priority) -> None:
    """Wait until ``budget`` gives ``priority`` one token."""
    while True:
        wait = await budget.take(priority)
        if wait <= 0:
            return
        await asyncio.sleep(wait)


def open_send_budget(settings: Settings, db: Database | None) -> SendBudget:
    """Redis when ``redis.url`` is set, else the database when it is PostgreSQL, else this process."""
    limits = settings.limits
    shape = (float(limits.burst), limits.per_second, float(limits.background_reserve))
    if settings.redis.url:
        return FallbackBudget(RedisBudget(settings.redis.url, *shape), LocalBudget(*shape))
    if db is not None and not db.is_sqlite:
        return FallbackBudget(DatabaseBudget(db, *shape), LocalBudget(*shape))
    return LocalBudget(*shape)
