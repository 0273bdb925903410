"""Volunteer cases, the use cases: open, claim (exactly one volunteer wins), relay messages, release,
close, reopen, and who is a volunteer. No Telegram here: the handlers render and send.

Every status change goes through :func:`_move`, a conditional ``UPDATE … WHERE id = :id AND status =
:from`` in the same transaction as its :class:`~models.CaseEvent` row, so two volunteers (or two bot
processes) acting on the same case at the same instant cannot both succeed, and no change goes
unrecorded. Functions return a :class:`Change` (what happened) or a :class:`Refusal` (why nothing did).
"""

from __future__ import annotations

import enum
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, update
from sqlalchemy import case as when_then
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import RolesConfig
from bot.services.outbox import enqueue
from models import (
    Case,
    CaseEvent,
    CaseMessage,
    CasePost,
    CaseStatus,
    Database,
    OutboxMessage,
    OutboxState,
    Person,
    Role,
)
from models.base import utcnow

OPEN_STATUSES: tuple[CaseStatus, ...] = (CaseStatus.NEW, CaseStatus.CLAIMED, CaseStatus.ANSWERED)


class Refusal(enum.StrEnum):
    """Why an action on a case did nothing."""

    NOT_FOUND = "not_found"  # no such case (a forged id, or an erased one)
    TAKEN = "taken"  # claimed by someone else, or no longer in the status the action needs
    NOT_YOURS = "not_yours"  # only the claimer may do this
    CLOSED = "closed"


class Author(enum.StrEnum):
    RELATIVE = "relative"
    VOLUNTEER = "volunteer"
    SYSTEM = "system"


@dataclass(frozen=True)
class CaseView:
    """A case as handlers show it (the relative's first name only: never their username or id)."""

    id: int
    person_id: int
    status: CaseStatus
    volunteer_id: int | None
    search: dict[str, Any]
    results: list[Any]
    source: str
    created_at: datetime
    waiting_since: datetime | None
    relative_name: str | None
    relative_language: str | None
    relative_active: bool
    volunteer_name: str | None

    @property
    def open(self) -> bool:
        return self.status != CaseStatus.CLOSED


@dataclass(frozen=True)
class MessageView:
    author: Author
    kind: str
    text: str
    file_id: str | None
    created_at: datetime


@dataclass(frozen=True)
class PostView:
    chat_id: int
    message_id: int
    kind: str


@dataclass(frozen=True)
class EventView:
    actor: str
    actor_id: int | None
    from_status: str | None
    to_status: str
    note: str | None
    at: datetime


@dataclass(frozen=True)
class Change:
    """What an action did: the case after it, and the status before (None: it did not change)."""

    case: CaseView
    before: CaseStatus | None = None

    @property
    def moved(self) -> bool:
        return self.before is not None and self.before != self.case.status


def aware(value: datetime) -> datetime:
    """SQLite gives naive datetimes back; every stored time is UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=utcnow().tzinfo)


async def _view(session: Any, case: Case) -> CaseView:
    relative = await session.get(Person, case.person_id)
    volunteer = await session.get(Person, case.volunteer_id) if case.volunteer_id is not None else None
    return CaseView(
        id=case.id,
        person_id=case.person_id,
        status=CaseStatus(case.status),
        volunteer_id=case.volunteer_id,
        search=dict(case.search or {}),
        results=list(case.results or []),
        source=case.source,
        created_at=aware(case.created_at),
        waiting_since=aware(case.waiting_since) if case.waiting_since is not None else None,
        relative_name=relative.first_name if relative is not None else None,
        relative_language=relative.language if relative is not None else None,
        relative_active=relative.active if relative is not None else False,
        volunteer_name=volunteer.first_name if volunteer is not None else None,
    )


async def _moved(session: Any, case_id: int, before: CaseStatus, moved: bool) -> Change | Refusal:
    """The case as a move left it, or TAKEN when another change came first (the move found it changed)."""
    if not moved:
        return Refusal.TAKEN
    case = await _load(session, case_id)
    assert case is not None
    return Change(await _view(session, case), before)


async def _move(
    session: Any,
    case_id: int,
    before: CaseStatus,
    after: CaseStatus,
    *,
    actor: Author,
    actor_id: int | None,
    note: str | None = None,
    where: Any = None,
    **values: Any,
) -> bool:
    """Change the status if it still is ``before`` (and ``where`` holds); record the event. Atomic."""
    condition = and_(Case.id == case_id, Case.status == before)
    if where is not None:
        condition = and_(condition, where)
    result = await session.execute(
        update(Case)
        .where(condition)
        .values(status=after, **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    session.add(
        CaseEvent(
            case_id=case_id,
            actor=actor.value,
            actor_id=actor_id,
            from_status=before.value,
            to_status=after.value,
            note=note,
            at=utcnow(),
        )
    )
    return True


async def _load(session: Any, case_id: int) -> Case | None:
    case: Case | None = await session.get(Case, case_id, populate_existing=True)
    return case


# ------------------------------------------------------------------------------------- volunteers


async def is_volunteer(db: Database, roles: RolesConfig, user_id: int) -> bool:
    """A volunteer (or an admin) by the configuration or by a role granted in the database."""
    if user_id in roles.volunteers or user_id in roles.admins:
        return True
    async with db.session() as session:
        person = await session.get(Person, user_id)
        return person is not None and person.role in (Role.VOLUNTEER, Role.ADMIN)


async def volunteer_ids(db: Database, roles: RolesConfig) -> list[int]:
    """Everyone who gets cases privately when there is no volunteers' group (admins only by role)."""
    async with db.session() as session:
        granted = (
            (await session.execute(select(Person.id).where(Person.role == Role.VOLUNTEER, Person.active)))
            .scalars()
            .all()
        )
    return sorted({*roles.volunteers, *granted})


async def note_volunteer(db: Database, user_id: int, first_name: str | None, language: str | None) -> None:
    """Keep a volunteer's first name (shown to other volunteers) and language; creates their row."""
    async with db.session() as session:
        person = await session.get(Person, user_id)
        if person is None:
            person = Person(id=user_id, role=Role.VOLUNTEER, created_at=utcnow())
            session.add(person)
        elif person.role == Role.RELATIVE:
            person.role = Role.VOLUNTEER
        person.first_name = first_name
        if language and not person.language:
            person.language = language
        person.last_seen_at = utcnow()
        person.active = True


async def language_of(db: Database, person_id: int) -> str | None:
    async with db.session() as session:
        person = await session.get(Person, person_id)
        return person.language if person is not None else None


# ------------------------------------------------------------------------------------- reading


async def get_case(db: Database, case_id: int) -> CaseView | None:
    async with db.session() as session:
        case = await session.get(Case, case_id)
        return await _view(session, case) if case is not None else None


async def case_messages(db: Database, case_id: int, *, last: int = 20) -> list[MessageView]:
    """The last ``last`` messages of a case, oldest first."""
    async with db.session() as session:
        rows = (
            (
                await session.execute(
                    select(CaseMessage)
                    .where(CaseMessage.case_id == case_id)
                    .order_by(CaseMessage.id.desc())
                    .limit(last)
                )
            )
            .scalars()
            .all()
        )
    return [
        MessageView(Author(row.author), row.kind, row.text, row.file_id, aware(row.created_at))
        for row in reversed(rows)
    ]


async def case_events(db: Database, case_id: int) -> list[EventView]:
    async with db.session() as session:
        rows = (
            (
                await session.execute(
                    select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)
                )
            )
            .scalars()
            .all()
        )
    return [EventView(r.actor, r.actor_id, r.from_status, r.to_status, r.note, aware(r.at)) for r in rows]


async def posts_of(db: Database, case_id: int, kinds: Iterable[str]) -> list[PostView]:
    async with db.session() as session:
        rows = (
            (
                await session.execute(
                    select(CasePost)
                    .where(CasePost.case_id == case_id, CasePost.kind.in_(list(kinds)))
                    .order_by(CasePost.id)
                )
            )
            .scalars()
            .all()
        )
    return [PostView(r.chat_id, r.message_id, r.kind) for r in rows]


async def case_of_post(db: Database, chat_id: int, message_id: int) -> int | None:
    """The case a bot message in this chat was about (a reply to it belongs to that case)."""
    async with db.session() as session:
        found: int | None = (
            await session.execute(
                select(CasePost.case_id).where(CasePost.chat_id == chat_id, CasePost.message_id == message_id)
            )
        ).scalar_one_or_none()
        return found


async def record_post(db: Database, case_id: int, chat_id: int, message_id: int, kind: str) -> None:
    async with db.session() as session:
        exists = (
            await session.execute(
                select(CasePost.id).where(CasePost.chat_id == chat_id, CasePost.message_id == message_id)
            )
        ).scalar_one_or_none()
        if exists is None and await session.get(Case, case_id) is not None:
            session.add(CasePost(case_id=case_id, chat_id=chat_id, message_id=message_id, kind=kind))


# ------------------------------------------------------------------------------------- relays
#
# A message in a case, from the relative to the claimer or back, goes through the outbox (kind RELAY, in
# the thread "case:<id>"): Telegram refusing it for a moment (5xx, a network error, 429) retries it with
# the outbox's back-off instead of losing it, and a case's relays arrive in the order they were written.
# The payload is data (the text, whether it copies a photo or a document, who it goes to); the words
# around it are made at send time in the recipient's language (handlers/case_views.py `render_relay`).

RELAY = "relay"


def relay_thread(case_id: int) -> str:
    return f"case:{case_id}"


async def queue_relay(
    db: Database, case_id: int, chat_id: int, payload: dict[str, Any], key: str
) -> tuple[int, bool]:
    """Queue a relay to ``chat_id``; ``key`` names its source once (the author's Telegram message), so a
    message handled twice is relayed once. (its outbox id, whether it was new)."""
    dedup_key = f"relay:{case_id}:{key}"[:128]
    async with db.session() as session:
        new = await enqueue(
            session,
            chat_id=chat_id,
            kind=RELAY,
            dedup_key=dedup_key,
            payload={**payload, "case_id": case_id},
            thread=relay_thread(case_id),
        )
        outbox_id = await session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedup_key == dedup_key))
    assert outbox_id is not None
    return int(outbox_id), new


async def relay_state(db: Database, outbox_id: int) -> OutboxState:
    """Where a queued relay is: sent, pending (Telegram refused it for now: retried), dropped or failed."""
    async with db.session() as session:
        state = await session.scalar(select(OutboxMessage.state).where(OutboxMessage.id == outbox_id))
    return OutboxState(state) if state is not None else OutboxState.DROPPED


async def relay_sent(db: Database, message: OutboxMessage, sent_id: int | None) -> None:
    """The outbox sent a message: a relay's copy is recorded as the case's post (a reply to it reaches the
    case, and /forget erases it)."""
    if message.kind == RELAY and sent_id is not None:
        await record_post(db, int(message.payload["case_id"]), message.chat_id, sent_id, "relay")


async def forget_posts(db: Database, case_id: int, kinds: Iterable[str], chat_id: int | None = None) -> None:
    async with db.session() as session:
        condition = and_(CasePost.case_id == case_id, CasePost.kind.in_(list(kinds)))
        if chat_id is not None:
            condition = and_(condition, CasePost.chat_id == chat_id)
        await session.execute(delete(CasePost).where(condition))


async def typical_wait(db: Database, *, sample: int = 50) -> timedelta | None:
    """The median time the last ``sample`` claimed cases waited to be claimed (None: no history yet)."""
    async with db.session() as session:
        rows = (
            await session.execute(
                select(Case.created_at, Case.claimed_at)
                .where(Case.claimed_at.is_not(None))
                .order_by(Case.claimed_at.desc())
                .limit(sample)
            )
        ).all()
    waits = [(aware(claimed) - aware(created)).total_seconds() for created, claimed in rows if claimed]
    return timedelta(seconds=statistics.median(waits)) if waits else None


# ------------------------------------------------------------------------------------- actions


async def open_case(
    db: Database,
    person_id: int,
    *,
    text: str,
    search: dict[str, Any],
    results: Sequence[Any] = (),
    source: str = "ask",
    summary: str = "",
    kind: str = "text",
    file_id: str | None = None,
    request_id: int | None = None,
    reading_pk: int | None = None,
) -> CaseView:
    """Open a case (status new) with the relative's first message; recorded as the event None → new."""
    now = utcnow()
    async with db.session() as session:
        case = Case(
            person_id=person_id,
            status=CaseStatus.NEW,
            search=dict(search),
            results=list(results),
            source=source,
            summary=summary,
            request_id=request_id,
            reading_pk=reading_pk,
            created_at=now,
            waiting_since=now,
        )
        session.add(case)
        await session.flush()
        session.add(
            CaseMessage(
                case_id=case.id,
                author=Author.RELATIVE.value,
                author_id=person_id,
                text=text,
                kind=kind,
                file_id=file_id,
                created_at=now,
            )
        )
        session.add(
            CaseEvent(
                case_id=case.id,
                actor=Author.RELATIVE.value,
                actor_id=person_id,
                from_status=None,
                to_status=CaseStatus.NEW.value,
                at=now,
            )
        )
        await session.flush()
        return await _view(session, case)


async def claim(db: Database, case_id: int, volunteer_id: int) -> Change | Refusal:
    """Take a new case. Exactly one of any number of simultaneous claims wins."""
    now = utcnow()
    async with db.session() as session:
        won = await _move(
            session,
            case_id,
            CaseStatus.NEW,
            CaseStatus.CLAIMED,
            actor=Author.VOLUNTEER,
            actor_id=volunteer_id,
            volunteer_id=volunteer_id,
            claimed_at=now,
            waiting_since=now,
            reminded_at=None,
        )
        case = await _load(session, case_id)
        if case is None:
            return Refusal.NOT_FOUND
        if not won:
            return Refusal.TAKEN
        return Change(await _view(session, case), CaseStatus.NEW)


async def release(db: Database, case_id: int, volunteer_id: int) -> Change | Refusal:
    """The claimer gives the case back: it is new again, for anyone to claim."""
    async with db.session() as session:
        case = await _load(session, case_id)
        if case is None:
            return Refusal.NOT_FOUND
        before = CaseStatus(case.status)
        if before not in (CaseStatus.CLAIMED, CaseStatus.ANSWERED):
            return Refusal.CLOSED if before == CaseStatus.CLOSED else Refusal.TAKEN
        if case.volunteer_id != volunteer_id:
            return Refusal.NOT_YOURS
        moved = await _move(
            session,
            case_id,
            before,
            CaseStatus.NEW,
            actor=Author.VOLUNTEER,
            actor_id=volunteer_id,
            where=Case.volunteer_id == volunteer_id,
            volunteer_id=None,
            claimed_at=None,
            waiting_since=utcnow(),
            reminded_at=None,
        )
        return await _moved(session, case_id, before, moved)


async def close(
    db: Database,
    case_id: int,
    volunteer_id: int,
    note: str | None = None,
    *,
    actor: Author = Author.VOLUNTEER,
) -> Change | Refusal:
    """Close a case: its claimer may, and any volunteer may close an unclaimed one (e.g. not a request)."""
    async with db.session() as session:
        case = await _load(session, case_id)
        if case is None:
            return Refusal.NOT_FOUND
        before = CaseStatus(case.status)
        if before == CaseStatus.CLOSED:
            return Refusal.CLOSED
        if before != CaseStatus.NEW and case.volunteer_id != volunteer_id:
            return Refusal.NOT_YOURS
        moved = await _move(
            session,
            case_id,
            before,
            CaseStatus.CLOSED,
            actor=actor,
            actor_id=volunteer_id,
            note=note,
            closed_at=utcnow(),
            waiting_since=None,
        )
        return await _moved(session, case_id, before, moved)


async def add_message(
    db: Database,
    case_id: int,
    author: Author,
    author_id: int,
    text: str,
    *,
    kind: str = "text",
    file_id: str | None = None,
) -> Change | Refusal:
    """A message in a case, and the status change it makes.

    A volunteer's message needs the case to be theirs (claimed or answered) and makes it answered. A
    relative's message to an answered case puts it back with the volunteer (claimed, waiting again);
    to a closed case it reopens it: back to its claimer, or new when nobody had claimed it.
    """
    now = utcnow()
    async with db.session() as session:
        case = await _load(session, case_id)
        if case is None:
            return Refusal.NOT_FOUND
        before = CaseStatus(case.status)
        after = before
        values: dict[str, Any] = {}
        if author == Author.VOLUNTEER:
            if case.volunteer_id != author_id:
                return Refusal.NOT_YOURS
            if before == CaseStatus.CLOSED:
                return Refusal.CLOSED
            if before == CaseStatus.CLAIMED:
                after, values = CaseStatus.ANSWERED, {"waiting_since": None, "reminded_at": None}
        elif before == CaseStatus.ANSWERED:
            after, values = CaseStatus.CLAIMED, {"waiting_since": now, "reminded_at": None}
        elif before == CaseStatus.CLOSED:
            after = CaseStatus.CLAIMED if case.volunteer_id is not None else CaseStatus.NEW
            values = {"waiting_since": now, "reminded_at": None, "closed_at": None}
        if after != before and not await _move(
            session, case_id, before, after, actor=author, actor_id=author_id, **values
        ):
            return Refusal.TAKEN
        session.add(
            CaseMessage(
                case_id=case_id,
                author=author.value,
                author_id=author_id,
                text=text,
                kind=kind,
                file_id=file_id,
                created_at=now,
            )
        )
        await session.flush()
        case = await _load(session, case_id)
        assert case is not None
        return Change(await _view(session, case), before if after != before else None)


async def withdraw(db: Database, person_id: int) -> list[CaseView]:
    """A relative erases their data: close their open cases (recorded), erase their messages, clear
    their id from the trail. Returns the cases as they were, so their claimers can be told."""
    withdrawn: list[CaseView] = []
    async with db.session() as session:
        cases = (
            (
                await session.execute(
                    select(Case).where(Case.person_id == person_id, Case.status.in_(list(OPEN_STATUSES)))
                )
            )
            .scalars()
            .all()
        )
        for case in cases:
            withdrawn.append(await _view(session, case))
            await _move(
                session,
                case.id,
                CaseStatus(case.status),
                CaseStatus.CLOSED,
                actor=Author.RELATIVE,
                actor_id=None,
                note="withdrawn",
                closed_at=utcnow(),
                waiting_since=None,
            )
        ids = select(Case.id).where(Case.person_id == person_id).scalar_subquery()
        await session.execute(
            delete(CaseMessage).where(
                CaseMessage.case_id.in_(ids), CaseMessage.author == Author.RELATIVE.value
            )
        )
        await session.execute(
            update(CaseEvent)
            .where(CaseEvent.actor == Author.RELATIVE.value, CaseEvent.actor_id == person_id)
            .values(actor_id=None)
        )
    return withdrawn


async def open_cases_of(db: Database, person_id: int) -> list[CaseView]:
    """A relative's open cases."""
    async with db.session() as session:
        rows = (
            (
                await session.execute(
                    select(Case).where(Case.person_id == person_id, Case.status.in_(list(OPEN_STATUSES)))
                )
            )
            .scalars()
            .all()
        )
        return [await _view(session, case) for case in rows]


async def relative_blocked(db: Database, person_id: int) -> None:
    """Telegram said the relative blocked the bot: no more messages are tried."""
    async with db.session() as session:
        await session.execute(
            update(Person).where(Person.id == person_id).values(active=False, blocked_at=utcnow())
        )


# ------------------------------------------------------------------------------------- lists


async def list_cases(
    db: Database, volunteer_id: int, *, offset: int = 0, limit: int = 5
) -> tuple[list[CaseView], int]:
    """The volunteer's own open cases, then the unclaimed ones, longest waiting first; and how many."""
    condition = or_(
        Case.status == CaseStatus.NEW,
        and_(Case.volunteer_id == volunteer_id, Case.status.in_([CaseStatus.CLAIMED, CaseStatus.ANSWERED])),
    )
    async with db.session() as session:
        total = len((await session.execute(select(Case.id).where(condition))).all())
        rows = (
            (
                await session.execute(
                    select(Case)
                    .where(condition)
                    .order_by(
                        when_then((Case.volunteer_id == volunteer_id, 0), else_=1),
                        Case.waiting_since.is_(None),
                        Case.waiting_since,
                        Case.id,
                    )
                    .offset(offset)
                    .limit(limit)
                )
            )
            .scalars()
            .all()
        )
        return [await _view(session, case) for case in rows], total


@dataclass(frozen=True)
class Reminder:
    case: CaseView
    kind: str  # "unclaimed" (re-post to the volunteers) or "unanswered" (remind the claimer)


UNPOSTED_GRACE: Final = timedelta(minutes=1)  # a case being opened right now is not "unposted" yet
UNPOSTED_RETRY: Final = timedelta(minutes=10)  # a card that failed again is tried this much later


async def _mark_due(session: AsyncSession, due: tuple[ColumnElement[bool], ...], now: datetime) -> list[Case]:
    """The cases that meet ``due`` (at most 200, oldest first), each marked ``reminded_at = now`` by an
    update that checks ``due`` and its status again: of several bot processes, one takes each."""
    rows = (await session.execute(select(Case).where(*due).order_by(Case.id).limit(200))).scalars().all()
    marked: list[Case] = []
    for case in rows:
        result = await session.execute(
            update(Case)
            .where(Case.id == case.id, Case.status == case.status, *due)
            .values(reminded_at=now)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            marked.append(case)
    return marked


async def unposted_cases(db: Database, *, now: datetime | None = None) -> list[CaseView]:
    """New cases whose card reached no volunteer (the Bot API failed while they opened), to post now;
    one that fails again comes back after :data:`UNPOSTED_RETRY`."""
    now = now or utcnow()
    posted = select(CasePost.id).where(CasePost.case_id == Case.id, CasePost.kind == "board").exists()
    due = (
        Case.status == CaseStatus.NEW,
        Case.created_at <= now - UNPOSTED_GRACE,
        ~posted,
        or_(Case.reminded_at.is_(None), Case.reminded_at <= now - UNPOSTED_RETRY),
    )
    async with db.session() as session:
        return [await _view(session, case) for case in await _mark_due(session, due, now)]


async def due_reminders(db: Database, period: timedelta, *, now: datetime | None = None) -> list[Reminder]:
    """Mark and return the cases that have waited ``period`` since they began waiting or were last
    reminded: each at most once per period (the mark is the watermark; a second run finds nothing)."""
    now = now or utcnow()
    cutoff = now - period
    due = (
        Case.status.in_([CaseStatus.NEW, CaseStatus.CLAIMED]),
        Case.waiting_since.is_not(None),
        Case.waiting_since <= cutoff,
        or_(Case.reminded_at.is_(None), Case.reminded_at <= cutoff),
    )
    async with db.session() as session:
        return [
            Reminder(
                await _view(session, case), "unclaimed" if case.status == CaseStatus.NEW else "unanswered"
            )
            for case in await _mark_due(session, due, now)
        ]


# ------------------------------------------------------------------------------------- the web board


class BoardFilter(enum.StrEnum):
    """The web board's filters of the case list."""

    OPEN = "open"  # every open case (new, claimed by anyone, answered)
    MINE = "mine"  # the volunteer's own open cases
    UNCLAIMED = "unclaimed"  # new: anyone may claim
    WAITING = "waiting"  # the volunteer's own cases whose relative waits for an answer
    CLOSED = "closed"


def _board_condition(which: BoardFilter, volunteer_id: int) -> Any:
    mine = and_(Case.volunteer_id == volunteer_id, Case.status.in_([CaseStatus.CLAIMED, CaseStatus.ANSWERED]))
    return {
        BoardFilter.OPEN: Case.status.in_(list(OPEN_STATUSES)),
        BoardFilter.MINE: mine,
        BoardFilter.UNCLAIMED: Case.status == CaseStatus.NEW,
        BoardFilter.WAITING: and_(
            Case.volunteer_id == volunteer_id,
            Case.status == CaseStatus.CLAIMED,
            Case.waiting_since.is_not(None),
        ),
        BoardFilter.CLOSED: Case.status == CaseStatus.CLOSED,
    }[which]


async def _views(session: Any, rows: Sequence[Case]) -> list[CaseView]:
    """:func:`_view` of many cases with one query for the people they name."""
    ids = {row.person_id for row in rows} | {row.volunteer_id for row in rows if row.volunteer_id is not None}
    people = (
        {
            person.id: person
            for person in (await session.scalars(select(Person).where(Person.id.in_(list(ids))))).all()
        }
        if ids
        else {}
    )
    views = []
    for case in rows:
        relative = people.get(case.person_id)
        volunteer = people.get(case.volunteer_id) if case.volunteer_id is not None else None
        views.append(
            CaseView(
                id=case.id,
                person_id=case.person_id,
                status=CaseStatus(case.status),
                volunteer_id=case.volunteer_id,
                search=dict(case.search or {}),
                results=list(case.results or []),
                source=case.source,
                created_at=aware(case.created_at),
                waiting_since=aware(case.waiting_since) if case.waiting_since is not None else None,
                relative_name=relative.first_name if relative is not None else None,
                relative_language=relative.language if relative is not None else None,
                relative_active=relative.active if relative is not None else False,
                volunteer_name=volunteer.first_name if volunteer is not None else None,
            )
        )
    return views


async def _board_counts(session: Any, volunteer_id: int) -> dict[str, int]:
    """How many cases each filter holds: the open ones grouped (they are few), the closed ones counted."""
    counts = dict.fromkeys((str(name) for name in BoardFilter), 0)
    rows = await session.execute(
        select(
            Case.status,
            (Case.volunteer_id == volunteer_id).label("mine"),
            Case.waiting_since.is_not(None).label("waiting"),
            func.count(),
        )
        .where(Case.status.in_(list(OPEN_STATUSES)))
        .group_by(Case.status, "mine", "waiting")
    )
    for status, mine, waiting, count in rows:
        counts[BoardFilter.OPEN] += count
        if status == CaseStatus.NEW:
            counts[BoardFilter.UNCLAIMED] += count
        elif mine:
            counts[BoardFilter.MINE] += count
            if status == CaseStatus.CLAIMED and waiting:
                counts[BoardFilter.WAITING] += count
    closed = await session.scalar(
        select(func.count()).select_from(Case).where(Case.status == CaseStatus.CLOSED)
    )
    counts[BoardFilter.CLOSED] = int(closed or 0)
    return counts


async def board_cases(
    db: Database, volunteer_id: int, which: BoardFilter, *, offset: int = 0, limit: int = 50
) -> tuple[list[CaseView], dict[str, int]]:
    """One page of the filter's cases, longest waiting first (closed: newest first), and how many cases
    each filter holds (the board shows the counts on its tabs)."""
    async with db.session() as session:
        counts = await _board_counts(session, volunteer_id)
        order: list[Any] = (
            [Case.closed_at.desc(), Case.id.desc()]
            if which == BoardFilter.CLOSED
            else [Case.waiting_since.is_(None), Case.waiting_since, Case.id]
        )
        rows = (
            await session.scalars(
                select(Case)
                .where(_board_condition(which, volunteer_id))
                .order_by(*order)
                .offset(offset)
                .limit(limit)
            )
        ).all()
        return await _views(session, rows), counts
