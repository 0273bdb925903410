"""Importing registry readings from CSV (English or Russian headers) or JSON lines.

Streaming in batches, so memory stays flat in file size; idempotent by `reading_id` (a re-import updates a
changed reading and skips an unchanged one); rows that cannot be used are reported with their line number
and the reason, the rest is imported. A file that cannot be read at all (missing, undecodable, empty, no
surname column) raises `ImportFailure` before anything is written.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO

import orjson
from sqlalchemy import Table, delete, select, update

from bot.search import ENGINE_VERSION, Record, derive, parse_field, parse_year
from models import Database, ImportBatch, Reading, ReadingKey
from models.base import utcnow
from models.bulk import bulk_insert, bulk_insert_tuples

# The registry columns and the Russian headers accepted for them (DESIGN.md, "Registry CSV").
COLUMNS: dict[str, str] = {
    "reading_id": "№",
    "surname": "Фамилия",
    "name": "Имя",
    "patronymic": "Отчество",
    "birth_year": "Год рождения",
    "birthplace": "Место рождения",
    "draft_office": "Военкомат",
    "rank": "Звание",
    "family_address": "Адрес семьи",
    "relative": "Родственник",
    "found_place": "Место обнаружения",
    "found_date": "Дата обнаружения",
    "search_unit": "Поисковый отряд",
    "burial_place": "Место захоронения",
    "source": "Источник",
    "notes": "Примечание",
}
NAME_FIELDS = ("surname", "name", "patronymic")
PLACE_FIELDS = ("birthplace", "draft_office", "family_address", "relative")
HEADER_ALIASES: dict[str, str] = {}
for _column, _russian in COLUMNS.items():
    HEADER_ALIASES[_column] = _column
    HEADER_ALIASES[_russian.casefold()] = _column
HEADER_ALIASES["n"] = "reading_id"
HEADER_ALIASES["no"] = "reading_id"

READINGS: Table = Reading.__table__  # type: ignore[assignment]
READING_KEYS: Table = ReadingKey.__table__  # type: ignore[assignment]
READING_COLUMNS = tuple(column.name for column in READINGS.columns if column.name != "id")

# Field values repeat a great deal in a registry (places, first names, common surnames); readings are
# immutable, so parsing each distinct value once is safe.
_parse_field = lru_cache(maxsize=200_000)(parse_field)
_parse_year = lru_cache(maxsize=4096)(parse_year)

MAX_FIELD_LENGTH = 2000
SOLDIER_BIRTH_YEARS = (1860, 1930)
BATCH_SIZE = 10_000  # rows per transaction: commits cost as much as thousands of rows


class ImportFailure(Exception):
    """The file could not be read at all; nothing was imported."""


@dataclass(frozen=True)
class Rejected:
    line: int
    reason: str


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


@dataclass(frozen=True)
class ParsedRow:
    """A usable row: its line number and the values to store."""

    line: int
    values: dict[str, Any]


def canonical_header(name: str) -> str | None:
    """The registry column a header names (English or Russian, any case), or None for an unknown column."""
    cleaned = name.strip().lstrip("\ufeff").strip()
    return HEADER_ALIASES.get(cleaned.casefold())


class _CountingReader(io.RawIOBase):
    """Counts the bytes read from a binary file, for the progress bar."""

    def __init__(self, raw: BinaryIO, on_read: Callable[[int], None]) -> None:
        self._raw = raw
        self._on_read = on_read

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        buffer[: len(data)] = data
        if data:
            self._on_read(len(data))
        return len(data)


def detect_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM) when the whole file decodes as UTF-8, else cp1251 (Russian Excel)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as raw:
        head = raw.read(3)
        bom = head == codecs.BOM_UTF8
        chunk = head if not bom else b""
        try:
            while True:
                decoder.decode(chunk)
                chunk = raw.read(1 << 20)
                if not chunk:
                    decoder.decode(b"", final=True)
                    return "utf-8-sig" if bom else "utf-8"
        except UnicodeDecodeError:
            pass
    try:
        with path.open("rb") as raw:
            windows = codecs.getincrementaldecoder("cp1251")()
            while chunk := raw.read(1 << 20):
                windows.decode(chunk)
    except UnicodeDecodeError:
        raise ImportFailure(
            f"{path}: the file is neither UTF-8 nor Windows-1251 text; save it as CSV UTF-8 and try again"
        ) from None
    return "cp1251"


def _is_json_lines(path: Path, first_line: str) -> bool:
    return path.suffix.lower() in {".jsonl", ".ndjson", ".json"} or first_line.lstrip().startswith("{")


def _clean(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).replace("\x00", "").strip()
    return text or None


def stable_reading_id(values: dict[str, Any]) -> str:
    """An id for a row that has none, derived from its content so that a re-import finds the same row."""
    basis = "\x1f".join((values.get(column) or "").casefold() for column in COLUMNS if column != "reading_id")
    return "auto-" + hashlib.sha1(basis.encode("utf-8")).hexdigest()[:16]


def content_hash(values: dict[str, Any], extra: dict[str, Any]) -> str:
    """A digest of everything imported for a reading, to skip unchanged rows on a re-import."""
    basis = [values.get(column) for column in COLUMNS] + sorted(extra.items())
    return hashlib.sha256(orjson.dumps(basis)).hexdigest()


def validate_row(line: int, raw: dict[str, Any], extra: dict[str, Any]) -> ParsedRow | Rejected:
    """Check one row and turn it into database values, or say why it cannot be imported."""
    values: dict[str, Any] = {column: _clean(raw.get(column)) for column in COLUMNS}
    for column, value in values.items():
        if value is not None and len(value) > MAX_FIELD_LENGTH:
            return Rejected(line, f"{column} is longer than {MAX_FIELD_LENGTH} characters")
    surname = values["surname"]
    parsed_surname = _parse_field(surname)
    if parsed_surname is None:
        return Rejected(line, "no surname")
    if not any(ch.isalpha() for ch in surname or ""):
        return Rejected(line, f"surname has no letters: {surname!r}")
    year = values["birth_year"]
    parsed_year = _parse_year(year) if year else None
    if year:
        if parsed_year is None or parsed_year.low is None or parsed_year.high is None:
            if re.search(r"\d{4}", year):
                return Rejected(line, f"birth year {year} is impossible for a soldier of 1941-1945")
            return Rejected(line, f"birth year is not a year: {year!r}")
        low, high = SOLDIER_BIRTH_YEARS
        if parsed_year.high < low or parsed_year.low > high:
            return Rejected(line, f"birth year {year} is impossible for a soldier of 1941-1945")
    if values["reading_id"] is None:
        values["reading_id"] = stable_reading_id(values)
    elif len(values["reading_id"]) > 128:
        return Rejected(line, "reading_id is longer than 128 characters")
    clean_extra = {key: _clean(value) for key, value in extra.items() if _clean(value) is not None}
    # Only fields whose notation says more than their raw text (alternatives, unreadable letters, an
    # initial) get a parsed form; a plain field is its raw text.
    parsed: dict[str, Any] = {}
    for column in (*NAME_FIELDS, *PLACE_FIELDS):
        reading = _parse_field(values[column])
        if reading is not None and (reading.initial or reading.alternatives != (values[column],)):
            parsed[column] = {"alternatives": list(reading.alternatives), "initial": reading.initial}
    if parsed_year is not None:
        parsed["birth_year"] = {
            "low": parsed_year.low,
            "high": parsed_year.high,
            "pattern": parsed_year.pattern,
        }
    values["extra"] = clean_extra
    values["parsed"] = parsed
    values["content_hash"] = content_hash(values, clean_extra)
    return ParsedRow(line, values)


def record_of(values: dict[str, Any]) -> Record:
    """The search engine's view of a reading."""
    return Record(
        reading_id=values["reading_id"],
        surname=values["surname"],
        name=values.get("name"),
        patronymic=values.get("patronymic"),
        birth_year=values.get("birth_year"),
        birthplace=values.get("birthplace"),
        draft_office=values.get("draft_office"),
        relative=values.get("relative"),
        family_address=values.get("family_address"),
    )


class RegistryFile:
    """A registry file opened for streaming: checks what can be checked before the first row is read."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise ImportFailure(f"{self.path}: no such file")
        if not self.path.is_file():
            raise ImportFailure(f"{self.path}: not a file")
        try:
            self.size = self.path.stat().st_size
            self.encoding = detect_encoding(self.path)
        except OSError as error:
            raise ImportFailure(f"{self.path}: cannot be read ({error.strerror})") from None
        if self.size == 0:
            raise ImportFailure(f"{self.path}: the file is empty")
        with self.path.open(encoding=self.encoding, newline="") as text:
            first = ""
            for first in text:
                if first.strip():
                    break
        if not first.strip():
            raise ImportFailure(f"{self.path}: the file is empty")
        self.json_lines = _is_json_lines(self.path, first)
        if not self.json_lines:
            header = next(csv.reader([first]))
            self.columns = [canonical_header(name) for name in header]
            if "surname" not in self.columns:
                raise ImportFailure(
                    f"{self.path}: no surname column: the header must name 'surname' (or 'Фамилия'); "
                    f"found {', '.join(h.strip() for h in header) or 'nothing'}"
                )

    def rows(
        self, on_bytes: Callable[[int], None] = lambda n: None
    ) -> Iterator[tuple[int, dict[str, Any]] | Rejected]:
        """Yield (line number, {column: value, '_extra': {...}}) or a Rejected row, streaming."""
        with self.path.open("rb") as raw:
            reader = io.BufferedReader(_CountingReader(raw, on_bytes), buffer_size=1 << 16)
            text = io.TextIOWrapper(reader, encoding=self.encoding, newline="")
            if self.json_lines:
                yield from self._json_rows(text)
            else:
                yield from self._csv_rows(text)

    def _json_rows(self, text: io.TextIOWrapper) -> Iterator[tuple[int, dict[str, Any]] | Rejected]:
        for line_number, line in enumerate(text, start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as error:
                yield Rejected(line_number, f"not valid JSON ({error.msg})")
                continue
            if not isinstance(item, dict):
                yield Rejected(line_number, "a line must be a JSON object")
                continue
            values: dict[str, Any] = {}
            extra: dict[str, Any] = {}
            for key, value in item.items():
                column = canonical_header(str(key))
                if isinstance(value, (dict, list)):
                    value = json.dumps(value, ensure_ascii=False)
                if column is None:
                    extra[str(key)] = value
                else:
                    values[column] = value
            values["_extra"] = extra
            yield line_number, values

    def _csv_rows(self, text: io.TextIOWrapper) -> Iterator[tuple[int, dict[str, Any]] | Rejected]:
        reader = csv.reader(text)
        header: list[str] | None = None
        columns: list[str | None] = []
        for row in reader:
            line_number = reader.line_num
            if header is None:
                if not any(cell.strip() for cell in row):
                    continue
                header = row
                columns = [canonical_header(name) for name in header]
                continue
            if not any(cell.strip() for cell in row):
                continue
            if len(row) > len(header):
                yield Rejected(line_number, f"{len(row)} fields where the header has {len(header)}")
                continue
            values: dict[str, Any] = {}
            extra: dict[str, Any] = {}
            for index, cell in enumerate(row):
                column = columns[index]
                if column is None:
                    extra[header[index].strip() or f"column {index + 1}"] = cell
                elif column not in values or not values[column]:
                    values[column] = cell
            values["_extra"] = extra
            yield line_number, values


RawItem = tuple[int, dict[str, Any]] | Rejected


def validate_batch(items: list[RawItem]) -> list[ParsedRow | Rejected]:
    """Each row of a batch validated, or the reason it cannot be imported."""
    return [
        item if isinstance(item, Rejected) else validate_row(item[0], item[1], item[1].pop("_extra", {}))
        for item in items
    ]


def _batches(items: Iterator[RawItem], size: int) -> Iterator[list[RawItem]]:
    batch: list[RawItem] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


async def _write_batch(db: Database, batch_id: int, rows: list[ParsedRow], report: ImportReport) -> None:
    latest: dict[str, ParsedRow] = {}
    for row in rows:  # a reading_id repeated in one file: the later row wins
        latest[row.values["reading_id"]] = row
    async with db.session() as session:
        existing = {
            reading_id: (pk, digest)
            for pk, reading_id, digest in await session.execute(
                select(Reading.id, Reading.reading_id, Reading.content_hash).where(
                    Reading.reading_id.in_(list(latest))
                )
            )
        }
        now = utcnow()
        new_rows: list[dict[str, Any]] = []
        changed_rows: list[dict[str, Any]] = []
        keys_by_reading: dict[str, frozenset[str]] = {}
        for reading_id, row in latest.items():
            known = existing.get(reading_id)
            if known is not None and known[1] == row.values["content_hash"]:
                report.unchanged += 1  # nothing to derive or write: a re-import of a big file stays cheap
                continue
            derived = derive(record_of(row.values))
            keys_by_reading[reading_id] = derived.keys
            values = {
                **row.values,
                "surname_norm": derived.surname_norm[:128],
                "derived": derived.data,
                "engine_version": ENGINE_VERSION,
                "changed_batch": batch_id,
                "updated_at": now,
            }
            if known is None:
                new_rows.append({**values, "created_at": now})
            else:
                changed_rows.append({**values, "id": known[0]})
        pks: dict[str, int] = {}
        if new_rows:
            # Core executemany, then one indexed select for the new ids: the ORM's bulk insert with
            # RETURNING cost more per row than all the rest of an import.
            await bulk_insert(session, READINGS, READING_COLUMNS, new_rows)
            result = await session.execute(
                select(Reading.id, Reading.reading_id).where(
                    Reading.reading_id.in_([r["reading_id"] for r in new_rows])
                )
            )
            pks.update({reading_id: pk for pk, reading_id in result})
            report.inserted += len(new_rows)
        if changed_rows:
            await session.execute(update(Reading), changed_rows)
            changed_pks = [row["id"] for row in changed_rows]
            await session.execute(delete(ReadingKey).where(ReadingKey.reading_pk.in_(changed_pks)))
            pks.update({row["reading_id"]: row["id"] for row in changed_rows})
            report.updated += len(changed_rows)
        key_rows = [
            (key[:96], pks[reading_id]) for reading_id, keys in keys_by_reading.items() for key in keys
        ]
        await bulk_insert_tuples(session, READING_KEYS, ("key", "reading_pk"), key_rows)


async def import_file(
    db: Database,
    path: str | Path,
    *,
    progress: Callable[[int, int], None] | None = None,
    batch_size: int = BATCH_SIZE,
) -> ImportReport:
    """Import one registry file; `progress(bytes_done, bytes_total)` is called as it goes.

    One batch at a time is read, validated, derived and written, so memory stays flat in file size.
    """
    source = RegistryFile(path)
    report = ImportReport(source=str(source.path), encoding=source.encoding)
    async with db.session() as session:
        batch = ImportBatch(source=source.path.name)
        session.add(batch)
        await session.flush()
        batch_id = batch.id
    done = 0

    def advance(count: int) -> None:
        nonlocal done
        done += count
        if progress is not None:
            progress(done, source.size)

    for raw_batch in _batches(source.rows(advance), batch_size):
        report.rows_read += len(raw_batch)
        prepared = validate_batch(raw_batch)
        report.rejected.extend(item for item in prepared if isinstance(item, Rejected))
        rows = [item for item in prepared if isinstance(item, ParsedRow)]
        if rows:
            await _write_batch(db, batch_id, rows, report)
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
