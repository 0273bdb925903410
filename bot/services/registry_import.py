"""Importing registry readings from CSV (English or Russian headers) or JSON lines.

Streaming in batches, so memory stays flat in file size; idempotent by `reading_id` (a re-import updates a
changed reading and skips an unchanged one); rows that cannot be used are reported with their line number
and the reason, the rest is imported. A file that cannot be read at all (missing, undecodable, empty, no
surname column) raises `ImportFailure` before anything is written; a large import whose worker process
fails half-way raises `ImportStopped` (the batches written before stay; importing again is safe).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection as SyncConnection
from sqlalchemy import Index, Table, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from bot.services.registry_rows import (
    CONTENT_COLUMNS,
    STAMP_COLUMNS,
    ImportFailure,
    ImportStopped,
    Prepared,
    RegistryFile,
    Rejected,
    in_batches,
    prepare_batch,
)
from models import Database, ImportBatch, Reading, ReadingKey
from models.base import utcnow
from models.bulk import insert_sql, placeholders, update_sql

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

    @property
    def imported(self) -> int:
        return self.inserted + self.updated + self.unchanged


assert set(CONTENT_COLUMNS + STAMP_COLUMNS) == set(READING_COLUMNS)


# ------------------------------------------------------------------------------ the worker process

# From this size up a file is read, validated and derived in worker processes (alternate pieces) while
# this one writes; preparing a row costs more than writing it, hence two of them.
PARALLEL_FROM_BYTES = 8 << 20
IMPORT_WORKERS = min(2, os.cpu_count() or 1)

# (bytes read so far, rows in the batch, the batch prepared)
PreparedBatch = tuple[int, int, list[Prepared | Rejected]]


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


async def _prepared_in_workers(
    source: RegistryFile, batch_size: int, processes: list[asyncio.subprocess.Process]
) -> AsyncIterator[PreparedBatch]:
    parts = len(processes)

    async def receive(process: asyncio.subprocess.Process) -> list[Any]:
        assert process.stdout is not None
        try:
            size = int.from_bytes(await process.stdout.readexactly(8), "big")
            message: list[Any] = orjson.loads(await process.stdout.readexactly(size))
        except asyncio.IncompleteReadError:
            raise ImportStopped(f"{source.path}: the import worker stopped unexpectedly") from None
        if message[0] == "error":
            raise ImportStopped(f"{source.path}: {message[1]}")
        return message

    try:
        # While the workers start: where each batch's lines begin and end, so that each reads only its
        # own pieces of the file (or, if the file cannot be cut, the whole file).
        try:
            ranges = await asyncio.to_thread(source.line_ranges, batch_size)
        except OSError as error:
            raise ImportFailure(f"{source.path}: cannot be read ({error.strerror})") from None
        # The first (small) piece is prepared here while the workers load the engine.
        first = ranges.pop(0) if ranges else None
        for process in processes:
            assert process.stdin is not None
            process.stdin.write(orjson.dumps({"encoding": source.encoding, "ranges": ranges}) + b"\n")
            await process.stdin.drain()
            process.stdin.close()
        if first is not None:
            rows = list(source.rows_between(*first))
            yield first[1], len(rows), prepare_batch(rows)
        number = 0
        while True:  # batches in file order, so a reading_id repeated in the file keeps its later row
            message = await receive(processes[number % parts])
            if message[0] == "end":  # no batch `number`: the other workers have nothing more either
                for process in processes:
                    if process is not processes[number % parts] and (await receive(process))[0] != "end":
                        raise ImportStopped(f"{source.path}: the import workers read the file differently")
                return
            items = [Rejected(item[0], item[1]) if len(item) == 2 else item for item in message[3]]
            yield message[1], message[2], items
            number += 1
    finally:
        await _stop_workers(processes)


async def _prepared_here(source: RegistryFile, batch_size: int) -> AsyncIterator[PreparedBatch]:
    done = 0

    def advance(count: int) -> None:
        nonlocal done
        done += count

    for raw_batch in in_batches(source.rows(advance), batch_size):
        yield done, len(raw_batch), prepare_batch(raw_batch)


# ------------------------------------------------------------------------------------- writing

# A large import into a registry smaller than itself drops the indexes written in random order (blocking
# keys, folded surnames) and builds each again in one sort at the end: far cheaper than keeping them up
# row by row. Searches meanwhile still work (they scan); readings, their ids and batches stay indexed.
BULK_FROM_BYTES = 16 << 20
BULK_BATCHES_PER_TRANSACTION = 10
BYTES_PER_ROW = 512  # a low guess of a registry row's size in a file, to estimate its rows
SEARCH_INDEXES: tuple[Index, ...] = tuple(
    index
    for table in (READING_KEYS, READINGS)
    for index in table.indexes
    if index.name in {"ix_reading_keys_key", "ix_readings_surname_norm"}
)


async def ensure_search_indexes(db: Database) -> None:
    """Build the search indexes a large import dropped, if an import was stopped before it rebuilt them."""

    def create(connection: SyncConnection) -> None:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql(f"PRAGMA threads = {min(4, os.cpu_count() or 1)}")  # sort in parallel
        for index in SEARCH_INDEXES:
            index.create(connection, checkfirst=True)

    async with db.engine.begin() as connection:
        await connection.run_sync(create)


async def _drop_search_indexes(db: Database) -> None:
    async with db.engine.begin() as connection:
        for index in SEARCH_INDEXES:
            await connection.exec_driver_sql(f"DROP INDEX IF EXISTS {index.name}")


async def _bulk_mode(db: Database, source: RegistryFile) -> bool:
    if source.size < BULK_FROM_BYTES:
        return False
    async with db.session() as session:
        readings = int(await session.scalar(select(func.count()).select_from(Reading)) or 0)
    return source.size // BYTES_PER_ROW > readings


async def _readings_by_id(connection: AsyncConnection, columns: str, reading_ids: list[str]) -> Any:
    """`columns` of the stored readings among `reading_ids` (one indexed lookup, in the driver's style)."""
    marks = placeholders(connection.dialect, len(reading_ids))
    return await connection.exec_driver_sql(
        f"SELECT {columns} FROM readings WHERE reading_id IN ({marks})", tuple(reading_ids)
    )


async def _insert(
    connection: AsyncConnection, table: Table, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    """Many rows of values the driver takes: PostgreSQL's COPY through asyncpg, else executemany."""
    if not rows:
        return
    if connection.dialect.driver == "asyncpg":
        driver = (await connection.get_raw_connection()).driver_connection
        assert driver is not None
        # COPY within the transaction this connection is in, with the connection's own type codecs
        await driver.copy_records_to_table(table.name, records=rows, columns=list(columns))
    else:
        await connection.exec_driver_sql(insert_sql(connection.dialect, table, columns), rows)


async def _new_ids(connection: AsyncConnection, rows: list[Prepared]) -> dict[str, int]:
    """The ids the database gave the readings just inserted, by reading_id."""
    if connection.dialect.name == "sqlite":
        # The insert holds the write lock, and SQLite numbers new rows one past the largest id, in order:
        # the new readings are the last ones. Checked at both ends; anything else asks for every id.
        last = (await connection.exec_driver_sql("SELECT max(id) FROM readings")).scalar_one()
        first = last - len(rows) + 1
        ends: Any = await connection.exec_driver_sql(
            "SELECT id, reading_id FROM readings WHERE id IN (?, ?)", (first, last)
        )
        if dict(ends.all()) == {first: rows[0][1], last: rows[-1][1]}:
            return {row[1]: first + offset for offset, row in enumerate(rows)}
    result = await _readings_by_id(connection, "id, reading_id", [row[1] for row in rows])
    return {row[1]: row[0] for row in result}


async def _write_batch(
    session: AsyncSession, batch_id: int, rows: list[Prepared], report: ImportReport
) -> None:
    latest: dict[str, Prepared] = {}
    for row in rows:  # a reading_id repeated in one file: the later row wins
        latest[row[1]] = row
    connection = await session.connection()
    dialect = connection.dialect
    found = await _readings_by_id(connection, "id, reading_id, content_hash", list(latest))
    existing = {row[1]: (row[0], row[2]) for row in found}
    new_rows: list[Prepared] = []
    changed_rows: list[tuple[int, Prepared]] = []
    for reading_id, row in latest.items():
        known = existing.get(reading_id)
        if known is None:
            new_rows.append(row)
        elif known[1] == row[2]:
            report.unchanged += 1  # nothing to write: a re-import of a big file stays cheap
        else:
            changed_rows.append((known[0], row))
    stamp_processor = READINGS.c.created_at.type.dialect_impl(dialect).bind_processor(dialect)
    now = utcnow()
    stamp = stamp_processor(now) if stamp_processor is not None else now
    pks: dict[str, int] = {}
    if new_rows:
        await _insert(
            connection,
            READINGS,
            CONTENT_COLUMNS + STAMP_COLUMNS,
            [(*row[3], batch_id, stamp, stamp) for row in new_rows],
        )
        pks.update(await _new_ids(connection, new_rows))
        report.inserted += len(new_rows)
    if changed_rows:
        await connection.exec_driver_sql(
            update_sql(dialect, READINGS, (*CONTENT_COLUMNS, "changed_batch", "updated_at"), "id"),
            [(*row[3], batch_id, stamp, pk) for pk, row in changed_rows],
        )
        changed_pks = [pk for pk, _row in changed_rows]
        await session.execute(delete(ReadingKey).where(ReadingKey.reading_pk.in_(changed_pks)))
        pks.update({row[1]: pk for pk, row in changed_rows})
        report.updated += len(changed_rows)
    key_rows = [
        (pks[row[1]], key) for row in (*new_rows, *(row for _pk, row in changed_rows)) for key in row[4]
    ]
    await _insert(connection, READING_KEYS, ("reading_pk", "key"), key_rows)


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

    One batch at a time is read, validated, derived and written, so memory stays flat in file size. Large
    files (or ``parallel=True``) are read, validated and derived in worker processes while this one
    writes.
    """
    checked, file = (path, path.path) if isinstance(path, RegistryFile) else (None, Path(path))
    workers: list[asyncio.subprocess.Process] = []
    try:
        if parallel or (parallel is None and file.stat().st_size >= PARALLEL_FROM_BYTES):
            workers = await _start_workers(file, batch_size, IMPORT_WORKERS)
    except OSError:
        pass  # RegistryFile says what is wrong with the file
    try:
        return await _import(db, checked or RegistryFile(file), progress, batch_size, workers)
    finally:
        await _stop_workers(workers)


async def _import(
    db: Database,
    source: RegistryFile,
    progress: Callable[[int, int], None] | None,
    batch_size: int,
    workers: list[asyncio.subprocess.Process],
) -> ImportReport:
    report = ImportReport(source=str(source.path), encoding=source.encoding)
    await ensure_search_indexes(db)
    async with db.session() as session:
        batch = ImportBatch(source=source.path.name)
        session.add(batch)
        await session.flush()
        batch_id = batch.id
    bulk = await _bulk_mode(db, source)
    # Each commit writes every page a transaction touched, the pages of the reading_id index (in file
    # order, all over it) among them: a bulk import commits less often.
    rows_per_transaction = batch_size * (BULK_BATCHES_PER_TRANSACTION if bulk else 1)
    if bulk:
        await _drop_search_indexes(db)
    try:
        prepared_batches = (
            _prepared_in_workers(source, batch_size, workers)
            if workers
            else _prepared_here(source, batch_size)
        )
        transaction = contextlib.AsyncExitStack()
        written = 0
        async with transaction:
            async for done, read, prepared in prepared_batches:
                report.rows_read += read
                report.rejected.extend(item for item in prepared if isinstance(item, Rejected))
                rows = [item for item in prepared if not isinstance(item, Rejected)]
                if rows:
                    if written == 0:
                        session = await transaction.enter_async_context(db.session())
                    await _write_batch(session, batch_id, rows, report)
                    written += len(rows)
                    if written >= rows_per_transaction:
                        await transaction.aclose()  # commit
                        written = 0
                if progress is not None:
                    progress(done, source.size)
    finally:
        if bulk:
            await ensure_search_indexes(db)
    report.rejected.sort(key=lambda rejected: rejected.line)
    async with db.session() as session:
        await session.execute(
            update(ImportBatch)
            .where(ImportBatch.id == batch_id)
            .values(
                finished_at=utcnow(),
                rows_read=report.rows_read,
                inserted=report.inserted,
                updated=report.updated,
                unchanged=report.unchanged,
                rejected=len(report.rejected),
            )
        )
    return report
