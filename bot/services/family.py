"""A search unit found a man: the saved searches that may be his family, strongest first, anonymized.

The man is named by his registry reading's id, or described in words (:func:`readings_described` finds
the readings that fit, as a relative's search would).

The matching pass pairs every new reading with the saved searches that fit it (``matches``, whatever it
did with them: announced, queued for review, or recorded only); but a reading imported before a relative
saved their search was never paired with it. So :func:`family_of` first runs the engine's reverse match
of the reading against every active saved search, now (``matching.match_reading_now``, the pass's own
matcher, which records the pairs it finds as the pass would), then lists the pairs of that reading, best score first, with what a volunteer may see of each search: what the relative wrote
about the soldier, the region, since when they have been searching — never who they are (no person id,
name, username, nor the "who waited at home" field). Searches that are deleted or paused, or whose
relative blocked the bot, are left out; pairs a volunteer judged "not him" too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from bot.search import Query
from bot.services import matching
from bot.services.query_text import parse_query_text
from bot.services.registry_search import ReadingView, RegistrySearch
from models import Database, Match, MatchReview, Person, Reading, RequestStatus, SearchRequest
from models.base import utcnow

SOLDIER_FIELDS = (
    "surname",
    "name",
    "patronymic",
    "birth_year",
    "birth_year_to",
    "birthplace",
    "draft_office",
)


@dataclass(frozen=True)
class FamilyCandidate:
    """A saved search that may be the found man's family, as a volunteer sees it."""

    match_id: int
    score: float
    strong: bool
    soldier: dict[str, Any]  # what the relative wrote about the soldier
    region: str | None  # where the family lived, as they wrote it (else the soldier's birthplace)
    since: datetime
    reasons: list[Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "match_id": self.match_id,
            "score": round(self.score, 1),
            "strong": self.strong,
            "soldier": {key: value for key, value in self.soldier.items() if value not in (None, "")},
            "region": self.region,
            "searching_since": self.since.date().isoformat(),
        }


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=utcnow().tzinfo)


async def family_of(
    db: Database, registry: RegistrySearch, reading_id: str, *, limit: int = 10
) -> tuple[ReadingView | None, list[FamilyCandidate]]:
    """The reading (None: no such reading) and the saved searches paired with it, strongest first."""
    reading = await registry.get(reading_id)
    if reading is None:
        return None, []
    stored = await matching.reading_for_matching(db, reading_id)
    if stored is not None:
        await matching.match_reading_now(db, stored, registry=registry)
    async with db.session() as session:
        rows = await session.execute(
            select(Match, SearchRequest)
            .join(Reading, Reading.id == Match.reading_pk)
            .join(SearchRequest, SearchRequest.id == Match.request_id)
            .join(Person, Person.id == SearchRequest.person_id)
            .outerjoin(MatchReview, MatchReview.match_id == Match.id)
            .where(
                Reading.reading_id == reading_id,
                SearchRequest.status == RequestStatus.ACTIVE,
                Person.active.is_(True),
                (MatchReview.verdict.is_(None)) | (MatchReview.verdict != "not"),
            )
            .order_by(Match.strong.desc(), Match.score.desc(), Match.id)
            .limit(limit)
        )
        found = [
            FamilyCandidate(
                match_id=match.id,
                score=float(match.score),
                strong=bool(match.strong),
                soldier={field: getattr(request, field) for field in SOLDIER_FIELDS},
                region=request.family_place or request.birthplace,
                since=_aware(request.created_at),
                reasons=list(match.reasons or []),
            )
            for match, request in rows
        ]
    return reading, found


async def readings_described(registry: RegistrySearch, text: str, *, limit: int = 3) -> list[ReadingView]:
    """The registry readings that best fit a description of the man ("Легкодымов Емельян 1904"), best
    first; none when the text names no surname."""
    parsed = parse_query_text(text)
    if not parsed.surname:
        return []
    query = Query(
        surname=parsed.surname,
        name=parsed.name,
        patronymic=parsed.patronymic,
        birth_year=parsed.birth_year,
        birth_year_to=parsed.birth_year_to,
        birthplace=parsed.birthplace,
    )
    return [found.reading for found in await registry.search(query, limit=limit)]
