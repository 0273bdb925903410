"""What the health endpoint and the metrics read from the database: probes and counts, no Telegram, no web.

* :class:`DatabaseProbe` — can a *new* connection be made, and can it write? It uses its own engine
  without a pool (a pooled connection opened before the trouble would hide it) and writes one row in a
  transaction it rolls back. A SQLite file is opened read-write only, never created.
* :func:`last_matching_pass` — when a matching pass last ran, in any process (the watermark
  :data:`bot.services.matching.LAST_PASS` the pass stamps).
* :func:`outbox_backlog` — messages due and not yet sent, the oldest one's age, and failures.
* :func:`state_counts` — outbox messages, cases, appeal deliveries and readings by state, for /metrics.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from bot.services.matching import LAST_PASS
from bot.services.registry_search import RegistrySearch
from models import AppealDelivery, Case, Database, OutboxMessage, OutboxState, Watermark
from models.base import utcnow

__all__ = [
    "Backlog",
    "DatabaseProbe",
    "StateCounts",
    "last_matching_pass",
    "outbox_backlog",
    "state_counts",
]

PROBE_ROW = "healthz.probe"
_OUTSTANDING = (OutboxState.PENDING, OutboxState.SENDING)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def probe_url(url: str) -> str:
    """The URL the probe connects with: a SQLite file read-write only (a missing file is an error)."""
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite") and parsed.database not in (None, "", ":memory:"):
        path = str(parsed.database)
        if not path.startswith("file:"):
            return f"{parsed.drivername}:///file:{path}?mode=rw&uri=true"
    return url


class DatabaseProbe:
    """Checks that the database takes a new connection and a write (rolled back)."""

    def __init__(self, url: str) -> None:
        self.engine: AsyncEngine = create_async_engine(probe_url(url), poolclass=NullPool)

    async def check(self) -> dict[str, Any]:
        """Milliseconds a connection, a read and a write took; raises when any of them fails."""
        started = time.perf_counter()
        async with self.engine.connect() as connection:
            transaction = await connection.begin()
            try:
                await connection.execute(delete(Watermark).where(Watermark.name == PROBE_ROW))
                await connection.execute(
                    insert(Watermark).values(name=PROBE_ROW, value=0, updated_at=utcnow())
                )
            finally:
                await transaction.rollback()
        return {"ms": round((time.perf_counter() - started) * 1000, 1)}

    async def dispose(self) -> None:
        await self.engine.dispose()


async def last_matching_pass(db: Database) -> datetime | None:
    """When a matching pass last ran to its end (in any process), or None if none has."""
    async with db.session() as session:
        value = await session.scalar(select(Watermark.updated_at).where(Watermark.name == LAST_PASS))
    return _aware(value) if value is not None else None


@dataclass(frozen=True)
class Backlog:
    """The outbox: messages due now and not sent, the oldest due one's age, and messages given up on."""

    due: int
    oldest_due_seconds: float
    failed: int


async def outbox_backlog(db: Database, *, now: datetime | None = None) -> Backlog:
    clock = now or utcnow()
    async with db.session() as session:
        due, oldest = (
            await session.execute(
                select(func.count(), func.min(OutboxMessage.next_attempt_at)).where(
                    OutboxMessage.state.in_(_OUTSTANDING), OutboxMessage.next_attempt_at <= clock
                )
            )
        ).one()
        failed = await session.scalar(
            select(func.count()).where(OutboxMessage.state.in_((OutboxState.FAILED, OutboxState.DROPPED)))
        )
    age = (clock - _aware(oldest)).total_seconds() if oldest is not None else 0.0
    return Backlog(due=int(due or 0), oldest_due_seconds=max(age, 0.0), failed=int(failed or 0))


@dataclass(frozen=True)
class StateCounts:
    """Rows by state, for the gauges of /metrics."""

    outbox: dict[str, int]
    cases: dict[str, int]
    deliveries: dict[str, int]
    readings: int


async def state_counts(db: Database, registry: RegistrySearch) -> StateCounts:
    """Counts by state for the metrics; the readings as ``registry`` counts them."""
    async with db.session() as session:
        outbox = {
            str(state): int(count)
            for state, count in await session.execute(
                select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)
            )
        }
        cases = {
            str(status): int(count)
            for status, count in await session.execute(
                select(Case.status, func.count()).group_by(Case.status)
            )
        }
        deliveries = {
            str(state): int(count)
            for state, count in await session.execute(
                select(AppealDelivery.state, func.count()).group_by(AppealDelivery.state)
            )
        }
    readings = await registry.size()  # the index's own count, or the keys table's, cached briefly
    return StateCounts(outbox=outbox, cases=cases, deliveries=deliveries, readings=readings)
