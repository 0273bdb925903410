"""One run of a job at a time, also across processes: `job_lock(db, "matching")`; who holds what.

Every lock and lease names its holder by `process_identity()`: the host (its name and the process-id
namespace, so two containers that share a host name are told apart), the process id, and a nonce drawn
when the process started. `holder_is_dead(holder)` answers at once for a holder on this host: its process
is gone, or its process id is ours but its nonce is not (a restarted container reuses the same pid). For a
holder elsewhere only the heartbeat tells: a lock or lease that is not renewed in time has expired.

PostgreSQL: a session-level advisory lock (`pg_try_advisory_lock`) held on a dedicated connection for
the whole run; if the process dies, the server closes the connection and the lock is gone with it.

SQLite: a `JobLock` row whose holder is the process identity and whose expiry a heartbeat task pushes
forward every `ttl / 6` while the lock is held. Taking the lock is one upsert that succeeds when no row
exists, the row has expired (its holder stopped beating), or its holder is dead; so a pass killed with
kill -9 keeps the next pass out for no time on the same host, and for at most `ttl` (30 s) elsewhere.

Never blocks: a caller that does not get the lock is told so (`handle.acquired` is False) and should
skip its run; the holder's run covers the work.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import delete, select, text, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from models import Database, JobLock
from models.base import utcnow

log = logging.getLogger(__name__)

# A lock row not renewed for this long belongs to a holder that is gone (hung, or on a host that died).
DEFAULT_TTL = timedelta(seconds=30)
# The heartbeat renews a held lock this many times per TTL.
BEATS_PER_TTL = 6

_NONCE = uuid.uuid4().hex[:12]


@cache
def _host() -> str:
    """This host as a holder names it: the host name plus the process-id namespace (containers)."""
    try:
        namespace = str(os.stat("/proc/self/ns/pid").st_ino)
    except OSError:
        namespace = "-"
    return f"{socket.gethostname()}/{namespace}"


def process_identity() -> str:
    """Who this process is, for locks and leases: "host/pid-namespace:pid:nonce"."""
    return f"{_host()}:{os.getpid()}:{_NONCE}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def holder_is_dead(holder: str | None) -> bool:
    """True when `holder` (a process identity, optionally "#suffix") is a process of this host that died.

    False when it is alive or cannot be judged from here (another host): the caller then waits for its
    lock or lease to expire.
    """
    if not holder:
        return False
    parts = holder.partition("#")[0].rsplit(":", 2)
    if len(parts) != 3 or parts[0] != _host() or not parts[1].isdigit():
        return False
    pid, nonce = int(parts[1]), parts[2]
    if pid == os.getpid():
        return nonce != _NONCE  # our pid, but an earlier process's (a restarted container)
    return not _pid_alive(pid)


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for PostgreSQL's advisory locks, derived from the job's name."""
    digest = hashlib.blake2b(f"amanat:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _holder_id() -> str:
    """The process identity plus a suffix of this acquisition (two runs in one process are two holders)."""
    return f"{process_identity()}#{uuid.uuid4().hex[:8]}"


@dataclass
class JobLockHandle:
    """The outcome of trying to take a job lock; `acquired` says whether this run may proceed."""

    db: Database
    name: str
    holder: str
    ttl: timedelta
    acquired: bool = False
    _connection: AsyncConnection | None = field(default=None, repr=False)
    _heartbeat: asyncio.Task[None] | None = field(default=None, repr=False)

    async def renew(self) -> bool:
        """Push the expiry of a SQLite lock row forward; False if the row is no longer ours.

        A no-op (True) on PostgreSQL and when not held. The heartbeat task calls it; a caller may too.
        """
        if not self.acquired or self._connection is not None:
            return True
        async with self.db.session() as session:
            result = await session.execute(
                update(JobLock)
                .where(JobLock.name == self.name, JobLock.holder == self.holder)
                .values(expires_at=utcnow() + self.ttl)
            )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def _beat(self) -> None:
        """Renew the lock every `ttl / BEATS_PER_TTL` until cancelled; a failed beat is logged, not fatal."""
        interval = self.ttl.total_seconds() / BEATS_PER_TTL
        while True:
            await asyncio.sleep(interval)
            try:
                if not await self.renew():
                    log.warning("job lock %s: the lock row was taken over by another holder", self.name)
                    return
            except Exception as error:  # a busy database: the next beat tries again within the TTL
                log.warning("job lock %s: heartbeat failed: %s", self.name, type(error).__name__)


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
        await session.execute(statement)  # takes SQLite's write lock: what follows is not raced
        holder = await session.scalar(select(JobLock.holder).where(JobLock.name == handle.name))
        if holder != handle.holder and holder_is_dead(holder):
            log.info("job lock %s: its holder died; taking it over", handle.name)
            await session.execute(
                update(JobLock)
                .where(JobLock.name == handle.name, JobLock.holder == holder)
                .values(holder=handle.holder, acquired_at=now, expires_at=now + handle.ttl)
            )
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

    `ttl` only matters on SQLite: how long the lock row of a holder that stopped beating keeps others out
    (a dead holder on this host is taken over at once).
    """
    handle = JobLockHandle(db=db, name=name, holder=_holder_id(), ttl=ttl)
    if db.is_sqlite:
        handle.acquired = await _acquire_sqlite(handle, now or utcnow())
        if handle.acquired:
            handle._heartbeat = asyncio.create_task(handle._beat(), name=f"job-lock-heartbeat:{name}")
    else:
        handle.acquired = await _acquire_postgres(handle)
    try:
        yield handle
    finally:
        if handle._heartbeat is not None:
            handle._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await handle._heartbeat
            handle._heartbeat = None
        if handle.acquired:
            if db.is_sqlite:
                await _release_sqlite(handle)
            else:
                await _release_postgres(handle)
            handle.acquired = False
