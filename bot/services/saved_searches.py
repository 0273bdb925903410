"""Saved searches of relatives: save one from the dialogue, list a person's, pause, resume or delete one
they own, and find the reading a match of theirs was about.

A saved search is what the relative knew about the soldier (:class:`SearchFields`); the matching job
(bot.services.matching) checks new readings against the active ones. Every function takes the person's
id and only ever touches that person's rows, so a forged id from a button cannot reach someone else's
search.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import delete, select, update

from bot.search import Query
from models import Database, Match, OutboxMessage, OutboxState, Reading, RequestStatus, SearchRequest


class NamedSearch(Protocol):
    """What a one-line summary of a saved search reads (a stored row, or the matching pass's copy)."""

    @property
    def surname(self) -> str: ...
    @property
    def name(self) -> str | None: ...
    @property
    def patronymic(self) -> str | None: ...
    @property
    def birth_year(self) -> int | None: ...
    @property
    def birth_year_to(self) -> int | None: ...


def search_summary(request: NamedSearch) -> str:
    """What the relative saved, in one plain line: "Легкодымов Емельян Тимофеевич, 1904"."""
    who = " ".join(part for part in (request.surname, request.name, request.patronymic) if part)
    if request.birth_year and request.birth_year_to and request.birth_year_to != request.birth_year:
        return f"{who}, {request.birth_year}–{request.birth_year_to}"
    if request.birth_year:
        return f"{who}, {request.birth_year}"
    return who


@dataclass(frozen=True)
class SearchFields:
    """What a relative told the bot about the soldier; only ``surname`` is required."""

    surname: str
    name: str | None = None
    patronymic: str | None = None
    birth_year: int | None = None
    birth_year_to: int | None = None
    birthplace: str | None = None
    draft_office: str | None = None
    relative: str | None = None
    family_place: str | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> SearchFields:
        """Build from a dict such as the dialogue's stored answers (unknown keys ignored)."""
        names = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in names})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_query(self) -> Query:
        """The search engine's query for these fields."""
        return Query(
            surname=self.surname,
            name=self.name,
            patronymic=self.patronymic,
            birth_year=self.birth_year,
            birth_year_to=self.birth_year_to,
            birthplace=self.birthplace,
            draft_office=self.draft_office,
            relative=self.relative,
            family_place=self.family_place,
        )


@dataclass(frozen=True)
class SavedSearch:
    """A saved search as the person sees it in ``/my``."""

    id: int
    fields: SearchFields
    status: RequestStatus
    created_at: datetime


def _saved(request: SearchRequest) -> SavedSearch:
    return SavedSearch(
        id=request.id,
        fields=SearchFields(
            surname=request.surname,
            name=request.name,
            patronymic=request.patronymic,
            birth_year=request.birth_year,
            birth_year_to=request.birth_year_to,
            birthplace=request.birthplace,
            draft_office=request.draft_office,
            relative=request.relative,
            family_place=request.family_place,
        ),
        status=request.status,
        created_at=request.created_at,
    )


async def save_request(db: Database, person_id: int, search: SearchFields) -> SavedSearch:
    """Save a search for the person; saving the same fields again returns the existing one."""
    async with db.session() as session:
        existing = (
            await session.execute(
                select(SearchRequest).where(
                    SearchRequest.person_id == person_id,
                    SearchRequest.status != RequestStatus.DELETED,
                )
            )
        ).scalars()
        for request in existing:
            if _saved(request).fields == search:
                return _saved(request)
        request = SearchRequest(person_id=person_id, status=RequestStatus.ACTIVE, **search.to_dict())
        session.add(request)
        await session.flush()
        return _saved(request)


async def list_requests(db: Database, person_id: int) -> list[SavedSearch]:
    """The person's saved searches (active and paused), oldest first."""
    async with db.session() as session:
        rows = await session.execute(
            select(SearchRequest)
            .where(SearchRequest.person_id == person_id, SearchRequest.status != RequestStatus.DELETED)
            .order_by(SearchRequest.id)
        )
        return [_saved(request) for request in rows.scalars()]


async def get_request(db: Database, person_id: int, request_id: int) -> SavedSearch | None:
    """One of the person's saved searches, or None if it is not theirs or does not exist."""
    async with db.session() as session:
        request = await session.get(SearchRequest, request_id)
        if request is None or request.person_id != person_id or request.status == RequestStatus.DELETED:
            return None
        return _saved(request)


async def delete_request(db: Database, person_id: int, request_id: int) -> bool:
    """Delete one of the person's saved searches (with its matches); False if it is not theirs."""
    async with db.session() as session:
        result = await session.execute(
            delete(SearchRequest).where(SearchRequest.id == request_id, SearchRequest.person_id == person_id)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


async def set_search_paused(db: Database, person_id: int, request_id: int, paused: bool) -> bool:
    """Pause (no more matching or messages) or resume one of the person's searches; False if not theirs."""
    target, source = (
        (RequestStatus.PAUSED, RequestStatus.ACTIVE)
        if paused
        else (RequestStatus.ACTIVE, RequestStatus.PAUSED)
    )
    async with db.session() as session:
        request = await session.get(SearchRequest, request_id)
        if request is None or request.person_id != person_id or request.status == RequestStatus.DELETED:
            return False
        if request.status == source:
            request.status = target
        if paused:  # what is queued and not yet sent for this search is no longer wanted
            await session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.chat_id == person_id,
                    OutboxMessage.kind == "match",
                    OutboxMessage.state == OutboxState.PENDING,
                    OutboxMessage.payload["request_id"].as_integer() == request_id,
                )
                .values(state=OutboxState.DROPPED, last_error="the search was paused")
            )
        return True


async def reading_of_match(db: Database, person_id: int, match_id: int) -> str | None:
    """The registry id of a match's reading, if the match belongs to one of the person's searches."""
    async with db.session() as session:
        return await session.scalar(
            select(Reading.reading_id)
            .join(Match, Match.reading_pk == Reading.id)
            .join(SearchRequest, SearchRequest.id == Match.request_id)
            .where(Match.id == match_id, SearchRequest.person_id == person_id)
        )
