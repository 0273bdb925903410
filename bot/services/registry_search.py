"""Searching the stored registry: the :class:`RegistrySearch` interface and its database implementation.

The application builds one registry search when it starts and hands it to whatever needs it (the
dialogue's search through ``Services``, the matching pass, the CLI's batch search); it is closed at
shutdown. Two implementations answer the same interface with the same results:

* :class:`bot.services.registry_index.RegistryIndex` holds the registry in memory (a long-lived process:
  the bot, the console, a batch of CLI searches) and reads only the shown readings from the database;
* :class:`StoredRegistry` (here) looks the query's blocking keys up in the indexed ``reading_keys``
  table and scores the candidates with what was derived from them at import time, with the surname
  frequencies the term-frequency weighting needs (the CLI's one-shot search, tests, small registries).

:func:`reindex_if_stale` rebuilds the stored keys of readings derived by an older engine version.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from sqlalchemy import delete, func, insert, select, update

from bot.search import ENGINE_VERSION, Derived, Match, Query, Record, derive, query_keys, score_candidates
from models import Database, Reading, ReadingKey, RegistryMeta

__all__ = [
    "MAX_CANDIDATES",
    "Found",
    "ReadingView",
    "RegistrySearch",
    "StoredRegistry",
    "found_readings",
    "get_reading",
    "record_of_reading",
    "reindex_if_stale",
]

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


@runtime_checkable
class RegistrySearch(Protocol):
    """The registry as the application searches it: built at start, passed to its users, closed at the end."""

    async def search(self, query: Query, limit: int = 5) -> list[Found]:
        """The best ``limit`` readings for what a relative knows, best first."""
        ...

    async def get(self, reading_id: str) -> ReadingView | None:
        """One reading by its registry id, or None."""
        ...

    async def size(self) -> int:
        """How many readings the registry holds."""
        ...

    async def close(self) -> None:
        """Let go of what the search holds (memory, nothing in the database)."""
        ...


async def found_readings(db: Database, matches: list[Match]) -> list[Found]:
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


async def get_reading(db: Database, reading_id: str) -> ReadingView | None:
    """One reading by its registry id, or None."""
    async with db.session() as session:
        reading = await session.scalar(select(Reading).where(Reading.reading_id == reading_id))
        return ReadingView.of(reading) if reading is not None else None


async def count_readings(db: Database) -> int:
    """How many readings the registry holds (counted now)."""
    async with db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(Reading)) or 0)


class StoredRegistry:
    """:class:`RegistrySearch` through the indexed keys table: nothing held in memory but a count."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._total: tuple[float, int] | None = None  # (when counted, how many): counting is not free

    async def size(self) -> int:
        """How many readings the registry holds (cached briefly)."""
        now = time.monotonic()
        if self._total is not None and now - self._total[0] < _TOTAL_TTL_SECONDS:
            return self._total[1]
        total = await count_readings(self.db)
        self._total = (now, total)
        return total

    async def get(self, reading_id: str) -> ReadingView | None:
        return await get_reading(self.db, reading_id)

    async def close(self) -> None:
        self._total = None

    async def search(self, query: Query, limit: int = 5) -> list[Found]:
        """The best ``limit`` readings: candidates by their stored keys, scored from their stored data."""
        keys = sorted(query_keys(query))
        if not keys:
            return []
        total = await self.size()
        async with self.db.session() as session:
            pks = (
                await session.scalars(
                    select(ReadingKey.reading_pk)
                    .where(ReadingKey.key.in_(keys))
                    .distinct()
                    .limit(MAX_CANDIDATES)
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
            (
                record_of_reading(reading),
                Derived(reading.surname_norm, frozenset(), dict(reading.derived or {})),
            )
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


async def reindex_if_stale(db: Database, *, batch_size: int = 2000) -> int:
    """Rebuild derived keys of readings made by an older engine version; returns how many were rebuilt."""
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
