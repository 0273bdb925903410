"""Matching relatives are told first: an appeal's soldier run through the engine in reverse.

Before an appeal's broadcast starts (:func:`start_appeal`), the soldier — the registry record the appeal
names, or the man as typed — is matched against every active saved search with the matching pass's own
engine and rule (bot.services.matching.searches_matching). Each relative whose search fits is told in a
notification with the reasons, strongest first, queued in the outbox (kind ``appeal_match``, one per
appeal and search, so a second start queues nothing twice); they get that notification instead of the
plain appeal. The broadcaster starts the appeal only when every such notification has been delivered
(or given up), so the relatives who may be the family hear first (bot.services.broadcast.relatives_still_waiting).
"""

from __future__ import annotations

from sqlalchemy import select

from bot.search import derive
from bot.services.broadcast import FIRST_NOTICE, AppealError, Soldier, first_notice_prefix, send_appeal
from bot.services.matching import NewReading, SearchFit, searches_matching
from bot.services.outbox import enqueue_many
from bot.services.registry_search import RegistrySearch, record_of_reading
from models import Appeal, AppealStatus, Database, Reading, ReadingKey


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


async def tell_matching_relatives(
    db: Database, appeal: Appeal, *, registry: RegistrySearch | None = None
) -> list[SearchFit]:
    """Queue a notification to every relative whose saved search the soldier fits; the fits, strongest
    first."""
    fits = await searches_matching(db, await soldier_as_reading(db, appeal), registry=registry)
    rows = [
        {
            "chat_id": fit.search.person_id,
            "kind": FIRST_NOTICE,
            "dedup_key": f"{first_notice_prefix(appeal.id)}{fit.search.id}",
            "payload": {
                "appeal_id": appeal.id,
                "request_id": fit.search.id,
                "request": fit.summary,
                "soldier": dict(appeal.soldier or {}),
                "text": appeal.text,
                "strong": fit.candidate.strong,
                "score": round(fit.candidate.score, 1),
                "reasons": fit.candidate.reasons,
            },
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
