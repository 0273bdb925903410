"""The volunteers' review queue: recorded matches the relative was not told about, most likely first.

The matching pass tells a relative only of a reading it is nearly sure of; every other pair it records
(bot.services.matching: score ≥ ``RECORD_MIN_SCORE``, or a chance against the registry's other readings
and the other searches the reading fits ≥ ``RECORD_MIN_JOINT``) is marked "skipped". Those wait here for
a person, most likely first: ordered by that chance (``Match.joint``: a reading that fits a common
surname's many readings, or many relatives' searches, as well cannot be told apart and sinks), then by
match id, and shown one at a time. On bench/matching.py at full size it put more true pairs in the
queue's first fifth than the score or the chance against "not in the registry" alone (``Match.alone``,
which the notification rule uses); see bench/README.md. A verdict is stored once per match (a unique row, so two volunteers deciding at the same instant
cannot both win): "likely" means the relative is told, once; "not" means the pair is never shown again.
"Skip" stores nothing: the next item is the one after it in the same order (a cursor, not a state).
Only matches of active searches of people who have not blocked the bot are queued, and only those whose
chance reaches ``QUEUE_MIN_JOINT`` (a pair recorded for its score alone that many searches fit as well
stays recorded but is not queued).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError

from bot.services.registry_search import ReadingView
from models import (
    Database,
    Match,
    MatchReview,
    NotificationState,
    Person,
    Reading,
    RequestStatus,
    SearchRequest,
)
from models.base import utcnow

# The queue's floor on its order (``Match.joint``). The pass records a pair for its score alone (>= 20)
# even when many saved searches or the registry's readings fit the reading as well (``joint`` below the
# pass's own ``RECORD_MIN_JOINT``): on bench/matching.py at full size those pairs were 4 % of the queue
# and none of them was the man on seed 90001 (one of 152 on 31337), so they stay recorded (the pass and
# /family keep them) but are not queued.
# Raising it trades queue recall for a shorter queue with more true pairs at its top (bench/README.md).
QUEUE_MIN_JOINT = 0.05


class Verdict(enum.StrEnum):
    LIKELY = "likely"
    NOT = "not"


@dataclass(frozen=True)
class ReviewItem:
    """One pair to review: the saved search as the relative wrote it, the reading, the engine's verdict."""

    match_id: int
    score: float
    strong: bool
    reasons: list[Any]
    request_id: int
    person_id: int
    search: dict[str, Any]
    reading: ReadingView
    reading_pk: int


def _likelihood() -> Any:
    """The queue's order: the chance against the registry's other readings and the other saved searches
    the reading fits (``Match.joint``; the score / 100 for matches recorded before it was kept)."""
    return func.coalesce(Match.joint, Match.score / 100.0)


def _queue_condition() -> Any:
    return and_(
        Match.notification == NotificationState.SKIPPED,
        _likelihood() >= QUEUE_MIN_JOINT,
        SearchRequest.status == RequestStatus.ACTIVE,
        Person.active.is_(True),
        MatchReview.id.is_(None),
    )


def _queue_select(*columns: Any) -> Any:
    return (
        select(*columns)
        .join(SearchRequest, SearchRequest.id == Match.request_id)
        .join(Person, Person.id == SearchRequest.person_id)
        .outerjoin(MatchReview, MatchReview.match_id == Match.id)
        .where(_queue_condition())
    )


def _search_of(request: SearchRequest) -> dict[str, Any]:
    return {
        "surname": request.surname,
        "name": request.name,
        "patronymic": request.patronymic,
        "birth_year": request.birth_year,
        "birth_year_to": request.birth_year_to,
        "birthplace": request.birthplace,
        "draft_office": request.draft_office,
        "relative": request.relative,
        "family_place": request.family_place,
    }


def _item(match: Match, request: SearchRequest, reading: Reading) -> ReviewItem:
    return ReviewItem(
        match_id=match.id,
        score=float(match.score),
        strong=bool(match.strong),
        reasons=list(match.reasons or []),
        request_id=request.id,
        person_id=request.person_id,
        search=_search_of(request),
        reading=ReadingView.of(reading),
        reading_pk=reading.id,
    )


async def queue_size(db: Database) -> int:
    async with db.session() as session:
        return int(await session.scalar(_queue_select(func.count(Match.id))) or 0)


async def next_item(db: Database, after: int | None = None) -> tuple[ReviewItem | None, int]:
    """The most likely pair still waiting (after match ``after`` in the queue's order, for "skip"), and
    how many are waiting in all."""
    async with db.session() as session:
        statement = _queue_select(Match, SearchRequest, Reading).join(Reading, Reading.id == Match.reading_pk)
        if after is not None:
            previous = await session.scalar(select(_likelihood()).where(Match.id == after))
            if previous is not None:
                statement = statement.where(
                    or_(
                        _likelihood() < previous,
                        and_(_likelihood() == previous, Match.id > after),
                    )
                )
        row = (await session.execute(statement.order_by(_likelihood().desc(), Match.id).limit(1))).first()
        total = int(await session.scalar(_queue_select(func.count(Match.id))) or 0)
        if row is None:
            return None, total
        return _item(*row), total


async def queue_pairs(db: Database) -> list[tuple[int, str, float]]:
    """The whole queue in order as (person id, reading id, score) (the benchmark measures it)."""
    async with db.session() as session:
        rows = await session.execute(
            _queue_select(SearchRequest.person_id, Reading.reading_id, Match.score)
            .join(Reading, Reading.id == Match.reading_pk)
            .order_by(_likelihood().desc(), Match.id)
        )
        return [(int(pid), str(rid), float(score)) for pid, rid, score in rows]


async def decide(db: Database, match_id: int, verdict: Verdict, reviewer_id: int) -> ReviewItem | None:
    """Store the verdict if the match is still waiting; the item when this call decided it (None: it is
    not in the queue any more, or another volunteer decided it first)."""
    try:
        async with db.session() as session:
            row = (
                await session.execute(
                    _queue_select(Match, SearchRequest, Reading)
                    .join(Reading, Reading.id == Match.reading_pk)
                    .where(Match.id == match_id)
                )
            ).first()
            if row is None:
                return None
            session.add(
                MatchReview(match_id=match_id, verdict=verdict.value, reviewer_id=reviewer_id, at=utcnow())
            )
            await session.flush()
            return _item(*row)
    except IntegrityError:  # decided at the same instant by someone else: theirs stands
        return None


async def request_of_match(db: Database, person_id: int | None, match_id: int) -> ReviewItem | None:
    """A match with its search and reading; with ``person_id``, only of one of that person's own searches
    (for "ask a volunteer" under a notification: a forged id reaches nobody else's)."""
    async with db.session() as session:
        statement = (
            select(Match, SearchRequest, Reading)
            .join(SearchRequest, SearchRequest.id == Match.request_id)
            .join(Reading, Reading.id == Match.reading_pk)
            .where(Match.id == match_id)
        )
        if person_id is not None:
            statement = statement.where(SearchRequest.person_id == person_id)
        row = (await session.execute(statement)).first()
        return _item(*row) if row is not None else None
