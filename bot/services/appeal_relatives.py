"""Matching relatives are told first: an appeal's soldier run through the engine in reverse.

Before an appeal's broadcast starts (:func:`start_appeal`), the soldier — the registry record the appeal
names, or the man as typed — is matched against every active saved search with the matching pass's own
engine and rule (bot.services.matching.searches_matching). Each relative whose search fits is told in a
notification with the reasons, strongest first, queued in the outbox (kind ``appeal_match``, one per
appeal and search, so a second start queues nothing twice); they get that notification instead of the
plain appeal. The broadcaster starts the appeal only when every such notification has been delivered
(or given up), so the relatives who may be the family hear first (bot.services.broadcast.relatives_still_waiting).

The other direction: a relative who saves a search while an appeal is open (being sent, paused or sent)
is checked against the open appeals' soldiers with the same engine and rule (:func:`open_appeals_fitting`:
the search just saved against each soldier); the handlers tell them at once and open a volunteer case
linked to the appeal (handlers/appeal_reply.py). An appeal the person was told of already (a first
notice, or a case linked to it) is left out, so saving again tells nobody twice and opens no second case.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from typing import Any, Final

from sqlalchemy import select

from bot.search import derive
from bot.services.broadcast import FIRST_NOTICE, AppealError, Soldier, first_notice_prefix, send_appeal
from bot.services.matching import NewReading, SearchFit, searches_matching
from bot.services.outbox import enqueue_many
from bot.services.registry_search import RegistrySearch, record_of_reading
from models import Appeal, AppealStatus, Case, Database, OutboxMessage, Reading, ReadingKey

# Appeals a relative can still answer: being sent, paused, or sent (not a draft, not cancelled).
OPEN_APPEALS: Final = (AppealStatus.SENDING, AppealStatus.PAUSED, AppealStatus.DONE)
# The source of a case opened from an appeal (the button, the deep link, or a search that fits it).
CASE_SOURCE: Final = "appeal"


async def soldier_as_reading(db: Database, appeal: Appeal) -> NewReading:
    """The appeal's soldier as the engine sees a new reading: its registry record, or the typed man."""
    if appeal.reading_pk is not None:
        async with db.session() as session:
            row = await session.get(Reading, appeal.reading_pk)
            if row is not None:
                keys = await session.scalars(select(ReadingKey.key).where(ReadingKey.reading_pk == row.id))
                return NewReading(row.id, row.reading_id, row, frozenset(keys))
    soldier = Soldier.from_json(appeal.soldier or {})
    name, _, patronymic = soldier.name.partition(" ")
    row = Reading(
        id=0,
        reading_id=f"appeal-{appeal.id}",
        surname=soldier.surname,
        name=name or None,
        patronymic=patronymic or None,
        birth_year=soldier.born or None,
        birthplace=soldier.place or None,
        derived={},
    )
    return NewReading(0, row.reading_id, row, derive(record_of_reading(row)).keys)


def notice_payload(appeal: Appeal, fit: SearchFit) -> dict[str, Any]:
    """What a relative is told of an appeal whose soldier their search fits (handlers/notifications.py
    renders it): the appeal, their search, and the engine's verdict with its reasons, strongest first;
    the appeal's photo, when it has one, goes with it."""
    return {
        "appeal_id": appeal.id,
        "request_id": fit.search.id,
        "request": fit.summary,
        "soldier": dict(appeal.soldier or {}),
        "text": appeal.text,
        "strong": fit.candidate.strong,
        "score": round(fit.candidate.score, 1),
        "reasons": fit.candidate.reasons,
        **({"photo": appeal.photo_file_id} if appeal.photo_file_id else {}),
    }


def case_search(appeal: Appeal) -> dict[str, Any]:
    """The soldier of a case opened from an appeal, as a case stores what it is about (with the appeal)."""
    soldier = Soldier.from_json(appeal.soldier or {})
    return {
        "surname": soldier.surname,
        "name": soldier.name,
        "birth_year": soldier.born,
        "birthplace": soldier.place,
        "appeal_id": appeal.id,
    }


async def tell_matching_relatives(
    db: Database, appeal: Appeal, *, registry: RegistrySearch | None = None
) -> list[SearchFit]:
    """Queue a notification to every relative whose saved search the soldier fits; the fits, strongest
    first."""
    fits = await searches_matching(db, [await soldier_as_reading(db, appeal)], registry=registry)
    rows = [
        {
            "chat_id": fit.search.person_id,
            "kind": FIRST_NOTICE,
            "dedup_key": f"{first_notice_prefix(appeal.id)}{fit.search.id}",
            "payload": notice_payload(appeal, fit),
        }
        for fit in fits
    ]
    if rows:
        async with db.session() as session:
            await enqueue_many(session, rows)
    return fits


async def start_appeal(
    db: Database,
    appeal_id: int,
    *,
    registry: RegistrySearch | None = None,
    progress_chat_id: int | None = None,
    progress_message_id: int | None = None,
) -> tuple[int, int]:
    """Tell the matching relatives, then mark the appeal to be sent to the rest of its audience:
    (recipients of the broadcast, relatives told first). AppealError as bot.services.broadcast raises."""
    async with db.session() as session:
        appeal = await session.get(Appeal, appeal_id)
    if appeal is None:
        raise AppealError("not_found", f"no appeal {appeal_id}")
    told: set[int] = set()
    if appeal.status == AppealStatus.DRAFT:
        told = {fit.search.person_id for fit in await tell_matching_relatives(db, appeal, registry=registry)}
    count = await send_appeal(
        db,
        appeal_id,
        progress_chat_id=progress_chat_id,
        progress_message_id=progress_message_id,
        exclude=told,
    )
    return count, len(told)


@dataclass(frozen=True)
class AppealFit:
    """An open appeal whose soldier a relative's saved search fits, and how well."""

    appeal: Appeal
    fit: SearchFit

    @property
    def payload(self) -> dict[str, Any]:
        return notice_payload(self.appeal, self.fit)


async def appeals_told(db: Database, person_id: int, appeal_ids: Collection[int]) -> set[int]:
    """Which of these appeals the person was told of already: a first notice queued for them, or a case
    of theirs linked to the appeal (from the button, the deep link, or a search that fits it)."""
    if not appeal_ids:
        return set()
    wanted = sorted(appeal_ids)
    async with db.session() as session:
        noticed = await session.scalars(
            select(OutboxMessage.payload["appeal_id"].as_integer()).where(
                OutboxMessage.chat_id == person_id,
                OutboxMessage.kind == FIRST_NOTICE,
                OutboxMessage.payload["appeal_id"].as_integer().in_(wanted),
            )
        )
        linked = await session.scalars(
            select(Case.search["appeal_id"].as_integer()).where(
                Case.person_id == person_id,
                Case.source == CASE_SOURCE,
                Case.search["appeal_id"].as_integer().in_(wanted),
            )
        )
        return {int(i) for i in noticed if i is not None} | {int(i) for i in linked if i is not None}


async def open_appeals_fitting(
    db: Database, person_id: int, request_id: int, *, registry: RegistrySearch | None = None
) -> list[AppealFit]:
    """The open appeals whose soldier the person's saved search `request_id` fits by the matching pass's
    rule, strongest first, leaving out those the person was told of already (:func:`appeals_told`).
    Nothing (and no engine work) when no appeal is open."""
    async with db.session() as session:
        appeals = list(
            await session.scalars(select(Appeal).where(Appeal.status.in_(OPEN_APPEALS)).order_by(Appeal.id))
        )
    told = await appeals_told(db, person_id, [appeal.id for appeal in appeals])
    appeals = [appeal for appeal in appeals if appeal.id not in told]
    if not appeals:
        return []
    # Each soldier under a key of its own (two appeals may name the same registry record): -appeal id.
    readings = [replace(await soldier_as_reading(db, appeal), pk=-appeal.id) for appeal in appeals]
    fits = await searches_matching(db, readings, registry=registry, search_ids={request_id})
    by_key = {-appeal.id: appeal for appeal in appeals}
    return [
        AppealFit(by_key[fit.candidate.reading_pk], fit) for fit in fits if fit.search.person_id == person_id
    ]
