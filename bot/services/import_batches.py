"""Import batches: which are running, finished or lost, which readings are visible, and what an
administrator does with a lost one.

A batch's readings are visible (to the bot's in-memory index and to the matching job) once the batch is
finished. A running batch names the process writing it: host, pid and the process's start time (so a
reused pid is not taken for it), and that process writes a heartbeat while it imports. The batch is
alive while that process exists (on this host) or its heartbeat is recent (on another host); otherwise it
is lost, as is a batch whose import failed (the importer marks it so). A lost batch hides only its own
readings: the batches after it are visible once they finish.

Consumers read the registry up to a batch id (`Visible.upto`, a watermark they keep): every batch up to
it is finished or lost, none alive. Readings of a lost batch are therefore taken into a new batch when
an administrator finishes it (`finish_lost_batch`), so that consumers whose watermark passed it see them
as new; a roll-back (`roll_back_lost_batch`) deletes the readings the batch inserted (those it updated
cannot get their old text back: they are kept, as a finished batch of their own).
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from models import BatchState, Database, ImportBatch, Reading, ReadingKey
from models.base import utcnow

__all__ = [
    "HEARTBEAT_SECONDS",
    "HEARTBEAT_TIMEOUT",
    "BatchError",
    "BatchInfo",
    "Visible",
    "batch_overview",
    "finish_lost_batch",
    "process_identity",
    "roll_back_lost_batch",
    "visible_batches",
]

HEARTBEAT_SECONDS = 10.0  # how often a running import says it is alive
HEARTBEAT_TIMEOUT = timedelta(minutes=2)  # a batch of another host silent this long is lost


class BatchError(Exception):
    """An administrator's request about a batch that cannot be done (no such batch, not lost).

    ``code`` and ``args`` say it for the command line to word in the administrator's language.
    """

    def __init__(self, message: str, code: str = "", **args: object) -> None:
        super().__init__(message)
        self.code = code
        self.args_ = args


def _process_start(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (/proc), "" where there is no /proc, or None
    when no such process runs (a zombie, killed and not yet reaped, counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
    except FileNotFoundError:
        if os.path.isdir("/proc/self"):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        return ""
    except OSError:
        return None
    if fields[0] in (b"Z", b"X"):  # state: zombie or dead
        return None
    return fields[19].decode()  # field 22 of stat: starttime


def process_identity() -> tuple[str, int, str]:
    """This process as a running batch names it: (host, pid, start time)."""
    pid = os.getpid()
    return socket.gethostname(), pid, _process_start(pid) or ""


def _aware(value: datetime | None) -> datetime | None:
    return value if value is None or value.tzinfo is not None else value.replace(tzinfo=UTC)


def batch_alive(
    host: str | None, pid: int | None, start: str | None, heartbeat: datetime | None, now: datetime
) -> bool:
    """Whether the process that holds a running batch still runs."""
    if host is not None and pid is not None and host == socket.gethostname():
        running_start = _process_start(pid)
        return running_start is not None and (not start or not running_start or running_start == start)
    beat = _aware(heartbeat)
    return beat is not None and now - beat < HEARTBEAT_TIMEOUT


@dataclass(frozen=True)
class Visible:
    """How far consumers may read the registry: every batch up to `upto` is finished or lost, and the
    readings of the batches in `hidden` (lost ones) are not to be shown."""

    upto: int
    hidden: frozenset[int]


_HOLDER = (
    ImportBatch.id,
    ImportBatch.state,
    ImportBatch.host,
    ImportBatch.pid,
    ImportBatch.process_start,
    ImportBatch.heartbeat_at,
)


async def visible_batches(connection: AsyncConnection | AsyncSession, now: datetime | None = None) -> Visible:
    """Which batches' readings a consumer may show now (see the module docstring)."""
    clock = now or utcnow()
    unfinished = (
        await connection.execute(select(*_HOLDER).where(ImportBatch.state != BatchState.FINISHED))
    ).all()
    alive = [
        row.id
        for row in unfinished
        if row.state == BatchState.RUNNING
        and batch_alive(row.host, row.pid, row.process_start, row.heartbeat_at, clock)
    ]
    last = min(alive) - 1 if alive else await connection.scalar(select(func.max(ImportBatch.id)))
    upto = int(last or 0)
    return Visible(upto, frozenset(row.id for row in unfinished if row.id <= upto))


@dataclass(frozen=True)
class BatchInfo:
    """One batch as `amanat import --status` and /stats show it."""

    id: int
    source: str
    state: str  # a BatchState, with a running batch whose process is gone shown as lost
    rows: int  # rows read (finished) or readings written so far
    started_at: datetime
    finished_at: datetime | None


async def batch_overview(db: Database, *, limit: int = 20, lost_only: bool = False) -> list[BatchInfo]:
    """The newest batches (and every lost one), newest first."""
    clock = utcnow()
    async with db.session() as session:
        newest = (
            await session.scalars(select(ImportBatch).order_by(ImportBatch.id.desc()).limit(limit))
        ).all()
        open_batches = (
            await session.scalars(
                select(ImportBatch).where(ImportBatch.state.in_([BatchState.RUNNING, BatchState.LOST]))
            )
        ).all()
        batches = {batch.id: batch for batch in (*newest, *open_batches)}
        unfinished = [b.id for b in batches.values() if b.state != BatchState.FINISHED]
        written: dict[int, int] = {}
        if unfinished:
            written = {
                int(batch): int(count)
                for batch, count in await session.execute(
                    select(Reading.changed_batch, func.count())
                    .where(Reading.changed_batch.in_(unfinished))
                    .group_by(Reading.changed_batch)
                )
            }
    infos = []
    for batch in sorted(batches.values(), key=lambda b: -b.id):
        state = batch.state
        if state == BatchState.RUNNING and not batch_alive(
            batch.host, batch.pid, batch.process_start, batch.heartbeat_at, clock
        ):
            state = BatchState.LOST
        if lost_only and state != BatchState.LOST:
            continue
        rows = (
            batch.rows_read
            if state == BatchState.FINISHED
            else max(batch.rows_read, written.get(batch.id, 0))
        )
        started = _aware(batch.started_at)
        assert started is not None
        infos.append(BatchInfo(batch.id, batch.source, state, rows, started, _aware(batch.finished_at)))
    return infos


async def _lost_batch(session: AsyncSession, batch_id: int) -> ImportBatch:
    batch = await session.get(ImportBatch, batch_id, with_for_update=True)
    if batch is None:
        raise BatchError(f"there is no import batch {batch_id}", "no_such_batch", batch=batch_id)
    if batch.state == BatchState.RUNNING and batch_alive(
        batch.host, batch.pid, batch.process_start, batch.heartbeat_at, utcnow()
    ):
        raise BatchError(
            f"import batch {batch_id} is still being imported (process {batch.pid} on {batch.host})",
            "still_running",
            batch=batch_id,
            pid=batch.pid,
            host=batch.host,
        )
    if batch.state not in (BatchState.RUNNING, BatchState.LOST):
        raise BatchError(
            f"import batch {batch_id} is {batch.state.replace('_', ' ')}, not lost",
            f"not_lost_{batch.state}",
            batch=batch_id,
        )
    return batch


async def _move_readings(session: AsyncSession, batch: ImportBatch, note: str) -> int:
    """The readings of `batch` taken into a new finished batch (consumers see them as new); how many."""
    count = int(
        await session.scalar(
            select(func.count()).select_from(Reading).where(Reading.changed_batch == batch.id)
        )
        or 0
    )
    if count == 0:
        return 0
    now = utcnow()
    successor = ImportBatch(
        source=f"{batch.source} ({note} batch {batch.id})",
        state=BatchState.FINISHED,
        finished_at=now,
        rows_read=count,
        updated=count,
    )
    session.add(successor)
    await session.flush()
    await session.execute(
        update(Reading)
        .where(Reading.changed_batch == batch.id)
        .values(changed_batch=successor.id)
        .execution_options(synchronize_session=False)
    )
    return count


async def finish_lost_batch(db: Database, batch_id: int) -> int:
    """Make a lost batch's readings visible as they were written (importing its file again completes
    it); how many readings it holds."""
    async with db.session() as session:
        batch = await _lost_batch(session, batch_id)
        moved = await _move_readings(session, batch, "finished from")
        batch.state = BatchState.FINISHED
        batch.finished_at = utcnow()
        batch.rows_read = max(batch.rows_read, moved)
    return moved


async def roll_back_lost_batch(db: Database, batch_id: int) -> tuple[int, int]:
    """Delete the readings a lost batch inserted; (deleted, kept): readings it updated keep its text
    (their earlier text is not stored) and become visible."""
    async with db.session() as session:
        batch = await _lost_batch(session, batch_id)
        inserted = (Reading.changed_batch == batch.id, Reading.created_at >= batch.started_at)
        doomed = select(Reading.id).where(*inserted)
        await session.execute(delete(ReadingKey).where(ReadingKey.reading_pk.in_(doomed)))
        deleted = (
            await session.execute(
                delete(Reading).where(*inserted).execution_options(synchronize_session=False)
            )
        ).rowcount  # type: ignore[attr-defined]
        kept = await _move_readings(session, batch, "kept from rolled-back")
        batch.state = BatchState.ROLLED_BACK
        batch.finished_at = utcnow()
    return int(deleted or 0), kept


async def start_batch(db: Database, source: str) -> int:
    """A new running batch held by this process; its id."""
    host, pid, start = process_identity()
    async with db.session() as session:
        record = ImportBatch(
            source=source,
            state=BatchState.RUNNING,
            host=host,
            pid=pid,
            process_start=start,
            heartbeat_at=utcnow(),
        )
        session.add(record)
        await session.flush()
        return record.id


async def mark_lost(db: Database, batch_id: int) -> None:
    """The import of a running batch failed: it is lost (what it wrote stays hidden until an
    administrator finishes or rolls it back, or the file is imported again)."""
    async with db.session() as session:
        await session.execute(
            update(ImportBatch)
            .where(ImportBatch.id == batch_id, ImportBatch.state == BatchState.RUNNING)
            .values(state=BatchState.LOST, heartbeat_at=utcnow())
        )


async def finish_batch(db: Database, batch_id: int, counts: dict[str, int], *, maybe_passed: bool) -> None:
    """This process's import of a batch is complete: its readings become visible.

    `maybe_passed`: its heartbeat fell silent long enough that a consumer may have taken the batch for
    lost and moved past it; then (as when its state is no longer running) its readings are taken into a
    new batch, so that they are seen.
    """
    async with db.session() as session:
        values = {"finished_at": utcnow(), **counts}
        finished = False
        if not maybe_passed:
            done = await session.execute(
                update(ImportBatch)
                .where(ImportBatch.id == batch_id, ImportBatch.state == BatchState.RUNNING)
                .values(state=BatchState.FINISHED, **values)
            )
            finished = bool(done.rowcount)  # type: ignore[attr-defined]
        if not finished:
            batch = await session.get(ImportBatch, batch_id, with_for_update=True)
            assert batch is not None
            await _move_readings(session, batch, "finished from")
            for name, value in values.items():
                setattr(batch, name, value)
            batch.state = BatchState.FINISHED
        await _close_emptied(session)


async def _close_emptied(session: AsyncSession) -> None:
    """Lost batches left without readings (a later import took them all over, or they wrote none) need
    nothing more from an administrator: they are closed as finished."""
    clock = utcnow()
    candidates = (
        await session.execute(
            select(*_HOLDER).where(
                ImportBatch.state.in_([BatchState.RUNNING, BatchState.LOST]),
                ~select(Reading.id).where(Reading.changed_batch == ImportBatch.id).exists(),
            )
        )
    ).all()
    dead = [
        row.id
        for row in candidates
        if row.state == BatchState.LOST
        or not batch_alive(row.host, row.pid, row.process_start, row.heartbeat_at, clock)
    ]
    if dead:
        await session.execute(
            update(ImportBatch)
            .where(ImportBatch.id.in_(dead), ImportBatch.state.in_([BatchState.RUNNING, BatchState.LOST]))
            .values(state=BatchState.FINISHED, finished_at=clock)
        )


class Heartbeat:
    """A running import's heartbeat: writes `heartbeat_at` (and rows read so far) every few seconds, and
    remembers whether it ever fell silent long enough for another host to take the batch for lost."""

    def __init__(self, db: Database, batch_id: int, rows: Callable[[], int]) -> None:
        self.db = db
        self.batch_id = batch_id
        self.rows = rows  # the rows read so far
        self.last = utcnow()
        self.gap_exceeded = False

    async def beat(self) -> None:
        now = utcnow()
        with contextlib.suppress(Exception):  # a busy database: the next beat tries again
            async with self.db.session() as session:
                await session.execute(
                    update(ImportBatch)
                    .where(ImportBatch.id == self.batch_id, ImportBatch.state == BatchState.RUNNING)
                    .values(heartbeat_at=now, rows_read=self.rows())
                )
            self._note_silence()
            self.last = utcnow()

    def _note_silence(self) -> None:
        if utcnow() - self.last >= HEARTBEAT_TIMEOUT - timedelta(seconds=HEARTBEAT_SECONDS):
            self.gap_exceeded = True

    def silent_too_long(self) -> bool:
        """Whether another host may have taken the batch for lost at some moment (its heartbeat was
        silent for about the timeout)."""
        self._note_silence()
        return self.gap_exceeded
