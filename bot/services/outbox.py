"""The outbox: messages the bot owes people, stored in the database and delivered by `deliver_pending`.

Whoever decides that someone must be told something (the matching pass, the heartbeat) writes an
`OutboxMessage` in the same transaction as the fact it reports, with a unique `dedup_key`, so a fact is
queued once and a crash cannot lose it. `deliver_pending` then sends:

    pending --claim--> sending --ok--> sent
                          |--403--> dropped (the person is marked inactive; their other messages dropped)
                          |--429--> wait `retry_after`, send again (or back to pending until then)
                          |--error--> pending again after an exponential backoff; failed after MAX_ATTEMPTS

Claiming is one conditional UPDATE that commits before anything is sent, so two senders (the bot's job
and `amanat match` in another process) never take the same message. A message is marked sent right after
Telegram accepts it; only a message in flight at the instant of a crash stays "sending", and it is sent
again once its lease (`SENDING_LEASE`) runs out: the one case of a possible double.

Rendering happens at delivery time, in the person's current language, through the translation catalogs;
the service never imports `telegram`: a `Sender` (handlers/notifications.py) does the Bot API call and
turns Telegram's errors into `RecipientBlocked`, `RateLimited` or any other exception.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from models import Database, OutboxMessage, OutboxState, Person
from models.base import utcnow

log = logging.getLogger(__name__)

# How long a claimed message may stay "sending" before another sender takes it as abandoned (a crash).
SENDING_LEASE = timedelta(minutes=5)
# Transient errors: retry after 30 s, 1 min, 2 min, … at most 6 h apart; give up after this many tries.
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=6)
MAX_ATTEMPTS = 8
# A 429 asking to wait at most this long is waited out on the spot; a longer one reschedules the message.
MAX_INLINE_WAIT = 60.0
MAX_INLINE_WAITS = 3
# Kinds of messages addressed to a person: dropped when the person is gone (/forget) or inactive.
PERSONAL_KINDS = frozenset({"match", "heartbeat"})


class RecipientBlocked(Exception):
    """Telegram said 403: the person blocked the bot (or deleted their account)."""


class RateLimited(Exception):
    """Telegram said 429: wait `retry_after` seconds before sending again."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"rate limited: retry after {retry_after:g} s")
        self.retry_after = retry_after


@dataclass(frozen=True)
class Button:
    """An inline button: a caption and the callback data the bot's handlers understand."""

    text: str
    callback_data: str


@dataclass(frozen=True)
class Outgoing:
    """A rendered message, ready for the Bot API: HTML text and rows of inline buttons."""

    chat_id: int
    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()


class Sender(Protocol):
    """Sends one message; raises RecipientBlocked, RateLimited, or any other exception on failure."""

    async def send(self, message: Outgoing) -> None: ...


# A renderer turns a stored payload into the message text and buttons, in one language.
Renderer = Callable[[Mapping[str, Any], str], tuple[str, tuple[tuple[Button, ...], ...]]]


@dataclass
class DeliveryReport:
    """What one `deliver_pending` call did."""

    claimed: int = 0
    sent: int = 0
    dropped: int = 0
    retried: int = 0
    failed: int = 0
    waited: float = 0.0
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return f"{self.sent} sent, {self.retried} to retry, {self.failed} failed, {self.dropped} dropped" + (
            f", waited {self.waited:g} s for Telegram's rate limit" if self.waited else ""
        )


def backoff(attempts: int) -> timedelta:
    """The delay before the next try after `attempts` failed tries (30 s, 1 min, 2 min, … ≤ 6 h)."""
    delay = BACKOFF_BASE * (2 ** max(attempts - 1, 0))
    return min(delay, BACKOFF_CAP)


async def enqueue(
    session: AsyncSession,
    *,
    chat_id: int,
    kind: str,
    dedup_key: str,
    payload: Mapping[str, Any],
    now: datetime | None = None,
) -> bool:
    """Queue a message in the caller's transaction; False if one with `dedup_key` was already queued."""
    return bool(
        await enqueue_many(
            session,
            [{"chat_id": chat_id, "kind": kind, "dedup_key": dedup_key, "payload": dict(payload)}],
            now=now,
        )
    )


async def enqueue_many(
    session: AsyncSession, rows: Sequence[Mapping[str, Any]], *, now: datetime | None = None
) -> int:
    """Queue many messages (dicts of chat_id, kind, dedup_key, payload); returns how many were new."""
    if not rows:
        return 0
    when = now or utcnow()
    values = [
        {**row, "state": OutboxState.PENDING, "attempts": 0, "next_attempt_at": when, "created_at": when}
        for row in rows
    ]
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert(OutboxMessage)
        .on_conflict_do_nothing(index_elements=[OutboxMessage.dedup_key])
        .returning(OutboxMessage.id)
    )
    result = await session.execute(statement, values)
    return len(result.all())


def _aware(value: datetime) -> datetime:
    """SQLite hands datetimes back without a zone; every stored datetime is UTC."""
    from datetime import UTC

    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


async def _claim(db: Database, limit: int, now: datetime) -> list[OutboxMessage]:
    """Take up to `limit` due messages (pending, or "sending" whose lease ran out) for this sender."""
    due = or_(OutboxMessage.state == OutboxState.PENDING, OutboxMessage.state == OutboxState.SENDING)
    async with db.session() as session:
        ids = (
            await session.scalars(
                select(OutboxMessage.id)
                .where(due, OutboxMessage.next_attempt_at <= now)
                .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
                .limit(limit)
            )
        ).all()
        if not ids:
            return []
        # The WHERE is evaluated again on the row as it is when the UPDATE runs, so a row another sender
        # claimed in the meantime (its lease now lies in the future) is not taken twice.
        claimed = (
            await session.scalars(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(ids), due, OutboxMessage.next_attempt_at <= now)
                .values(
                    state=OutboxState.SENDING,
                    attempts=OutboxMessage.attempts + 1,
                    next_attempt_at=now + SENDING_LEASE,
                )
                .returning(OutboxMessage)
                .execution_options(synchronize_session=False)
            )
        ).all()
    return sorted(claimed, key=lambda message: (message.next_attempt_at, message.id))


async def _finish(db: Database, message_id: int, **values: Any) -> None:
    """Record the outcome of a claimed message (unless someone dropped it meanwhile)."""
    async with db.session() as session:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.state == OutboxState.SENDING)
            .values(**values)
        )


async def mark_blocked(db: Database, chat_id: int, *, now: datetime | None = None, reason: str = "") -> int:
    """The person blocked the bot: mark them inactive and drop everything still owed to them."""
    when = now or utcnow()
    async with db.session() as session:
        await session.execute(
            update(Person).where(Person.id == chat_id).values(active=False, blocked_at=when)
        )
        result = await session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.chat_id == chat_id,
                OutboxMessage.state.in_([OutboxState.PENDING, OutboxState.SENDING]),
            )
            .values(state=OutboxState.DROPPED, last_error=reason or "blocked by the user")
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def _recipients(db: Database, chat_ids: set[int]) -> dict[int, tuple[bool, str | None]]:
    async with db.session() as session:
        rows = await session.execute(
            select(Person.id, Person.active, Person.language).where(Person.id.in_(chat_ids))
        )
        return {person_id: (active, language) for person_id, active, language in rows}


def _renderers() -> dict[str, Renderer]:
    from bot.services.matching import render_heartbeat, render_match

    return {"match": render_match, "heartbeat": render_heartbeat}


async def deliver_pending(
    db: Database,
    sender: Sender,
    *,
    limit: int = 50,
    now: datetime | None = None,
    default_language: str = "ru",
    renderers: Mapping[str, Renderer] | None = None,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    max_inline_wait: float = MAX_INLINE_WAIT,
) -> DeliveryReport:
    """Send up to `limit` due messages, oldest first, and record each outcome; see the module docstring."""
    report = DeliveryReport()
    started = now or utcnow()
    claimed = await _claim(db, limit, started)
    report.claimed = len(claimed)
    if not claimed:
        return report
    render_by_kind = dict(renderers) if renderers is not None else _renderers()
    people = await _recipients(db, {message.chat_id for message in claimed})
    blocked: set[int] = set()
    resume_at: datetime | None = None  # set when Telegram asked for a pause longer than we wait inline
    for message in claimed:
        clock = now or utcnow()
        if resume_at is not None:  # flood control: give the rest back for later, untried
            await _finish(
                db,
                message.id,
                state=OutboxState.PENDING,
                attempts=message.attempts - 1,
                next_attempt_at=resume_at,
            )
            report.retried += 1
            continue
        if message.chat_id in blocked:  # dropped with the rest of what was owed to them
            continue
        person = people.get(message.chat_id)
        if message.kind in PERSONAL_KINDS and (person is None or not person[0]):
            why = "the person has gone" if person is None else "the person blocked the bot"
            await _finish(db, message.id, state=OutboxState.DROPPED, last_error=why)
            report.dropped += 1
            continue
        language = (person[1] if person is not None else None) or default_language
        render = render_by_kind.get(message.kind)
        if render is None:
            error = f"no renderer for message kind {message.kind!r}"
            log.error("outbox message %s: %s", message.id, error)
            await _finish(db, message.id, state=OutboxState.FAILED, last_error=error)
            report.failed += 1
            report.errors.append(error)
            continue
        try:
            text, buttons = render(message.payload, language)
        except Exception as exc:  # a payload the renderer cannot use will not get better by retrying
            error = f"cannot render: {type(exc).__name__}: {exc}"
            log.exception("outbox message %s: %s", message.id, error)
            await _finish(db, message.id, state=OutboxState.FAILED, last_error=error[:2000])
            report.failed += 1
            report.errors.append(error)
            continue
        outgoing = Outgoing(chat_id=message.chat_id, text=text, buttons=buttons)
        waits = 0
        while True:
            try:
                await sender.send(outgoing)
            except RecipientBlocked as exc:
                log.info("chat %s blocked the bot; dropping what is owed to it", message.chat_id)
                blocked.add(message.chat_id)
                dropped = await mark_blocked(db, message.chat_id, now=clock, reason=f"blocked: {exc}")
                report.dropped += dropped
            except RateLimited as exc:
                if exc.retry_after <= max_inline_wait and waits < MAX_INLINE_WAITS:
                    waits += 1
                    log.info("Telegram asked to wait %g s; waiting", exc.retry_after)
                    report.waited += exc.retry_after
                    await sleep(exc.retry_after)
                    continue
                resume_at = clock + timedelta(seconds=exc.retry_after)
                log.warning("Telegram asked to wait %g s; sending resumes at %s", exc.retry_after, resume_at)
                await _finish(
                    db,
                    message.id,
                    state=OutboxState.PENDING,
                    attempts=message.attempts - 1,
                    next_attempt_at=resume_at,
                    last_error=str(exc),
                )
                report.retried += 1
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"[:2000]
                report.errors.append(error)
                if message.attempts >= MAX_ATTEMPTS:
                    log.error(
                        "outbox message %s to chat %s failed for good after %s tries: %s",
                        message.id,
                        message.chat_id,
                        message.attempts,
                        error,
                    )
                    await _finish(db, message.id, state=OutboxState.FAILED, last_error=error)
                    report.failed += 1
                else:
                    retry_at = clock + backoff(message.attempts)
                    log.warning(
                        "outbox message %s to chat %s failed (try %s of %s), retrying at %s: %s",
                        message.id,
                        message.chat_id,
                        message.attempts,
                        MAX_ATTEMPTS,
                        retry_at,
                        error,
                    )
                    await _finish(
                        db, message.id, state=OutboxState.PENDING, next_attempt_at=retry_at, last_error=error
                    )
                    report.retried += 1
            else:
                await _finish(db, message.id, state=OutboxState.SENT, sent_at=now or utcnow())
                report.sent += 1
            break
    return report


@dataclass(frozen=True)
class OutboxStats:
    """Delivery state for admins (`/stats`): counts per state and the latest errors."""

    by_state: dict[str, int]
    due_now: int
    last_errors: list[tuple[int, str, str, int, datetime]]  # (message id, kind, error, attempts, when)


async def outbox_stats(db: Database, *, errors: int = 5, now: datetime | None = None) -> OutboxStats:
    """How many messages are in each state, how many are due, and the latest recorded errors."""
    when = now or utcnow()
    async with db.session() as session:
        counts = {
            str(state): int(count)
            for state, count in await session.execute(
                select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)
            )
        }
        due = int(
            await session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.state == OutboxState.PENDING, OutboxMessage.next_attempt_at <= when)
            )
            or 0
        )
        rows = await session.execute(
            select(
                OutboxMessage.id,
                OutboxMessage.kind,
                OutboxMessage.last_error,
                OutboxMessage.attempts,
                OutboxMessage.next_attempt_at,
            )
            .where(
                OutboxMessage.last_error.is_not(None),
                OutboxMessage.state.in_([OutboxState.PENDING, OutboxState.FAILED]),
            )
            .order_by(OutboxMessage.id.desc())
            .limit(errors)
        )
        last = [(i, kind, error or "", attempts, _aware(at)) for i, kind, error, attempts, at in rows]
    return OutboxStats(by_state=counts, due_now=due, last_errors=last)
