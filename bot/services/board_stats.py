"""What the administrators' web board charts: weekly activity, matches, cases, appeals, the registry.

* per week (the last :data:`WEEKS` weeks, Monday to Sunday, UTC): new users (consented), searches
  (:func:`record_search` logs each new search: when and how many results, nothing of who or for whom),
  saved searches, matches found and matches told (a notification was queued);
* cases by status, and the median time from opening to the first claim and from the first claim to
  the first answer (from the cases' audit trail);
* the latest appeals' delivery progress (sent, blocked, failed, left);
* the registry by region of birth: readings, and readings whose family was told of a match (the region
  is the gazetteer's, as the import derived it; its label is the commonest spelling in the data).

Plain data only; the board (bot.board) makes the charts. Week buckets are one ``SUM(CASE …)`` per week in
one scan per table, the same SQL on SQLite and PostgreSQL.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

import orjson
from sqlalchemy import case as when_then
from sqlalchemy import func, select

from bot.services.statistics import AppealCounts, admin_stats
from models import (
    Case,
    CaseEvent,
    Database,
    Match,
    NotificationState,
    Person,
    Reading,
    SearchLogEntry,
    SearchRequest,
)
from models.base import utcnow

WEEKS: Final = 12
REGIONS_SHOWN: Final = 15


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


def week_starts(now: datetime, weeks: int = WEEKS) -> list[datetime]:
    """The Mondays (00:00 UTC) of the last ``weeks`` weeks, oldest first, this week last."""
    monday = (now - timedelta(days=now.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    return [monday - timedelta(weeks=weeks - 1 - i) for i in range(weeks)]


async def _weekly(session: Any, column: Any, starts: list[datetime], *where: Any) -> list[int]:
    ends = [*starts[1:], starts[-1] + timedelta(weeks=1)]
    sums = [
        func.sum(when_then((column >= start, when_then((column < end, 1), else_=0)), else_=0))
        for start, end in zip(starts, ends, strict=True)
    ]
    row = (await session.execute(select(*sums).where(column >= starts[0], *where))).one()
    return [int(value or 0) for value in row]


def _seconds(later: datetime, earlier: datetime) -> float:
    return (later - earlier).total_seconds()


async def _case_medians(session: Any, since: datetime) -> tuple[float | None, float | None]:
    """Median opening → first claim, and first claim → first answer, of cases opened since ``since``."""
    firsts: dict[int, dict[str, datetime]] = defaultdict(dict)
    rows = await session.execute(
        select(CaseEvent.case_id, CaseEvent.to_status, func.min(CaseEvent.at))
        .join(Case, Case.id == CaseEvent.case_id)
        .where(Case.created_at >= since, CaseEvent.to_status.in_(["new", "claimed", "answered"]))
        .group_by(CaseEvent.case_id, CaseEvent.to_status)
    )
    for case_id, status, at in rows:
        firsts[case_id][status] = at if at.tzinfo is not None else at.replace(tzinfo=since.tzinfo)
    claims = [_seconds(f["claimed"], f["new"]) for f in firsts.values() if "claimed" in f and "new" in f]
    answers = [
        _seconds(f["answered"], f["claimed"]) for f in firsts.values() if "answered" in f and "claimed" in f
    ]
    return (
        statistics.median(claims) if claims else None,
        statistics.median(answers) if answers else None,
    )


def _regions_of(derived: Any) -> list[tuple[str, str]]:
    """(region id, word as written) of a reading's birthplace, from what the import derived."""
    data = orjson.loads(derived) if isinstance(derived, str | bytes) else derived
    place = data.get("pl") if isinstance(data, dict) else None
    if not isinstance(place, list) or len(place) != 2 or not isinstance(place[1], list) or not place[1]:
        return []
    return [(str(pair[0]), str(pair[1])) for pair in place[1][0] if isinstance(pair, list) and len(pair) == 2]


async def region_counts(db: Database, shown: int = REGIONS_SHOWN) -> list[RegionCount]:
    """Readings and families told per region of birth, the ``shown`` regions with most readings."""
    readings: Counter[str] = Counter()
    families: Counter[str] = Counter()
    spellings: dict[str, Counter[str]] = defaultdict(Counter)
    async with db.session() as session:
        told = set(
            (
                await session.scalars(
                    select(Match.reading_pk).where(Match.notification == NotificationState.QUEUED).distinct()
                )
            ).all()
        )
        stream = await session.stream(select(Reading.id, Reading.derived).execution_options(yield_per=5000))
        async for reading_pk, derived in stream:
            for region, word in dict(_regions_of(derived)).items():
                readings[region] += 1
                spellings[region][word.capitalize()] += 1
                if reading_pk in told:
                    families[region] += 1
    return [
        RegionCount(region, spellings[region].most_common(1)[0][0], count, families[region])
        for region, count in readings.most_common(shown)
    ]


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
        median_claim, median_answer = await _case_medians(session, starts[0])
    overview = await admin_stats(db)
    return BoardStats(
        weeks=[start.date().isoformat() for start in starts],
        weekly=weekly,
        cases=overview.cases,
        median_claim_seconds=median_claim,
        median_answer_seconds=median_answer,
        appeals=overview.appeals,
        regions=await region_counts(db) if regions else [],
    )
