"""Importing registry readings from CSV (English or Russian headers) or JSON lines.

Streaming in batches, so nothing is held per imported row (memory is bounded by caches, not by the
file's size: bench/README.md); idempotent by `reading_id` (a re-import updates a changed reading and
skips an unchanged one); rows that cannot be used are reported with their line number and the reason,
the rest is imported. A file that cannot be read at all (missing, undecodable, empty, no
surname column) raises `ImportFailure` before anything is written; a large import whose worker process
fails half-way raises `ImportStopped` (the batches written before stay; importing again is safe).

Each import is one import batch (bot.services.import_batches), held by this process while it runs: its
readings become visible to the bot and the matching job when it finishes. An import that fails leaves
its batch lost (hidden, shown to administrators, to be finished or rolled back); one killed outright is
found lost by its process's absence or its silent heartbeat.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection as SyncConnection
from sqlalchemy import Index, Table, func, inspect, select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.schema import AddConstraint
from sqlalchemy.util import await_only

from bot.services.import_batches import (
    HEARTBEAT_SECONDS,
    Heartbeat,
    finish_batch,
    mark_lost,
    start_batch,
)
from bot.services.import_reader import (
    CONTENT_COLUMNS,
    STAMP_COLUMNS,
    ImportFailure,
    ImportStopped,
    Prepared,
    RegistryFile,
    Rejected,
    choose_encoding,
    in_batches,
    prepare_batch,
)
from bot.services.import_writer import Counts, insert_statement, write_batch
from models import Database, Reading, ReadingKey
from models.base import utcnow
from models.bulk import placeholders
from models.db import SQLITE_PRAGMAS

__all__ = [
    "BATCH_SIZE",
    "ImportFailure",
    "ImportReport",
    "ImportStopped",
    "RegistryFile",
    "Rejected",
    "import_file",
]

READINGS: Table = Reading.__table__  # type: ignore[assignment]
READING_KEYS: Table = ReadingKey.__table__  # type: ignore[assignment]
READING_COLUMNS = tuple(column.name for column in READINGS.columns if column.name != "id")

BATCH_SIZE = 10_000  # rows per transaction: commits cost as much as thousands of rows

# Test hook: `AMANAT_FAULT=import-hang:POINT` makes an import stop dead at POINT (`batch:N` after its N-th
# batch, `rebuild` before the indexes a large import dropped are built again, `finish` before the batch
# is marked finished), saying so on stdout, until it is killed (tests/faults kill it there with kill -9).
FAULT_ENV = "AMANAT_FAULT"


def _fault_point(point: str) -> None:
    if os.environ.get(FAULT_ENV) == f"import-hang:{point}":
        print(f"import: hanging at {point}", flush=True)
        while True:
            time.sleep(60)  # the whole process, heartbeat included, as a hung import would be


@dataclass
class ImportReport:
    """What an import did; `rejected` lists every unusable row with its line number."""

    source: str
    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    encoding: str = "utf-8"
    encoding_evidence: str = ""  # why that encoding, when the file was not plain UTF-8

    @property
    def imported(self) -> int:
        return self.inserted + self.updated + self.unchanged

    def add(self, counts: Counts) -> None:
        self.inserted += counts.inserted
        self.updated += counts.updated
        self.unchanged += counts.unchanged


assert set(CONTENT_COLUMNS + STAMP_COLUMNS) == set(READING_COLUMNS)


def _rejected(line: int, reason: str, code: str, args: list[list[Any]]) -> Rejected:
    """A rejected row as a worker process sent it (JSON: the arguments come as lists)."""
    return Rejected(line, reason, code, tuple((name, value) for name, value in args))


# ------------------------------------------------------------------------------ the worker process

# From this size up a file is read, validated and derived in worker processes (alternate pieces) while
# this one looks on; preparing a row costs more than writing it, hence two of them. The workers also write
# their batches themselves, taking turns in file order (`_write_target`: a SQLite file, or PostgreSQL);
# elsewhere they send them here.
PARALLEL_FROM_BYTES = 8 << 20
IMPORT_WORKERS = min(2, os.cpu_count() or 1)


@dataclass
class Batch:
    """One batch of the file: its rows prepared to write here, or written already by a worker."""

    done: int  # bytes of the file read so far
    read: int  # rows read
    items: list[Prepared | Rejected]  # rows to write here and rejected rows (only these when written)
    written: Counts | None = None  # what a worker wrote of it


async def _start_workers(path: Path, batch_size: int, parts: int) -> list[asyncio.subprocess.Process]:
    """Worker processes, started first thing: they load the engine while the file is checked."""
    # Child interpreters of their own (not multiprocessing: its spawn runs the caller's main module again).
    root = Path(__file__).resolve().parents[2]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, (str(root), os.environ.get("PYTHONPATH")))),
    }
    return [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.services.import_worker",
            str(path),
            str(batch_size),
            str(part),
            str(parts),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=env,
            limit=1 << 20,
        )
        for part in range(parts)
    ]


async def _stop_workers(processes: list[asyncio.subprocess.Process]) -> None:
    for process in processes:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
        await process.wait()


def _write_target(db: Database, batch_id: int) -> dict[str, Any] | None:
    """Where workers write their batches themselves (None: they send them here).

    A SQLite database in a file, or a PostgreSQL database whose URL has no driver options (those are
    the async driver's, which the workers' psycopg may not read alike). The connection URL, password
    included, goes only down the workers' stdin.
    """
    url = db.engine.url
    if url.query:
        return None
    if url.get_backend_name() == "postgresql":
        return {
            "postgresql": url.set(drivername="postgresql").render_as_string(hide_password=False),
            "batch_id": batch_id,
            "stamp": utcnow().isoformat(),
        }
    if not db.is_sqlite or not url.database or url.database == ":memory:":
        return None
    return {
        "database": str(Path(url.database).resolve()),
        "pragmas": list(SQLITE_PRAGMAS),
        "batch_id": batch_id,
        "stamp": _stamp(db.engine.dialect),  # SQLite's text form
    }


@dataclass
class Workers:
    """Worker processes given their pieces of the file; the first piece is prepared here."""

    processes: list[asyncio.subprocess.Process]
    first: tuple[int, int, int] | None  # (start byte, end byte, first line), as in `line_ranges`


async def _hand_out_pieces(
    source: RegistryFile, batch_size: int, processes: list[asyncio.subprocess.Process]
) -> Workers:
    """Tell the workers the encoding and the pieces each reads, and they begin (see import_worker)."""
    # Where each batch's lines begin and end, so that each reads only its own pieces of the file (or, if
    # the file cannot be cut, the whole file).
    try:
        ranges = await asyncio.to_thread(source.line_ranges, batch_size)
    except OSError as error:
        raise ImportFailure(
            f"{source.path}: cannot be read ({error.strerror})",
            "unreadable",
            path=source.path,
            error=error.strerror,
        ) from None
    # The first (small) piece is prepared here, while the workers load the engine.
    first = ranges.pop(0) if ranges else None
    told = orjson.dumps({"encoding": source.encoding, "errors": source.errors, "ranges": ranges}) + b"\n"
    for process in processes:
        assert process.stdin is not None
        with contextlib.suppress(ConnectionError):  # gone: the first batch expected from it says so
            process.stdin.write(told)
            await process.stdin.drain()
    return Workers(processes, first)


async def _batches_from_workers(
    source: RegistryFile, workers: Workers, target: dict[str, Any] | None
) -> AsyncIterator[Batch]:
    """The file's batches in file order, prepared (and with a `target`, written) by the workers.

    With a target, the consumer must have committed what it wrote before it asks for the next batch: a
    worker writes when it is given its turn, which is when the batch before it is done.
    """
    processes = workers.processes
    parts = len(processes)

    async def order(process: asyncio.subprocess.Process, line: bytes, *, last: bool = False) -> None:
        assert process.stdin is not None
        with contextlib.suppress(ConnectionError):  # gone: receive says so
            process.stdin.write(line)
            await process.stdin.drain()
            if last:
                process.stdin.close()

    async def receive(process: asyncio.subprocess.Process) -> list[Any]:
        assert process.stdout is not None
        if target is not None:  # its turn to write
            await order(process, b"go\n")
        try:
            size = int.from_bytes(await process.stdout.readexactly(8), "big")
            message: list[Any] = orjson.loads(await process.stdout.readexactly(size))
        except asyncio.IncompleteReadError:
            raise ImportStopped(f"{source.path}: the import worker stopped unexpectedly") from None
        if message[0] == "error":
            raise ImportStopped(f"{source.path}: {message[1]}")
        return message

    try:
        for process in processes:  # where to write: there, or send the batches here
            await order(process, orjson.dumps(target) + b"\n", last=target is None)
        if workers.first is not None:
            rows = list(source.rows_between(*workers.first))
            yield Batch(workers.first[1], len(rows), prepare_batch(rows))
        number = 0
        while True:  # batches in file order, so a reading_id repeated in the file keeps its later row
            owner = processes[number % parts]
            message = await receive(owner)
            if message[0] == "end":  # no batch `number`: the other workers have nothing more either
                for process in processes:
                    if process is not owner and (await receive(process))[0] != "end":
                        raise ImportStopped(f"{source.path}: the import workers read the file differently")
                return
            if message[0] == "written":
                _kind, done, read, inserted, updated, unchanged, rejected = message
                items: list[Prepared | Rejected] = [_rejected(*item) for item in rejected]
                yield Batch(done, read, items, Counts(inserted, updated, unchanged))
            else:
                items = [_rejected(*item) if len(item) == 4 else item for item in message[3]]
                yield Batch(message[1], message[2], items)
            number += 1
    finally:
        await _stop_workers(processes)


async def _batches_here(source: RegistryFile, batch_size: int) -> AsyncIterator[Batch]:
    done = 0

    def advance(count: int) -> None:
        nonlocal done
        done += count

    for raw_batch in in_batches(source.rows(advance), batch_size):
        yield Batch(done, len(raw_batch), prepare_batch(raw_batch))


# ------------------------------------------------------------------------------------- writing

# A large import into a registry smaller than itself drops the indexes written in random order (blocking
# keys, folded surnames) and builds each again in one sort at the end: far cheaper than keeping them up
# row by row. Searches meanwhile still work (they scan); readings, their ids and batches stay indexed. On
# PostgreSQL it also drops the keys' foreign key to their reading (checked by a trigger for each of the
# five or so keys a reading has) and checks it again at the end in one join. Readings are never deleted,
# so no key can lose its reading meanwhile.
BULK_FROM_BYTES = 16 << 20
BULK_BATCHES_PER_TRANSACTION = 10
BYTES_PER_ROW = 512  # a low guess of a registry row's size in a file, to estimate its rows
SEARCH_INDEXES: tuple[Index, ...] = tuple(
    index
    for table in (READING_KEYS, READINGS)
    for index in table.indexes
    if index.name in {"ix_reading_keys_key", "ix_readings_surname_norm"}
)
(KEY_READING,) = READING_KEYS.foreign_key_constraints  # reading_keys.reading_pk -> readings.id


async def restore_after_bulk_import(db: Database) -> None:
    """Build what a large import dropped (the search indexes; the keys' foreign key on PostgreSQL), if an
    import was stopped before it built them again; else nothing."""

    def create(connection: SyncConnection) -> None:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql(f"PRAGMA threads = {min(4, os.cpu_count() or 1)}")  # sort in parallel
        for index in SEARCH_INDEXES:
            index.create(connection, checkfirst=True)
        if connection.dialect.name == "postgresql" and not inspect(connection).get_foreign_keys(
            "reading_keys"
        ):
            connection.execute(AddConstraint(KEY_READING))

    async with db.engine.begin() as connection:
        await connection.run_sync(create)


async def _drop_for_bulk_import(db: Database) -> None:
    async with db.engine.begin() as connection:
        for index in SEARCH_INDEXES:
            await connection.exec_driver_sql(f"DROP INDEX IF EXISTS {index.name}")
        if db.engine.dialect.name == "postgresql":
            await connection.exec_driver_sql(
                f"ALTER TABLE reading_keys DROP CONSTRAINT IF EXISTS {KEY_READING.name}"
            )


async def _bulk_mode(db: Database, source: RegistryFile) -> bool:
    if source.size < BULK_FROM_BYTES:
        return False
    async with db.session() as session:
        readings = int(await session.scalar(select(func.count()).select_from(Reading)) or 0)
    return source.size // BYTES_PER_ROW > readings


class _ConnectionStore:
    """The writer's view (`import_writer.Store`) of a SQLAlchemy connection, inside `run_sync`."""

    def __init__(self, connection: SyncConnection) -> None:
        self.connection = connection
        self.dialect = connection.dialect
        self.name = connection.dialect.name

    def marks(self, count: int) -> str:
        return placeholders(self.dialect, count)

    def fetch(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in self.connection.exec_driver_sql(sql, tuple(params))]

    def execute(self, sql: str, params: Sequence[Any]) -> None:
        self.connection.exec_driver_sql(sql, tuple(params))

    def execute_many(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        self.connection.exec_driver_sql(sql, rows)

    def insert(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        """PostgreSQL's COPY through asyncpg (in this connection's transaction), else executemany."""
        if self.dialect.driver == "asyncpg":
            driver = self.connection.connection.driver_connection
            assert driver is not None
            await_only(driver.copy_records_to_table(table, records=rows, columns=list(columns)))
        else:
            self.execute_many(insert_statement(self, table, columns), rows)


def _stamp(dialect: Dialect) -> Any:
    """The time now as the driver takes it for `created_at` and `updated_at`."""
    processor = READINGS.c.created_at.type.dialect_impl(dialect).bind_processor(dialect)
    now = utcnow()
    return processor(now) if processor is not None else now


async def _write_batch(session: AsyncSession, batch_id: int, rows: list[Prepared]) -> Counts:
    connection = await session.connection()
    stamp = _stamp(connection.dialect)
    return await connection.run_sync(lambda sync: write_batch(_ConnectionStore(sync), batch_id, stamp, rows))


async def import_file(
    db: Database,
    path: str | Path | RegistryFile,
    *,
    progress: Callable[[int, int], None] | None = None,
    batch_size: int = BATCH_SIZE,
    parallel: bool | None = None,
) -> ImportReport:
    """Import one registry file (a `RegistryFile` already checked is not read again to check it);
    `progress(bytes_done, bytes_total)` is called as it goes.

    One batch at a time is read, validated, derived and written, so memory does not grow with the file.
    Large files (or ``parallel=True``) are read, validated and derived in worker processes, which also
    write them to a SQLite file or to PostgreSQL; elsewhere this process writes what they send.
    """
    checked, file = (path, path.path) if isinstance(path, RegistryFile) else (None, Path(path))
    processes: list[asyncio.subprocess.Process] = []
    try:
        if parallel or (parallel is None and file.stat().st_size >= PARALLEL_FROM_BYTES):
            processes = await _start_workers(file, batch_size, IMPORT_WORKERS)
    except OSError:
        pass  # RegistryFile says what is wrong with the file
    try:
        if not processes:
            return await _import(db, checked or RegistryFile(file), progress, batch_size, None)
        # The workers begin on an encoding guessed from the file's head, while this process reads the
        # whole file to confirm it before anything is written.
        source = checked or RegistryFile(file, guess=True)
        workers = await _hand_out_pieces(source, batch_size, processes)
        if checked is None:
            choice = await asyncio.to_thread(choose_encoding, file)
            if (choice.name, choice.errors) != (source.encoding, source.errors):
                # A head that reads as UTF-8 on a file that is not, or not all of it: workers begin again.
                await _stop_workers(processes)
                source = RegistryFile(file, choice)
                processes = await _start_workers(file, batch_size, IMPORT_WORKERS)
                workers = await _hand_out_pieces(source, batch_size, processes)
            else:
                source.choice = choice  # the same reading, with its evidence for the report
        return await _import(db, source, progress, batch_size, workers)
    finally:
        await _stop_workers(processes)


async def _import(
    db: Database,
    source: RegistryFile,
    progress: Callable[[int, int], None] | None,
    batch_size: int,
    workers: Workers | None,
) -> ImportReport:
    report = ImportReport(
        source=str(source.path), encoding=source.encoding, encoding_evidence=source.choice.evidence
    )
    await restore_after_bulk_import(db)
    batch_id = await start_batch(db, source.path.name)
    heartbeat = Heartbeat(db, batch_id, lambda: report.rows_read)
    beating = asyncio.create_task(_keep_beating(heartbeat))
    try:
        await _import_batch(db, source, progress, batch_size, workers, report, batch_id)
    except BaseException:
        await _stop_beating(beating)
        with contextlib.suppress(Exception):  # else its process's absence says it is lost
            await mark_lost(db, batch_id)
        raise
    await _stop_beating(beating)
    report.rejected.sort(key=lambda rejected: rejected.line)
    counts = {
        "rows_read": report.rows_read,
        "inserted": report.inserted,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "rejected": len(report.rejected),
    }
    _fault_point("finish")
    await finish_batch(db, batch_id, counts, maybe_passed=heartbeat.silent_too_long() and not db.is_sqlite)
    return report


async def _stop_beating(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _keep_beating(heartbeat: Heartbeat) -> None:
    while True:
        await asyncio.sleep(HEARTBEAT_SECONDS)
        await heartbeat.beat()


async def _import_batch(
    db: Database,
    source: RegistryFile,
    progress: Callable[[int, int], None] | None,
    batch_size: int,
    workers: Workers | None,
    report: ImportReport,
    batch_id: int,
) -> None:
    """Read the file and write its rows under `batch_id`, filling in `report`."""
    bulk = await _bulk_mode(db, source)
    target = _write_target(db, batch_id) if workers is not None else None
    # Each commit writes every page a transaction touched, the pages of the reading_id index (in file
    # order, all over it) among them: a bulk import commits less often. When the workers write, what is
    # written here is committed before their turn.
    rows_per_transaction = 1 if target else batch_size * (BULK_BATCHES_PER_TRANSACTION if bulk else 1)
    if bulk:
        await _drop_for_bulk_import(db)
    try:
        batches = (
            _batches_from_workers(source, workers, target)
            if workers is not None
            else _batches_here(source, batch_size)
        )
        transaction = contextlib.AsyncExitStack()
        written = seen = 0
        async with transaction:
            async for batch in batches:
                report.rows_read += batch.read
                report.rejected.extend(item for item in batch.items if isinstance(item, Rejected))
                if batch.written is not None:
                    report.add(batch.written)
                rows = [item for item in batch.items if not isinstance(item, Rejected)]
                if rows:
                    if written == 0:
                        session = await transaction.enter_async_context(db.session())
                    report.add(await _write_batch(session, batch_id, rows))
                    written += len(rows)
                    if written >= rows_per_transaction:
                        await transaction.aclose()  # commit
                        written = 0
                if progress is not None:
                    progress(batch.done, source.size)
                seen += 1
                _fault_point(f"batch:{seen}")
    finally:
        if bulk:
            _fault_point("rebuild")
            await restore_after_bulk_import(db)
