"""One run of a job at a time, also across processes: `job_lock(db, "matching")`.

PostgreSQL: a session-level advisory lock (`pg_try_advisory_lock`) held on a dedicated connection for
the whole run; if the process dies, the server closes the connection and the lock is gone with it.

SQLite: a `JobLock` row with an expiry. Taking the lock is one upsert that succeeds only when no row
exists or the existing row has expired, so a lock left behind by a killed process stops counting after
its time-to-live; a long run keeps its lock by calling `JobLockHandle.renew()` between steps.

Never blocks: a caller that does not get the lock is told so (`handle.acquired` is False) and should
skip its run; the holder's run covers the work.
"""

from __future__ import annotations

import hashlib
import os
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, select, text, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from models import Database, JobLock
from models.base import utcnow

DEFAULT_TTL = timedelta(minutes=15)


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for PostgreSQL's advisory locks, derived from the job's name."""
    digest = hashlib.blake2b(f"amanat:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _holder_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class JobLockHandle:
    """The outcome of trying to take a job lock; `acquired` says whether this run may proceed."""

    db: Database
    name: str
    holder: str
    ttl: timedelta
    acquired: bool = False
    _connection: AsyncConnection | None = field(default=None, repr=False)

    async def renew(self) -> None:
        """Push the expiry of a SQLite lock row forward (a no-op on PostgreSQL and when not held)."""
        if not self.acquired or self._connection is not None:
            return
        async with self.db.session() as session:
            await session.execute(
                update(JobLock)
                .where(JobLock.name == self.name, JobLock.holder == self.holder)
                .values(expires_at=utcnow() + self.ttl)
            )


async def _acquire_sqlite(handle: JobLockHandle, now: datetime) -> bool:
    statement = sqlite_insert(JobLock).values(
        name=handle.name, holder=handle.holder, acquired_at=now, expires_at=now + handle.ttl
    )
    statement = statement.on_conflict_do_update(
        index_elements=[JobLock.name],
        set_={
            "holder": statement.excluded.holder,
            "acquired_at": statement.excluded.acquired_at,
            "expires_at": statement.excluded.expires_at,
        },
        where=JobLock.expires_at < now,
    )
    async with handle.db.session() as session:
        await session.execute(statement)
        holder = await session.scalar(select(JobLock.holder).where(JobLock.name == handle.name))
    return holder == handle.holder


async def _release_sqlite(handle: JobLockHandle) -> None:
    async with handle.db.session() as session:
        await session.execute(
            delete(JobLock).where(JobLock.name == handle.name, JobLock.holder == handle.holder)
        )


async def _acquire_postgres(handle: JobLockHandle) -> bool:
    connection = await handle.db.engine.connect()
    try:
        got = await connection.scalar(
            text("SELECT pg_try_advisory_lock(:key)"), {"key": advisory_key(handle.name)}
        )
        await connection.commit()  # the lock belongs to the session, not to this transaction
    except BaseException:
        await connection.close()
        raise
    if not got:
        await connection.close()
        return False
    handle._connection = connection
    return True


async def _release_postgres(handle: JobLockHandle) -> None:
    connection, handle._connection = handle._connection, None
    if connection is None:
        return
    try:
        await connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": advisory_key(handle.name)})
        await connection.commit()
    finally:
        await connection.close()


@asynccontextmanager
async def job_lock(
    db: Database, name: str, *, ttl: timedelta = DEFAULT_TTL, now: datetime | None = None
) -> AsyncIterator[JobLockHandle]:
    """Try to take the lock `name` for the duration of the block; never waits for it.

    `ttl` only matters on SQLite: how long a lock row of a process that died keeps others out.
    """
    handle = JobLockHandle(db=db, name=name, holder=_holder_id(), ttl=ttl)
    if db.is_sqlite:
        handle.acquired = await _acquire_sqlite(handle, now or utcnow())
    else:
        handle.acquired = await _acquire_postgres(handle)
    try:
        yield handle
    finally:
        if handle.acquired:
            if db.is_sqlite:
                await _release_sqlite(handle)
            else:
                await _release_postgres(handle)
            handle.acquired = False
