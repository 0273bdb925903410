"""One pass of a job at a time, also across processes: advisory lock on PostgreSQL, lock row on SQLite."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy import select

from bot.services.locks import job_lock
from models import Database, JobLock
from models.base import utcnow


async def test_a_second_holder_is_refused_while_the_first_holds_the_lock(
    any_db: Database, any_db_url: str, make_db: Callable[[str], Awaitable[Database]]
) -> None:
    other_process = await make_db(any_db_url)
    async with job_lock(any_db, "matching") as first:
        assert first.acquired
        async with job_lock(other_process, "matching") as second:
            assert not second.acquired
        async with job_lock(other_process, "heartbeat") as unrelated:
            assert unrelated.acquired
    async with job_lock(other_process, "matching") as after_release:
        assert after_release.acquired


async def test_a_lock_row_left_by_a_killed_process_expires(db: Database) -> None:
    async with db.session() as session:
        session.add(JobLock(name="matching", holder="dead:1", expires_at=utcnow() - timedelta(seconds=1)))
    async with job_lock(db, "matching") as handle:
        assert handle.acquired
    async with db.session() as session:
        assert await session.scalar(select(JobLock).where(JobLock.name == "matching")) is None


async def test_a_live_lock_row_is_respected_until_it_expires(db: Database) -> None:
    async with db.session() as session:
        session.add(JobLock(name="matching", holder="alive:1", expires_at=utcnow() + timedelta(minutes=5)))
    async with job_lock(db, "matching") as handle:
        assert not handle.acquired
    later = utcnow() + timedelta(minutes=6)
    async with job_lock(db, "matching", now=later) as handle:
        assert handle.acquired


async def test_postgres_lock_dies_with_the_connection_of_its_holder(
    postgres_url: str, make_db: Callable[[str], Awaitable[Database]]
) -> None:
    crashed = await make_db(postgres_url)
    survivor = await make_db(postgres_url)
    manager = job_lock(crashed, "matching")
    handle = await manager.__aenter__()
    assert handle.acquired
    async with job_lock(survivor, "matching") as refused:
        assert not refused.acquired
    # The process dies without unlocking: its connection is closed by the server.
    assert handle._connection is not None
    raw = await handle._connection.get_raw_connection()
    await raw.driver_connection.close()  # type: ignore[union-attr]
    async with job_lock(survivor, "matching") as taken:
        assert taken.acquired
