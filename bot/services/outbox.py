"""The outbox: messages the bot owes people, stored in the database and delivered by `deliver_pending`.

Whoever decides that someone must be told something (the matching pass, the heartbeat) writes an
`OutboxMessage` in the same transaction as the fact it reports, with a unique `dedup_key`, so a fact is
queued once and a crash cannot lose it. `deliver_pending` then sends:

    pending --claim--> sending --ok--> sent
                          |--403--> dropped (the person is marked inactive; their other messages dropped)
                          |--400 chat not found--> failed at once (the person inactive, as for 403)
                          |--429--> wait `retry_after`, send again (or back to pending until then)
                          |--error--> pending again after an exponential backoff; failed after MAX_ATTEMPTS

Messages of one `thread` (a case's relays: "case:<id>") go out in the order they were queued: one is not
tried while an earlier one of its thread is pending or being sent (a relay waiting out a 5xx holds the
ones written after it), and a dropped or failed one lets the next go.

Messages are claimed ONE AT A TIME, just before each is sent: one conditional UPDATE that commits before
the message is sent, so two senders (the bot's job and `amanat match` in another process) never take the
same message, and a sender that dies holds no more than the message it was sending. A claim carries the
claiming process's identity (`claimed_by`, bot.services.locks.process_identity) and a lease
(`SENDING_LEASE`, pushed forward while the sender waits out a 429). A message is marked sent right after
Telegram accepts it; only the message in flight at the instant of a crash stays "sending", and it is sent
again at once when its claimer is a dead process of this host, or when its lease runs out (a claimer on
another host): the one case of a possible double.

The outbox stores data (a kind and a JSON payload), never text. The caller of `deliver_pending` gives
the renderers (one per kind: payload and language → text and buttons, e.g. handlers/notifications.py's
`RENDERERS`) and a `Sender`; the message is rendered at delivery time, in the person's current language.
This service never imports `telegram` or the handlers: the Sender does the Bot API call and turns
Telegram's errors into `RecipientBlocked`, `RateLimited` or any other exception.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.services.faults import fault_point
from bot.services.locks import holder_is_dead, process_identity
from models import Database, OutboxMessage, OutboxState, Person
from models.base import utcnow

log = logging.getLogger(__name__)

# How long a claimed message may stay "sending" before another sender takes it as abandoned (a crash).
SENDING_LEASE = timedelta(seconds=60)
# Transient errors: retry after 30 s, 1 min, 2 min, … at most 6 h apart; give up after this many tries.
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=6)
MAX_ATTEMPTS = 8
# A 429 asking to wait at most this long is waited out on the spot; a longer one reschedules the message.
MAX_INLINE_WAIT = 60.0
MAX_INLINE_WAITS = 3
# Kinds of messages addressed to a person: dropped when the person is gone (/forget) or inactive.
PERSONAL_KINDS = frozenset({"match", "heartbeat", "appeal_match"})


class RecipientBlocked(Exception):
    """Telegram said 403: the person blocked the bot (or deleted their account)."""


class RecipientUnknown(Exception):
    """Telegram said 400 "chat not found": this chat does not exist for the bot; retrying cannot help."""


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
    # (chat id, message id) of a message to copy with `text` as its caption (a relayed photo or document;
    # the payload's "copy_of"), instead of sending `text` as a new message.
    copy_of: tuple[int, int] | None = None
    # A photo (Telegram file id) to send with `text` as its caption (the payload's "photo": an appeal's
    # photo in its first notice to a relative).
    photo: str | None = None


class Sender(Protocol):
    """Sends one message and gives its message id (None when it cannot tell); raises RecipientBlocked,
    RateLimited, or any other exception on failure."""

    async def send(self, message: Outgoing) -> int | None: ...


# Told of each message Telegram accepted, with the id of the message sent (e.g. a case's relays are
# recorded as the case's posts, so a reply to them reaches the case).
SentHook = Callable[[OutboxMessage, int | None], Awaitable[None]]


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
    thread: str | None = None,
) -> bool:
    """Queue a message in the caller's transaction; False if one with `dedup_key` was already queued."""
    return bool(
        await enqueue_many(
            session,
            [
                {
                    "chat_id": chat_id,
                    "kind": kind,
                    "dedup_key": dedup_key,
                    "payload": dict(payload),
                    "thread": thread,
                }
            ],
            now=now,
        )
    )


async def enqueue_many(
    session: AsyncSession, rows: Sequence[Mapping[str, Any]], *, now: datetime | None = None
) -> int:
    """Queue many messages (dicts of chat_id, kind, dedup_key, payload, optionally thread); returns how
    many were new."""
    if not rows:
        return 0
    when = now or utcnow()
    values = [
        {
            "thread": None,
            **row,
            "state": OutboxState.PENDING,
            "attempts": 0,
            "next_attempt_at": when,
            "created_at": when,
        }
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
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _due() -> Any:
    """Due now: pending, or "sending" whose lease ran out (its sender stopped without recording it)."""
    return or_(OutboxMessage.state == OutboxState.PENDING, OutboxMessage.state == OutboxState.SENDING)


def _first_of_thread() -> Any:
    """Not held back by its thread: no thread, or no earlier message of it still pending or sending."""
    earlier = aliased(OutboxMessage)
    return or_(
        OutboxMessage.thread.is_(None),
        ~exists(
            select(earlier.id).where(
                earlier.thread == OutboxMessage.thread,
                earlier.id < OutboxMessage.id,
                earlier.state.in_([OutboxState.PENDING, OutboxState.SENDING]),
            )
        ),
    )


async def _candidates(
    db: Database, limit: int, now: datetime, chat_id: int | None = None, thread: str | None = None
) -> list[tuple[int, str | None]]:
    """Up to `limit` messages to try now, oldest first, as (id, the dead holder whose claim is taken);
    only those to `chat_id` when it is given (the offline console delivers to its own chat only), of
    `thread` when it is given (a case's relays, sent at once by the handler that queued one).

    Read only: each is claimed on its own just before it is sent (`_claim_one`). A message "sending" for a
    process of this host that died is due at once, not when its lease runs out.
    """
    only = [OutboxMessage.chat_id == chat_id] if chat_id is not None else []
    if thread is not None:
        only.append(OutboxMessage.thread == thread)
    async with db.session() as session:
        ids = (
            await session.scalars(
                select(OutboxMessage.id)
                .where(_due(), OutboxMessage.next_attempt_at <= now, _first_of_thread(), *only)
                .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
                .limit(limit)
            )
        ).all()
        leased = (
            await session.execute(
                select(OutboxMessage.id, OutboxMessage.claimed_by).where(
                    OutboxMessage.state == OutboxState.SENDING, OutboxMessage.next_attempt_at > now, *only
                )
            )
        ).all()
    orphans = [(message_id, holder) for message_id, holder in leased if holder_is_dead(holder)]
    return orphans + [(message_id, None) for message_id in ids]


async def _claim_one(
    db: Database, message_id: int, now: datetime, dead_holder: str | None
) -> OutboxMessage | None:
    """Claim one message for this process, or None if another sender took it (or it is no longer due).

    One conditional UPDATE, committed before the message is sent: the WHERE is evaluated again on the row
    as it is when the UPDATE runs, so two senders never both take it.
    """
    condition = and_(_due(), OutboxMessage.next_attempt_at <= now)
    if dead_holder is not None:
        condition = or_(
            condition,
            and_(OutboxMessage.state == OutboxState.SENDING, OutboxMessage.claimed_by == dead_holder),
        )
    condition = and_(condition, _first_of_thread())
    async with db.session() as session:
        return (
            await session.scalars(
                update(OutboxMessage)
                .where(OutboxMessage.id == message_id, condition)
                .values(
                    state=OutboxState.SENDING,
                    attempts=OutboxMessage.attempts + 1,
                    next_attempt_at=now + SENDING_LEASE,
                    claimed_by=process_identity(),
                )
                .returning(OutboxMessage)
                .execution_options(synchronize_session=False)
            )
        ).one_or_none()


async def _extend(db: Database, message_id: int, until: datetime) -> None:
    """The lease's heartbeat: a sender that waits (Telegram's 429) keeps its claim for that long."""
    async with db.session() as session:
        await session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == message_id,
                OutboxMessage.state == OutboxState.SENDING,
                OutboxMessage.claimed_by == process_identity(),
            )
            .values(next_attempt_at=until)
        )


async def _defer(db: Database, message_ids: Sequence[int], until: datetime) -> int:
    """Flood control: pending messages that were about to be tried wait until Telegram allows sending."""
    if not message_ids:
        return 0
    async with db.session() as session:
        result = await session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id.in_(message_ids),
                OutboxMessage.state == OutboxState.PENDING,
                OutboxMessage.next_attempt_at < until,
            )
            .values(next_attempt_at=until)
        )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def _finish(db: Database, message_id: int, **values: Any) -> None:
    """Record the outcome of a claimed message (unless someone dropped it meanwhile)."""
    async with db.session() as session:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.state == OutboxState.SENDING)
            .values(claimed_by=None, **values)
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


async def deliver_pending(
    db: Database,
    sender: Sender,
    *,
    renderers: Mapping[str, Renderer],
    limit: int = 50,
    now: datetime | None = None,
    default_language: str = "ru",
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    max_inline_wait: float = MAX_INLINE_WAIT,
    chat_id: int | None = None,
    thread: str | None = None,
    on_sent: SentHook | None = None,
) -> DeliveryReport:
    """Send up to `limit` due messages (to `chat_id` only, of `thread` only, when given), oldest first,
    each rendered by its kind's renderer and sent by `sender`, and record each outcome (`on_sent` is told
    of each message sent); see the module docstring."""
    report = DeliveryReport()
    started = now or utcnow()
    candidates = await _candidates(db, limit, started, chat_id, thread)
    if not candidates:
        return report
    people: dict[int, tuple[bool, str | None]] = {}
    blocked: set[int] = set()
    for position, (message_id, dead_holder) in enumerate(candidates):
        clock = now or utcnow()
        message = await _claim_one(db, message_id, clock, dead_holder)
        if message is None:  # another sender took it, or it was dropped meanwhile
            continue
        report.claimed += 1
        fault_point("before-send")
        if message.chat_id in blocked:  # a 403 earlier in this run dropped what was owed to them
            await _finish(db, message.id, state=OutboxState.DROPPED, last_error="the person blocked the bot")
            report.dropped += 1
            continue
        if message.chat_id not in people:
            people.update(await _recipients(db, {message.chat_id}))
        person = people.get(message.chat_id)
        if message.kind in PERSONAL_KINDS and (person is None or not person[0]):
            why = "the person has gone" if person is None else "the person blocked the bot"
            await _finish(db, message.id, state=OutboxState.DROPPED, last_error=why)
            report.dropped += 1
            continue
        language = (person[1] if person is not None else None) or default_language
        render = renderers.get(message.kind)
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
        copy_of = message.payload.get("copy_of")
        outgoing = Outgoing(
            chat_id=message.chat_id,
            text=text,
            buttons=buttons,
            copy_of=(int(copy_of[0]), int(copy_of[1])) if copy_of else None,
            photo=str(message.payload["photo"]) if message.payload.get("photo") else None,
        )
        sent_id: int | None = None
        waits = 0
        resume_at: datetime | None = None  # set when Telegram asked for a pause longer than we wait inline
        while True:
            try:
                sent_id = await sender.send(outgoing)
            except RecipientBlocked as exc:
                log.info("chat %s blocked the bot; dropping what is owed to it", message.chat_id)
                blocked.add(message.chat_id)
                dropped = await mark_blocked(db, message.chat_id, now=clock, reason=f"blocked: {exc}")
                report.dropped += dropped
            except RecipientUnknown as exc:
                error = f"chat not found: {exc}"[:2000]
                log.info("chat %s does not exist for the bot; the message failed for good", message.chat_id)
                await _finish(db, message.id, state=OutboxState.FAILED, last_error=error)
                report.failed += 1
                report.errors.append(error)
                blocked.add(message.chat_id)
                report.dropped += await mark_blocked(db, message.chat_id, now=clock, reason=error)
            except RateLimited as exc:
                if exc.retry_after <= max_inline_wait and waits < MAX_INLINE_WAITS:
                    waits += 1
                    log.info("Telegram asked to wait %g s; waiting", exc.retry_after)
                    report.waited += exc.retry_after
                    await _extend(db, message.id, clock + timedelta(seconds=exc.retry_after) + SENDING_LEASE)
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
                fault_point("after-send")
                await _finish(db, message.id, state=OutboxState.SENT, sent_at=now or utcnow())
                report.sent += 1
                if on_sent is not None:
                    await on_sent(message, sent_id)
            break
        if resume_at is not None:  # flood control: the rest waits, untried, until Telegram allows sending
            rest = [other for other, _ in candidates[position + 1 :]]
            report.retried += await _defer(db, rest, resume_at)
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
