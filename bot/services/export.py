"""`amanat export`: the registry, the appeals and anonymized case statistics as files for partner portals.

Streamed for millions of rows with bounded memory: rows come from the database in chunks of
:data:`CHUNK_ROWS` (a server-side cursor on PostgreSQL, SQLite's own stepping cursor), are written as
they come and are never held all at once. Every export is read in one read-only snapshot, so its row
count and contents belong to one moment even while the bot keeps writing.

Formats: CSV (``csv.writer``, UTF-8, a header row) or JSON lines (one object per line). Each export
writes ``OUT`` (first as ``OUT.partial``, renamed when complete, so a partner never picks up half a
file) and two checksum files beside it:

* ``OUT.sha256`` — ``<sha256>  <file name>``, the format ``sha256sum -c`` checks;
* ``OUT.manifest.json`` — kind, format, columns, row count, byte count and the SHA-256.

What each export holds:

* ``registry`` — every reading's raw text exactly as imported, under the registry CSV headers
  (``reading_id``, ``surname``, … ``notes``), then the extra columns the imported files carried; the
  file re-imports with ``amanat import`` to the same readings.
* ``appeals`` — the appeals' public text, the reading they are about and delivery counts; never who
  created an appeal or who received it.
* ``cases`` — statistics only: case id, status, dates, hours to claim and to close, the region (a
  gazetteer id such as ``kz-turkestan``) of the soldier's birthplace or else the family's place, and
  the number of messages. Never a name, Telegram id, username or message text.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal

import orjson
from sqlalchemy import func, inspect, select, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.search.gazetteer import place_profile
from bot.services.import_reader import COLUMNS
from models import (
    Appeal,
    AppealDelivery,
    Case,
    CaseMessage,
    Database,
    DeliveryState,
    Reading,
    SearchRequest,
)

__all__ = [
    "APPEAL_COLUMNS",
    "CASE_COLUMNS",
    "KINDS",
    "ExportError",
    "ExportReport",
    "describe_url",
    "export_to_file",
    "format_for",
    "open_existing_database",
]

Kind = Literal["registry", "appeals", "cases"]
Format = Literal["csv", "jsonl"]
KINDS: Final[tuple[Kind, ...]] = ("registry", "appeals", "cases")
CHUNK_ROWS: Final = 5000

REGISTRY_COLUMNS: Final[tuple[str, ...]] = tuple(COLUMNS)
APPEAL_COLUMNS: Final = (
    "appeal_id",
    "status",
    "created_at",
    "finished_at",
    "reading_id",
    "text",
    "deliveries",
    "sent",
    "pending",
    "blocked",
    "failed",
)
CASE_COLUMNS: Final = (
    "case_id",
    "status",
    "created_on",
    "claimed_on",
    "closed_on",
    "hours_to_claim",
    "hours_to_close",
    "region",
    "messages",
    "with_reading",
)
_JSONL_SUFFIXES: Final = {".jsonl", ".ndjson", ".json"}


class ExportError(Exception):
    """The export cannot be done; the message is one line that says why."""


@dataclass(frozen=True)
class ExportReport:
    """What was written: the file, its manifest and checksum file, how many rows, and the digest."""

    kind: str
    format: str
    path: Path
    manifest: Path
    checksum: Path
    rows: int
    bytes: int
    sha256: str


def format_for(path: Path, explicit: str | None) -> Format:
    """The format asked for with ``--format``, else the one the file name says (CSV unless .jsonl)."""
    if explicit is not None:
        if explicit not in ("csv", "jsonl"):
            raise ExportError(f"unknown format {explicit!r}: use csv or jsonl")
        return "csv" if explicit == "csv" else "jsonl"
    return "jsonl" if path.suffix.lower() in _JSONL_SUFFIXES else "csv"


def describe_url(url: str) -> str:
    """The database URL as it may be shown: the password hidden."""
    return make_url(url).render_as_string(hide_password=True)


def _sqlite_file(url: str) -> Path | None:
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite"):
        return None
    name = parsed.database or ""
    if name in ("", ":memory:"):
        raise ExportError(f"database {describe_url(url)} is in memory: there is nothing to export")
    return Path(name)


def _has_schema(connection: Connection) -> bool:
    names = set(inspect(connection).get_table_names())
    return {"alembic_version", "readings"} <= names


async def open_existing_database(url: str) -> Database:
    """The database at ``url``, migrated if older, but never created: a missing or empty one fails.

    Raises :class:`ExportError` when the SQLite file does not exist (nothing is created), the server
    cannot be reached or has no such database, or the database holds no Amanat tables.
    """
    shown = describe_url(url)
    sqlite_file = _sqlite_file(url)
    if sqlite_file is not None and (not sqlite_file.is_file() or sqlite_file.stat().st_size == 0):
        raise ExportError(f"no database at {shown}: the file does not exist or is empty")
    db = Database(url)
    try:
        async with db.engine.connect() as connection:
            has_schema = await connection.run_sync(_has_schema)
        if not has_schema:
            raise ExportError(f"database {shown} is empty: it holds no Amanat tables")
        await db.upgrade()  # an older schema is brought up to date, as every command does
    except ExportError:
        await db.dispose()
        raise
    except (OSError, DBAPIError, OperationalError) as error:
        await db.dispose()
        reason = " ".join(str(getattr(error, "orig", None) or error).split())
        raise ExportError(f"cannot open database {shown}: {reason}") from None
    return db


@asynccontextmanager
async def _snapshot(db: Database) -> AsyncIterator[AsyncConnection]:
    """A connection reading one consistent, read-only snapshot of the database."""
    if db.is_sqlite:
        async with db.engine.connect() as connection:
            # Python's sqlite3 opens no transaction for reads: one explicit BEGIN makes every query of
            # the export see the same snapshot (WAL keeps it while the bot writes).
            await connection.exec_driver_sql("BEGIN")
            try:
                yield connection
            finally:
                await connection.rollback()
        return
    async with db.engine.connect() as plain:
        connection = await plain.execution_options(isolation_level="REPEATABLE READ")
        async with connection.begin():
            await connection.execute(text("SET TRANSACTION READ ONLY"))
            yield connection


class _Sink:
    """The output file: bytes written, counted and hashed as they go."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.digest = hashlib.sha256()
        self.size = 0
        self._file = path.open("wb")

    def write(self, data: bytes) -> None:
        self.digest.update(data)
        self.size += len(data)
        self._file.write(data)

    def close(self) -> None:
        if self._file.closed:
            return
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()


class _CsvRows:
    """Rows to CSV text through ``csv.writer``, encoded a chunk at a time."""

    def __init__(self, sink: _Sink) -> None:
        self._sink = sink
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, lineterminator="\r\n")

    def header(self, columns: Sequence[str]) -> None:
        self.rows([list(columns)])

    def rows(self, rows: Iterable[Sequence[Any]]) -> None:
        self._writer.writerows(rows)
        self._sink.write(self._buffer.getvalue().encode("utf-8"))
        self._buffer.seek(0)
        self._buffer.truncate()


def _jsonl_lines(items: Iterable[dict[str, Any]]) -> bytes:
    return b"".join(orjson.dumps(item) + b"\n" for item in items)


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:  # SQLite hands back naive datetimes; the models store UTC
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _day(value: datetime | None) -> str | None:
    return value.date().isoformat() if isinstance(value, datetime) else None


def _hours(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    if end.tzinfo is None:
        end = end.replace(tzinfo=UTC)
    return round((end - start).total_seconds() / 3600, 2)


def _region(*places: str | None) -> str | None:
    """The gazetteer's id of the first region the places name (never the place text itself)."""
    for place in places:
        if place:
            regions = place_profile(place).regions
            if regions:
                return regions[0][0]
    return None


async def _extra_keys(connection: AsyncConnection, db: Database) -> list[str]:
    """Every extra column name the stored readings carry (few distinct names, read by the database)."""
    if db.is_sqlite:
        statement = text(
            "SELECT DISTINCT je.key FROM readings, json_each(readings.extra) AS je "
            "WHERE json_type(readings.extra) = 'object'"
        )
    else:
        statement = text(
            "SELECT DISTINCT jsonb_object_keys(extra) FROM readings WHERE jsonb_typeof(extra) = 'object'"
        )
    keys = [str(key) for key in (await connection.execute(statement)).scalars()]
    return sorted(key for key in keys if key not in COLUMNS)


async def _stream(connection: AsyncConnection, statement: Any) -> AsyncIterator[Sequence[Any]]:
    result = await connection.stream(statement.execution_options(yield_per=CHUNK_ROWS))
    async for rows in result.partitions(CHUNK_ROWS):
        yield rows


async def _write_registry(
    connection: AsyncConnection, db: Database, fmt: Format, sink: _Sink
) -> tuple[list[str], int]:
    extra_keys = await _extra_keys(connection, db)
    columns = [*REGISTRY_COLUMNS, *extra_keys]
    fields = [getattr(Reading, column) for column in REGISTRY_COLUMNS]
    statement = select(*fields, Reading.extra).order_by(Reading.id)
    count = 0
    csv_rows = _CsvRows(sink) if fmt == "csv" else None
    if csv_rows is not None:
        csv_rows.header(columns)
    known = set(extra_keys)
    width = len(REGISTRY_COLUMNS)
    async for rows in _stream(connection, statement):
        if csv_rows is not None:
            out: list[list[Any]] = []
            for row in rows:
                extra = row[width] or {}
                if not known.issuperset(extra):  # cannot happen inside one snapshot; never drop data
                    raise ExportError("the registry's extra columns changed during the export; run it again")
                out.append([*row[:width], *(extra.get(key) for key in extra_keys)])
            csv_rows.rows(out)
        else:
            sink.write(
                _jsonl_lines(
                    {**dict(zip(REGISTRY_COLUMNS, row[:width], strict=True)), **(row[width] or {})}
                    for row in rows
                )
            )
        count += len(rows)
    return columns, count


async def _write_appeals(connection: AsyncConnection, fmt: Format, sink: _Sink) -> tuple[list[str], int]:
    counts = (
        select(
            AppealDelivery.appeal_id.label("appeal_id"),
            func.count().label("deliveries"),
            *(
                func.count().filter(AppealDelivery.state == state).label(str(state))
                for state in (
                    DeliveryState.SENT,
                    DeliveryState.PENDING,
                    DeliveryState.BLOCKED,
                    DeliveryState.FAILED,
                )
            ),
        )
        .group_by(AppealDelivery.appeal_id)
        .subquery()
    )
    statement = (
        select(
            Appeal.id,
            Appeal.status,
            Appeal.created_at,
            Appeal.finished_at,
            Reading.reading_id,
            Appeal.text,
            counts.c.deliveries,
            counts.c.sent,
            counts.c.pending,
            counts.c.blocked,
            counts.c.failed,
        )
        .outerjoin(Reading, Reading.id == Appeal.reading_pk)
        .outerjoin(counts, counts.c.appeal_id == Appeal.id)
        .order_by(Appeal.id)
    )

    def shape(row: Sequence[Any]) -> list[Any]:
        appeal_id, status, created, finished, reading_id, body, *numbers = row
        return [
            appeal_id,
            str(status),
            _iso(created),
            _iso(finished),
            reading_id,
            body,
            *(n or 0 for n in numbers),
        ]

    return await _write_plain(connection, statement, APPEAL_COLUMNS, shape, fmt, sink)


async def _write_cases(connection: AsyncConnection, fmt: Format, sink: _Sink) -> tuple[list[str], int]:
    messages = (
        select(CaseMessage.case_id.label("case_id"), func.count().label("messages"))
        .group_by(CaseMessage.case_id)
        .subquery()
    )
    statement = (
        select(
            Case.id,
            Case.status,
            Case.created_at,
            Case.claimed_at,
            Case.closed_at,
            SearchRequest.birthplace,  # read only to name the region; the text is never written
            SearchRequest.family_place,
            messages.c.messages,
            Case.reading_pk.is_not(None),
        )
        .outerjoin(SearchRequest, SearchRequest.id == Case.request_id)
        .outerjoin(messages, messages.c.case_id == Case.id)
        .order_by(Case.id)
    )

    def shape(row: Sequence[Any]) -> list[Any]:
        case_id, status, created, claimed, closed, birthplace, family_place, count, with_reading = row
        return [
            case_id,
            str(status),
            _day(created),
            _day(claimed),
            _day(closed),
            _hours(created, claimed),
            _hours(created, closed),
            _region(birthplace, family_place),
            count or 0,
            bool(with_reading),
        ]

    return await _write_plain(connection, statement, CASE_COLUMNS, shape, fmt, sink)


async def _write_plain(
    connection: AsyncConnection,
    statement: Any,
    columns: Sequence[str],
    shape: Callable[[Sequence[Any]], list[Any]],
    fmt: Format,
    sink: _Sink,
) -> tuple[list[str], int]:
    count = 0
    csv_rows = _CsvRows(sink) if fmt == "csv" else None
    if csv_rows is not None:
        csv_rows.header(columns)
    async for rows in _stream(connection, statement):
        shaped = [shape(row) for row in rows]
        if csv_rows is not None:
            csv_rows.rows(shaped)
        else:
            sink.write(_jsonl_lines(dict(zip(columns, values, strict=True)) for values in shaped))
        count += len(rows)
    return list(columns), count


def _write_checksums(
    report_path: Path, kind: str, fmt: str, columns: list[str], rows: int, sink: _Sink
) -> tuple[Path, Path]:
    digest = sink.digest.hexdigest()
    checksum = report_path.with_name(report_path.name + ".sha256")
    checksum.write_text(f"{digest}  {report_path.name}\n", encoding="utf-8")
    manifest = report_path.with_name(report_path.name + ".manifest.json")
    manifest.write_text(
        json.dumps(
            {
                "file": report_path.name,
                "kind": kind,
                "format": fmt,
                "columns": columns,
                "rows": rows,
                "bytes": sink.size,
                "sha256": digest,
                "created_at": _iso(datetime.now(UTC)),
            },
            ensure_ascii=False,
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    return manifest, checksum


async def export_to_file(db: Database, kind: str, out: Path, fmt: Format) -> ExportReport:
    """Write the ``kind`` export of ``db`` to ``out`` in ``fmt``, with its manifest and checksum file."""
    if kind not in KINDS:
        raise ExportError(f"unknown export {kind!r}: use one of {', '.join(KINDS)}")
    if out.is_dir():
        raise ExportError(f"{out} is a directory: name the file to write")
    if not out.parent.is_dir():
        raise ExportError(f"no such directory: {out.parent}")
    partial = out.with_name(out.name + ".partial")
    try:
        sink = _Sink(partial)
    except OSError as error:
        raise ExportError(f"cannot write {out}: {error.strerror or error}") from None
    try:
        async with _snapshot(db) as connection:
            if kind == "registry":
                columns, rows = await _write_registry(connection, db, fmt, sink)
            elif kind == "appeals":
                columns, rows = await _write_appeals(connection, fmt, sink)
            else:
                columns, rows = await _write_cases(connection, fmt, sink)
        sink.close()
        os.replace(partial, out)
    except BaseException:
        sink.close()
        partial.unlink(missing_ok=True)
        raise
    manifest, checksum = _write_checksums(out, kind, fmt, columns, rows, sink)
    return ExportReport(kind, fmt, out, manifest, checksum, rows, sink.size, sink.digest.hexdigest())
