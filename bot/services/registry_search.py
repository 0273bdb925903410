"""Searching the stored registry: in memory when the process keeps an index, else through the keys table.

A long-lived process (the bot, the console) loads the registry into memory once at start
(:mod:`bot.services.registry_index`) and attaches it to its database handle with :func:`attach_index`;
:func:`search_registry` then ranks on that index and reads only the shown readings from the database.
Without an index (the CLI's one-shot search, small registries) the blocking keys are looked up in the
indexed ``reading_keys`` table and the candidates scored with what was derived from them at import
time, and the surname frequencies the term-frequency weighting needs. Both paths give the same results.
This module also opens the database for every command that touches it.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from bot.config import Settings
from bot.search import ENGINE_VERSION, Derived, Match, Query, Record, score_candidates
from models import Database, Reading, ReadingKey, RegistryMeta

if TYPE_CHECKING:
    from bot.services.registry_index import RegistryIndex

# A query whose keys reach more readings than this is scored on the first ones only (never a scan).
MAX_CANDIDATES = 20_000
_TOTAL_TTL_SECONDS = 30.0


@dataclass(frozen=True)
class ReadingView:
    """A registry reading as stored: the raw text exactly as imported."""

    reading_id: str
    surname: str
    name: str | None = None
    patronymic: str | None = None
    birth_year: str | None = None
    birthplace: str | None = None
    draft_office: str | None = None
    rank: str | None = None
    family_address: str | None = None
    relative: str | None = None
    found_place: str | None = None
    found_date: str | None = None
    search_unit: str | None = None
    burial_place: str | None = None
    source: str | None = None
    notes: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, reading: Reading) -> ReadingView:
        return cls(
            reading_id=reading.reading_id,
            surname=reading.surname,
            name=reading.name,
            patronymic=reading.patronymic,
            birth_year=reading.birth_year,
            birthplace=reading.birthplace,
            draft_office=reading.draft_office,
            rank=reading.rank,
            family_address=reading.family_address,
            relative=reading.relative,
            found_place=reading.found_place,
            found_date=reading.found_date,
            search_unit=reading.search_unit,
            burial_place=reading.burial_place,
            source=reading.source,
            notes=reading.notes,
            extra=dict(reading.extra or {}),
        )


@dataclass(frozen=True)
class Found:
    """One search result: the engine's verdict and the reading it is about."""

    match: Match
    reading: ReadingView


def record_of_reading(reading: Reading) -> Record:
    """The engine's view of a stored reading."""
    return Record(
        reading_id=reading.reading_id,
        surname=reading.surname,
        name=reading.name,
        patronymic=reading.patronymic,
        birth_year=reading.birth_year,
        birthplace=reading.birthplace,
        draft_office=reading.draft_office,
        relative=reading.relative,
        family_address=reading.family_address,
    )


_total_cache: dict[str, tuple[float, int]] = {}


async def registry_size(db: Database) -> int:
    """How many readings the registry holds (cached briefly: counting a large table is not free)."""
    cached = _total_cache.get(db.url)
    now = time.monotonic()
    if cached is not None and now - cached[0] < _TOTAL_TTL_SECONDS:
        return cached[1]
    async with db.session() as session:
        total = int(await session.scalar(select(func.count()).select_from(Reading)) or 0)
    _total_cache[db.url] = (now, total)
    return total


_INDEXES: weakref.WeakKeyDictionary[Database, RegistryIndex] = weakref.WeakKeyDictionary()


def attach_index(db: Database, index: RegistryIndex) -> None:
    """Searches on this database handle use ``index`` (see :mod:`bot.services.registry_index`)."""
    _INDEXES[db] = index


def detach_index(db: Database) -> None:
    """Searches on this database handle go back to the keys table."""
    _INDEXES.pop(db, None)


def attached_index(db: Database) -> RegistryIndex | None:
    """The in-memory index searches on this handle use, if any."""
    return _INDEXES.get(db)


async def _found(db: Database, matches: list[Match]) -> list[Found]:
    """The matches with their readings, read in one query."""
    if not matches:
        return []
    async with db.session() as session:
        readings = (
            await session.scalars(
                select(Reading).where(Reading.reading_id.in_([m.reading_id for m in matches]))
            )
        ).all()
    by_id = {reading.reading_id: reading for reading in readings}
    return [Found(m, ReadingView.of(by_id[m.reading_id])) for m in matches if m.reading_id in by_id]


SearchObserver = Callable[[float], None]
_SEARCH_OBSERVERS: weakref.WeakKeyDictionary[Database, SearchObserver] = weakref.WeakKeyDictionary()


def observe_searches(db: Database, observer: SearchObserver) -> None:
    """``observer(seconds)`` is told how long each search on this database handle took (the metrics)."""
    _SEARCH_OBSERVERS[db] = observer


async def search_registry(db: Database, query: Query, limit: int = 5) -> list[Found]:
    """The best `limit` readings for what a relative knows, best first."""
    started = time.perf_counter()
    try:
        index = _INDEXES.get(db)
        if index is not None:
            return await _found(db, await index.search(db, query, limit))
        return await search_stored(db, query, limit)
    finally:
        observer = _SEARCH_OBSERVERS.get(db)
        if observer is not None:
            observer(time.perf_counter() - started)


async def search_stored(db: Database, query: Query, limit: int = 5) -> list[Found]:
    """:func:`search_registry` through the indexed keys table (no in-memory index)."""
    from bot.search import query_keys

    keys = sorted(query_keys(query))
    if not keys:
        return []
    total = await registry_size(db)
    async with db.session() as session:
        pks = (
            await session.scalars(
                select(ReadingKey.reading_pk).where(ReadingKey.key.in_(keys)).distinct().limit(MAX_CANDIDATES)
            )
        ).all()
        if not pks:
            return []
        readings = (await session.scalars(select(Reading).where(Reading.id.in_(pks)))).all()
        surnames = {reading.surname_norm for reading in readings}
        frequencies: dict[str, int] = {
            surname: count
            for surname, count in await session.execute(
                select(Reading.surname_norm, func.count())
                .where(Reading.surname_norm.in_(surnames))
                .group_by(Reading.surname_norm)
            )
        }
    by_id = {reading.reading_id: reading for reading in readings}
    candidates = [
        (record_of_reading(reading), Derived(reading.surname_norm, frozenset(), dict(reading.derived or {})))
        for reading in readings
    ]
    matches = score_candidates(
        query,
        candidates,
        surname_freq=lambda surname: frequencies.get(surname, 1),
        total=max(total, 1),
        limit=limit,
    )
    return [Found(match, ReadingView.of(by_id[match.reading_id])) for match in matches]


async def get_reading(db: Database, reading_id: str) -> ReadingView | None:
    """One reading by its registry id, or None."""
    async with db.session() as session:
        reading = await session.scalar(select(Reading).where(Reading.reading_id == reading_id))
        return ReadingView.of(reading) if reading is not None else None


async def reindex_if_stale(db: Database, *, batch_size: int = 2000) -> int:
    """Rebuild derived keys of readings made by an older engine version; returns how many were rebuilt."""
    from sqlalchemy import delete, insert, update

    from bot.search import derive

    rebuilt = 0
    while True:
        async with db.session() as session:
            stale = (
                await session.scalars(
                    select(Reading).where(Reading.engine_version != ENGINE_VERSION).limit(batch_size)
                )
            ).all()
            if not stale:
                break
            updates: list[dict[str, Any]] = []
            key_rows: list[dict[str, Any]] = []
            for reading in stale:
                derived = derive(record_of_reading(reading))
                updates.append(
                    {
                        "id": reading.id,
                        "surname_norm": derived.surname_norm[:128],
                        "derived": derived.data,
                        "engine_version": ENGINE_VERSION,
                    }
                )
                key_rows.extend({"key": key[:96], "reading_pk": reading.id} for key in derived.keys)
            pks = [reading.id for reading in stale]
            await session.execute(delete(ReadingKey).where(ReadingKey.reading_pk.in_(pks)))
            await session.execute(update(Reading), updates)
            if key_rows:
                await session.execute(insert(ReadingKey), key_rows)
            rebuilt += len(stale)
    if rebuilt:
        async with db.session() as session:
            await session.merge(RegistryMeta(name="engine_version", value=ENGINE_VERSION))
    return rebuilt


async def open_database(settings: Settings, *, reindex: bool = True) -> Database:
    """The configured database, migrated to the newest schema, its search keys built by this engine."""
    from bot.services.registry_import import restore_after_bulk_import

    db = Database(settings.database.url, echo=settings.database.echo)
    await db.upgrade()
    await restore_after_bulk_import(db)  # what a large import stopped half-way left dropped
    if reindex:
        await reindex_if_stale(db)
    return db
