"""What the administrators' web board charts: weekly activity, matches, cases, appeals, the registry.

* per week (the last :data:`WEEKS` weeks, Monday to Sunday, UTC): new users (consented), searches
  (:func:`record_search` logs each new search: when and how many results, nothing of who or for whom),
  saved searches, matches found and matches told (a notification was queued);
* cases by status, and the median time from opening to the first claim and from the first claim to
  the first answer (from the cases' audit trail);
* the latest appeals' delivery progress (sent, blocked, failed, left);
* the registry by region of birth: readings, and readings whose family was told of a match (the region
  is the gazetteer's, as the import derived it; its label is the commonest spelling in the data).

The readings per region need every reading's derived birthplace: one pass of the whole registry, grouped
in SQL by the derived place (a few seconds at a million readings). It is done once per change of the
registry and kept in ``registry_meta``
(:data:`REGIONS_META`) with the registry's stamp (:func:`registry_stamp`: the import batches, the newest
reading, the engine version — small queries on indexes); a request whose stamp matches reads the stored
counts, from any process and after a restart. ``amanat import`` refreshes it when an import finishes,
so the first request after an import is cheap too. The families told per region are counted from the told
matches' readings only (grouped in SQL the same way) and kept likewise, with the stamp of the told matches
(:func:`told_stamp`) beside the registry's.

Plain data only; the board (bot.board) makes the charts. Each week's count is a range of an index
(``COUNT(*) … WHERE at >= monday AND at < next monday``, twelve scalar subqueries in one statement),
the same SQL on SQLite and PostgreSQL; the medians' differences are taken in SQL, per case.

**The snapshot.** The board never computes these inside a request: :func:`refresh_snapshot` (the bot's
JobQueue, at start and every ``web.stats_refresh_seconds``; bot.jobs) computes them and keeps them in
``registry_meta`` (:data:`SNAPSHOT_META`) with the time they were taken, and ``/api/stats`` serves
:func:`read_snapshot` (one row by its key) with that time. Several bot processes on one database share
it: a process whose tick finds the snapshot younger than ``fresh_for`` does nothing, and the one that
finds it stale computes it under a job lock (bot.services.locks), so about one computation per period
is made, whichever process makes it, and another takes over when that process stops.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

import orjson
from sqlalchemy import case as when_then
from sqlalchemy import func, select

from bot.services.locks import job_lock
from bot.services.statistics import AppealCounts, case_counts, latest_appeals
from models import (
    Case,
    CaseEvent,
    Database,
    ImportBatch,
    Match,
    NotificationState,
    Person,
    Reading,
    RegistryMeta,
    SearchLogEntry,
    SearchRequest,
)
from models.base import utcnow

WEEKS: Final = 12
REGIONS_SHOWN: Final = 15
REGIONS_META: Final = "board_regions"  # registry_meta: {"stamp": …, "regions": {id: [readings, label]}}
FAMILIES_META: Final = "board_region_families"  # registry_meta: {"stamp": …, "families": {id: count}}
SNAPSHOT_META: Final = "board_stats"  # registry_meta: {"at": ISO time, "seconds": …, "stats": {…}}
SNAPSHOT_LOCK: Final = "board_stats"  # the job lock of the one process computing it


async def record_search(db: Database, found: int) -> None:
    """Count one search (its time and how many results), for the weekly chart."""
    async with db.session() as session:
        session.add(SearchLogEntry(at=utcnow(), found=found))


@dataclass(frozen=True)
class RegionCount:
    region: str  # the gazetteer's id, e.g. "kz-akmola"
    label: str  # the commonest spelling of it in the readings
    readings: int
    families: int  # readings whose match was told to a family


@dataclass(frozen=True)
class BoardStats:
    weeks: list[str]  # each week's Monday, ISO date
    weekly: dict[str, list[int]]  # new_users, searches, saved_searches, matches_found, matches_told
    cases: dict[str, int]
    median_claim_seconds: float | None
    median_answer_seconds: float | None
    appeals: list[AppealCounts]
    regions: list[RegionCount] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON data (what the snapshot keeps and the board's /api/stats answers)."""
        return {
            "weeks": self.weeks,
            "weekly": self.weekly,
            "cases": self.cases,
            "median_claim_seconds": self.median_claim_seconds,
            "median_answer_seconds": self.median_answer_seconds,
            "appeals": [
                {"id": a.id, "status": a.status, "counts": a.counts, "left": a.left} for a in self.appeals
            ],
            "regions": [
                {"region": r.region, "label": r.label, "readings": r.readings, "families": r.families}
                for r in self.regions
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BoardStats:
        return cls(
            weeks=[str(week) for week in data["weeks"]],
            weekly={name: [int(n) for n in counts] for name, counts in data["weekly"].items()},
            cases={str(status): int(n) for status, n in data["cases"].items()},
            median_claim_seconds=data["median_claim_seconds"],
            median_answer_seconds=data["median_answer_seconds"],
            appeals=[
                AppealCounts(int(a["id"]), str(a["status"]), {str(k): int(v) for k, v in a["counts"].items()})
                for a in data["appeals"]
            ],
            regions=[
                RegionCount(str(r["region"]), str(r["label"]), int(r["readings"]), int(r["families"]))
                for r in data["regions"]
            ],
        )


@dataclass(frozen=True)
class StatsSnapshot:
    """The statistics as they were at ``at`` (when their computation began), and how long it took."""

    at: datetime
    seconds: float
    stats: BoardStats


def week_starts(now: datetime, weeks: int = WEEKS) -> list[datetime]:
    """The Mondays (00:00 UTC) of the last ``weeks`` weeks, oldest first, this week last."""
    monday = (now - timedelta(days=now.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    return [monday - timedelta(weeks=weeks - 1 - i) for i in range(weeks)]


async def _weekly(session: Any, column: Any, starts: list[datetime], *where: Any) -> list[int]:
    """One count per week in one round trip: a scalar subquery per week, each a range of ``column``'s
    index (migration 0011), so the database reads index entries only, never the rows."""
    ends = [*starts[1:], starts[-1] + timedelta(weeks=1)]
    counts = [
        select(func.count()).where(column >= start, column < end, *where).scalar_subquery()
        for start, end in zip(starts, ends, strict=True)
    ]
    row = (await session.execute(select(*counts))).one()
    return [int(value or 0) for value in row]


def _epoch(column: Any, sqlite: bool) -> Any:
    """Seconds since the epoch of a timestamp column, in SQL (SQLite keeps text, PostgreSQL timestamptz)."""
    return func.julianday(column) * 86400.0 if sqlite else func.extract("epoch", column)


async def _case_medians(session: Any, since: datetime, *, sqlite: bool) -> tuple[float | None, float | None]:
    """Median opening → first claim, and first claim → first answer, of cases opened since ``since``.

    The database takes each case's first time in each status and the two differences; PostgreSQL also
    takes the medians (``percentile_cont(0.5)``, one row back), SQLite returns two numbers per case and
    Python takes them (no timestamps to parse either way)."""

    def first(status: str) -> Any:
        return func.min(when_then((CaseEvent.to_status == status, _epoch(CaseEvent.at, sqlite))))

    opened, claimed, answered = first("new"), first("claimed"), first("answered")
    per_case = (
        select((claimed - opened).label("claim"), (answered - claimed).label("answer"))
        .join(Case, Case.id == CaseEvent.case_id)
        .where(Case.created_at >= since, CaseEvent.to_status.in_(["new", "claimed", "answered"]))
        .group_by(CaseEvent.case_id)
    )
    if not sqlite:
        diffs = per_case.subquery()
        claim, answer = (
            await session.execute(
                select(
                    func.percentile_cont(0.5).within_group(diffs.c.claim),
                    func.percentile_cont(0.5).within_group(diffs.c.answer),
                )
            )
        ).one()
        return (None if claim is None else float(claim), None if answer is None else float(answer))
    claims: list[float] = []
    answers: list[float] = []
    for to_claim, to_answer in await session.execute(per_case):
        if to_claim is not None:
            claims.append(float(to_claim))
        if to_answer is not None:
            answers.append(float(to_answer))
    return (
        statistics.median(claims) if claims else None,
        statistics.median(answers) if answers else None,
    )


async def registry_stamp(db: Database) -> str:
    """What changes whenever the readings do: the import batches (how many in each state, the newest,
    the latest finish), the newest reading and the engine version that derived them."""
    async with db.session() as session:
        states = sorted(
            (str(state), int(count))
            for state, count in await session.execute(
                select(ImportBatch.state, func.count()).group_by(ImportBatch.state)
            )
        )
        newest_batch, finished = (
            await session.execute(select(func.max(ImportBatch.id), func.max(ImportBatch.finished_at)))
        ).one()
        newest_reading = await session.scalar(select(func.max(Reading.id)))
        version = await session.scalar(
            select(RegistryMeta.value).where(RegistryMeta.name == "engine_version")
        )
    return orjson.dumps(
        [states, newest_batch, finished.isoformat() if finished else None, newest_reading, version]
    ).decode()


def _pairs_of(place_regions: Any) -> dict[str, str]:
    """{region id: word as written} of a birthplace's candidate regions (``derived["pl"][1][0]``)."""
    data = orjson.loads(place_regions) if isinstance(place_regions, str | bytes) else place_regions
    if not isinstance(data, list):
        return {}
    return {str(pair[0]): str(pair[1]) for pair in data if isinstance(pair, list) and len(pair) == 2}


async def refresh_region_counts(db: Database) -> dict[str, tuple[int, str]]:
    """Count the readings per region of birth over the whole registry and keep the counts with the
    registry's stamp; {region: (readings, label)}. The database groups the readings by their derived
    birthplace's regions (``GROUP BY derived->'pl'->1->0``, in SQL on SQLite and PostgreSQL alike), so only
    the distinct places come back, not a million rows."""
    stamp = await registry_stamp(db)  # taken first: a change during the scan makes the next one recount
    place = Reading.derived[("pl", 1, 0)]
    readings: Counter[str] = Counter()
    spellings: dict[str, Counter[str]] = defaultdict(Counter)
    async with db.session() as session:
        rows = await session.execute(
            select(place.label("place"), func.count()).where(place.is_not(None)).group_by(place)
        )
        for place_regions, count in rows:
            for region, word in _pairs_of(place_regions).items():
                readings[region] += count
                spellings[region][word.capitalize()] += count
    counts = {region: (count, spellings[region].most_common(1)[0][0]) for region, count in readings.items()}
    stored = orjson.dumps({"stamp": stamp, "regions": counts}).decode()
    async with db.session() as session:
        await session.merge(RegistryMeta(name=REGIONS_META, value=stored))
    return counts


async def stored_region_counts(db: Database, stamp: str | None = None) -> dict[str, tuple[int, str]]:
    """The kept counts when the registry has not changed since they were made (``stamp``: its
    :func:`registry_stamp`, when the caller has it), else counted again."""
    async with db.session() as session:
        stored = await session.scalar(select(RegistryMeta.value).where(RegistryMeta.name == REGIONS_META))
    if stored:
        data = orjson.loads(stored)
        if data.get("stamp") == (stamp or await registry_stamp(db)):
            return {region: (int(count), str(label)) for region, (count, label) in data["regions"].items()}
    return await refresh_region_counts(db)


async def told_stamp(db: Database) -> str:
    """What changes whenever the told matches do: how many, the newest, and which readings (a sum)."""
    async with db.session() as session:
        count, newest, readings = (
            await session.execute(
                select(func.count(), func.max(Match.id), func.sum(Match.reading_pk)).where(
                    Match.notification == NotificationState.QUEUED
                )
            )
        ).one()
    return orjson.dumps([int(count or 0), newest, int(readings or 0)]).decode()


async def family_counts(db: Database, registry: str) -> dict[str, int]:
    """Readings whose family was told of a match, per region of birth (grouped in SQL like the readings);
    kept with the told matches' stamp and the registry's (``registry``), counted again when either moved."""
    stamp = f"{registry}|{await told_stamp(db)}"
    async with db.session() as session:
        stored = await session.scalar(select(RegistryMeta.value).where(RegistryMeta.name == FAMILIES_META))
    if stored:
        data = orjson.loads(stored)
        if data.get("stamp") == stamp:
            return {region: int(count) for region, count in data["families"].items()}
    families: Counter[str] = Counter()
    place = Reading.derived[("pl", 1, 0)]
    async with db.session() as session:
        told = select(Match.reading_pk).where(Match.notification == NotificationState.QUEUED).distinct()
        rows = await session.execute(
            select(place.label("place"), func.count()).where(Reading.id.in_(told)).group_by(place)
        )
        for place_regions, count in rows:
            for region in _pairs_of(place_regions):
                families[region] += count
    async with db.session() as session:
        value = orjson.dumps({"stamp": stamp, "families": families}).decode()
        await session.merge(RegistryMeta(name=FAMILIES_META, value=value))
    return dict(families)


async def region_counts(db: Database, shown: int = REGIONS_SHOWN) -> list[RegionCount]:
    """Readings and families told per region of birth, the ``shown`` regions with most readings."""
    registry = await registry_stamp(db)
    counts = await stored_region_counts(db, registry)
    families = await family_counts(db, registry)
    top = sorted(counts.items(), key=lambda item: (-item[1][0], item[0]))[:shown]
    return [RegionCount(region, label, count, families.get(region, 0)) for region, (count, label) in top]


async def board_stats(db: Database, *, now: datetime | None = None, regions: bool = True) -> BoardStats:
    """Everything the administrators' board charts (``regions``: also the registry by region)."""
    now = now or utcnow()
    starts = week_starts(now)
    async with db.session() as session:
        weekly = {
            "new_users": await _weekly(session, Person.consent_at, starts),
            "searches": await _weekly(session, SearchLogEntry.at, starts),
            "saved_searches": await _weekly(session, SearchRequest.created_at, starts),
            "matches_found": await _weekly(session, Match.created_at, starts),
            "matches_told": await _weekly(
                session, Match.created_at, starts, Match.notification == NotificationState.QUEUED
            ),
        }
        median_claim, median_answer = await _case_medians(session, starts[0], sqlite=db.is_sqlite)
        cases = await case_counts(session)
        appeals = await latest_appeals(session)
    return BoardStats(
        weeks=[start.date().isoformat() for start in starts],
        weekly=weekly,
        cases=cases,
        median_claim_seconds=median_claim,
        median_answer_seconds=median_answer,
        appeals=appeals,
        regions=await region_counts(db) if regions else [],
    )


async def read_snapshot(db: Database) -> StatsSnapshot | None:
    """The kept statistics (one row by its key), or None before the first refresh."""
    async with db.session() as session:
        stored = await session.scalar(select(RegistryMeta.value).where(RegistryMeta.name == SNAPSHOT_META))
    if not stored:
        return None
    try:
        data = orjson.loads(stored)
        return StatsSnapshot(
            at=datetime.fromisoformat(data["at"]),
            seconds=float(data["seconds"]),
            stats=BoardStats.from_json(data["stats"]),
        )
    except (KeyError, TypeError, ValueError, AttributeError):  # kept by another version: made again
        return None


async def _snapshot_age(db: Database, now: datetime) -> float | None:
    snapshot = await read_snapshot(db)
    return None if snapshot is None else (now - snapshot.at).total_seconds()


async def refresh_snapshot(db: Database, *, fresh_for: float = 0.0) -> StatsSnapshot | None:
    """Compute the statistics and keep them as the snapshot; the new snapshot, or None when nothing was
    done: the kept one is younger than ``fresh_for`` seconds (another process made it), or another
    process is making it now (its job lock is taken; its snapshot will do)."""
    if fresh_for > 0 and ((age := await _snapshot_age(db, utcnow())) is not None and age < fresh_for):
        return None
    async with job_lock(db, SNAPSHOT_LOCK) as lock:
        if not lock.acquired:
            return None
        now = utcnow()
        if fresh_for > 0 and ((age := await _snapshot_age(db, now)) is not None and age < fresh_for):
            return None  # made while this process waited for the lock
        began = time.perf_counter()
        stats = await board_stats(db, now=now)
        snapshot = StatsSnapshot(at=now, seconds=time.perf_counter() - began, stats=stats)
        value = {"at": now.isoformat(), "seconds": round(snapshot.seconds, 4), "stats": stats.to_json()}
        async with db.session() as session:
            await session.merge(RegistryMeta(name=SNAPSHOT_META, value=orjson.dumps(value).decode()))
    return snapshot
