"""One pass of a job at a time, also across processes: advisory lock on PostgreSQL, lock row on SQLite."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy import select

from bot.services import locks
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


def _dead_holder() -> str:
    """A holder name of a process of this host that has exited (kill -9 leaves such a lock row behind)."""
    pid = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True
    ).stdout
    return f"{locks._host()}:{int(pid)}:0123abcd#1"


async def test_the_lock_of_a_dead_process_on_this_host_is_taken_over_at_once(db: Database) -> None:
    async with db.session() as session:
        session.add(
            JobLock(name="matching", holder=_dead_holder(), expires_at=utcnow() + timedelta(minutes=15))
        )
    async with job_lock(db, "matching") as handle:
        assert handle.acquired


async def test_a_lock_of_an_earlier_process_with_our_pid_is_taken_over(db: Database) -> None:
    # A restarted container runs the bot under the same pid; the nonce tells the processes apart.
    earlier = f"{locks._host()}:{os.getpid()}:earlier0#1"
    async with db.session() as session:
        session.add(JobLock(name="matching", holder=earlier, expires_at=utcnow() + timedelta(minutes=15)))
    async with job_lock(db, "matching") as handle:
        assert handle.acquired
    assert not locks.holder_is_dead(locks.process_identity() + "#2")


async def test_a_held_lock_is_kept_alive_by_its_heartbeat(
    sqlite_url: str, make_db: Callable[[str], Awaitable[Database]]
) -> None:
    holder, other = await make_db(sqlite_url), await make_db(sqlite_url)
    # short enough to see a beat soon (every half second), long enough that a stalled CI machine does not
    # let the renewed row expire before the second holder tries (0.6 s failed once under load)
    ttl = timedelta(seconds=3)
    async with job_lock(holder, "matching", ttl=ttl) as handle:
        assert handle.acquired
        async with holder.session() as session:
            first = await session.scalar(select(JobLock.expires_at))
        renewed = first
        deadline = asyncio.get_running_loop().time() + 30  # a guard against a heartbeat that never beats
        while renewed == first:  # the heartbeat beats every ttl / 6
            assert asyncio.get_running_loop().time() < deadline, "the lock was never renewed"
            await asyncio.sleep(0.05)
            async with holder.session() as session:
                renewed = await session.scalar(select(JobLock.expires_at))
        async with job_lock(other, "matching", now=utcnow()) as refused:
            assert not refused.acquired
