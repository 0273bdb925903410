"""The heartbeat: "we keep looking", with how many new readings were checked for each active search.

:func:`queue_heartbeats` queues one message per person whose searches' last heartbeat is
`matching.heartbeat_days` old (the outbox delivers it, rendered in the person's language by the handlers
layer); the searches' counters (`checked_readings`, grown by every matching pass) are reset in the same
transaction, so a crash can neither lose a heartbeat nor count a reading twice.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select, update

from bot.config import Settings
from bot.services.outbox import enqueue_many
from bot.services.saved_searches import search_summary
from models import Database, Person, RequestStatus, SearchRequest
from models.base import utcnow

__all__ = ["queue_heartbeats"]


def _aware(value: datetime) -> datetime:
    """SQLite hands datetimes back without a zone; every stored datetime is UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


async def queue_heartbeats(db: Database, settings: Settings, *, now: datetime | None = None) -> int:
    """Queue a heartbeat for each person with active searches whose last one is `heartbeat_days` old.

    The counters of the searches it reports are reset in the same transaction, so a crash can neither
    lose a heartbeat nor count a reading twice. Returns how many messages were queued. 0 days = off.
    """
    days = settings.matching.heartbeat_days
    if days <= 0:
        return 0
    clock = now or utcnow()
    due_before = clock - timedelta(days=days)
    queued = 0
    async with db.session() as session:
        requests = (
            await session.scalars(
                select(SearchRequest)
                .join(Person, Person.id == SearchRequest.person_id)
                .where(
                    SearchRequest.status == RequestStatus.ACTIVE,
                    Person.active.is_(True),
                    or_(
                        SearchRequest.last_heartbeat_at <= due_before,
                        SearchRequest.last_heartbeat_at.is_(None) & (SearchRequest.created_at <= due_before),
                    ),
                )
                .order_by(SearchRequest.person_id, SearchRequest.id)
            )
        ).all()
        per_person: dict[int, list[SearchRequest]] = defaultdict(list)
        for request in requests:
            per_person[request.person_id].append(request)
        messages = []
        for person_id, own in per_person.items():
            since = min(_aware(r.last_heartbeat_at or r.created_at) for r in own)
            messages.append(
                {
                    "chat_id": person_id,
                    "kind": "heartbeat",
                    "dedup_key": f"heartbeat:{person_id}:{clock:%Y-%m-%dT%H:%M}",
                    "payload": {
                        "since": since.date().isoformat(),
                        "checked": max(r.checked_readings for r in own),
                        "searches": [[search_summary(r), r.checked_readings] for r in own],
                    },
                }
            )
        queued = await enqueue_many(session, messages, now=clock)
        if requests:
            await session.execute(
                update(SearchRequest)
                .where(SearchRequest.id.in_([r.id for r in requests]))
                .values(checked_readings=0, last_heartbeat_at=clock)
            )
    return queued
