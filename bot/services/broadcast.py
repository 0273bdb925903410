"""Appeals and their broadcaster: a draft, its audience, one delivery per recipient, sent at a set pace.

An appeal (models.appeals) goes draft → sending ⇄ paused → done, or cancelled from any of the first three
(handlers/appeals.mmd). :func:`send_appeal` freezes the audience: it writes one `AppealDelivery` per
recipient, in one transaction, before anything is sent. The running bot's broadcast job then calls
:meth:`Broadcaster.run` for every appeal that is sending:

* **one process per appeal**: the run holds `job_lock(db, "appeal:<id>")` (bot.services.locks: an advisory
  lock on PostgreSQL, a heartbeat row on SQLite, taken over at once when its holder died);
* **one delivery at a time**: each is claimed by one conditional UPDATE that commits before it is sent,
  naming the claiming process (`claimed_by`, locks.process_identity) with a lease, as the outbox does; it
  is recorded right after Telegram answers. After a kill -9 only the delivery in flight stays "sending",
  and the next run takes it over at once when its claimer is a dead process of this host (or when its lease
  ran out): the one case of a possible double;
* **pace**: one message every `1 / rate` seconds (`broadcast.rate_per_second`, ≤ 30/s; an appeal sent as
  a photo and then its text counts two); the bot's own
  rate limiter keeps the overall budget, so replies to relatives still go out;
* **errors** (Telegram's answers mapped by the caller's sender, handlers/sending.py): 403 (blocked, or
  "user is deactivated") → blocked, the person inactive (outbox.mark_blocked); "chat not found" → failed,
  final, the person inactive too (as the outbox does);
  429 → wait `retry_after`, send again, and slow the pace down for the rest of the run; any other error
  (the network) → retried after a back-off, failed after MAX_ATTEMPTS;
* **progress**: a callback at most every `progress_every` seconds and at the end of a run, with the
  counts by state, the achieved rate and the time left.

This service never imports `telegram` or the handlers: the caller gives an :class:`AppealSender` that
renders and sends one appeal to one chat and raises outbox.RecipientBlocked / RecipientUnknown /
RateLimited (handlers/broadcast.py).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal, Protocol

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from bot.config import LANGUAGE_CODES as LANGUAGES
from bot.search import place_profile
from bot.services.faults import fault_point
from bot.services.locks import holder_is_dead, job_lock, process_identity
from bot.services.outbox import RateLimited, RecipientBlocked, RecipientUnknown, mark_blocked
from models import (
    Appeal,
    AppealDelivery,
    AppealStatus,
    Database,
    DeliveryState,
    OutboxMessage,
    OutboxState,
    Person,
    Reading,
    RequestStatus,
    SearchRequest,
)
from models.base import utcnow

log = logging.getLogger(__name__)

MAX_TEXT: Final = 1000
DEFAULT_RATE: Final = 25.0
TELEGRAM_RATE: Final = 30.0
# A claimed delivery not recorded within this long belongs to a sender that stopped (a crash elsewhere).
SENDING_LEASE: Final = timedelta(seconds=60)
MAX_ATTEMPTS: Final = 5
BACKOFF_BASE: Final = 2.0  # seconds: 2, 4, 8, 16 … at most BACKOFF_CAP
BACKOFF_CAP: Final = 300.0
MAX_INLINE_WAITS: Final = 5  # 429s waited out for one delivery before it goes back to pending
SLOWDOWN: Final = 0.8  # the pace after a 429, as a share of the pace before it
MIN_RATE: Final = 1.0
STATUS_CHECK: Final = 1.0  # seconds between reads of the appeal's status (pause / cancel take effect)
PROGRESS_EVERY: Final = 3.0
INSERT_CHUNK: Final = 2000

# The outbox kind of "a search unit seeks this man's family" sent first to relatives whose search fits
# (bot.services.appeal_relatives); the broadcast waits for them.
FIRST_NOTICE: Final = "appeal_match"

FINISHED_STATES: Final = (DeliveryState.SENT, DeliveryState.BLOCKED, DeliveryState.FAILED)


class AppealError(Exception):
    """An appeal cannot be created or changed as asked; `code` names why (for a localized answer)."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(detail or code)
        self.code = code


# --------------------------------------------------------------------------------- what an appeal is


@dataclass(frozen=True)
class Audience:
    """Who receives an appeal: every active user, users whose saved searches are in a region (by the
    gazetteer's historical or today's name), or users of one language."""

    kind: Literal["all", "region", "lang"] = "all"
    value: str = ""

    @staticmethod
    def parse(text: str) -> Audience:
        """`all`, `region:NAME` or `lang:ru|kk|en`; raises AppealError("audience") for anything else."""
        kind, _, value = (text or "").strip().partition(":")
        value = value.strip()
        if kind == "all" and not value:
            return Audience()
        if kind == "lang" and value in LANGUAGES:
            return Audience("lang", value)
        if kind == "region" and value and place_profile(value).regions:
            return Audience("region", value[:100])
        raise AppealError("audience", "audience must be all, region:NAME (a known region) or lang:ru|kk|en")

    def __str__(self) -> str:
        return self.kind if self.kind == "all" else f"{self.kind}:{self.value}"


@dataclass(frozen=True)
class Soldier:
    """The man whose relatives are sought, as shown in the appeal."""

    surname: str
    name: str = ""
    born: str = ""
    place: str = ""

    def to_json(self) -> dict[str, str]:
        return {"surname": self.surname, "name": self.name, "born": self.born, "place": self.place}

    @staticmethod
    def from_json(data: Mapping[str, Any]) -> Soldier:
        return Soldier(**{key: str(data.get(key) or "") for key in ("surname", "name", "born", "place")})


@dataclass(frozen=True)
class AppealContent:
    """What a recipient is sent: the soldier, the administrator's text and an optional photo."""

    id: int
    soldier: Soldier
    text: str
    photo_file_id: str | None = None


class AppealSender(Protocol):
    """Sends one appeal to one chat in `language`; raises outbox.RecipientBlocked (403),
    RecipientUnknown ("chat not found"), RateLimited (429) or any other exception. Returns how many
    messages the appeal took (a photo and then a long text are two; None: one), for the pace."""

    async def send_appeal(self, appeal: AppealContent, chat_id: int, language: str) -> int | None: ...


def _clean(text: str | None, limit: int = 200) -> str:
    return " ".join(str(text or "").split())[:limit]


async def soldier_of_reading(db: Database, reading_id: str) -> tuple[int, Soldier] | None:
    """The registry record `reading_id` as an appeal's soldier (its primary key too), or None."""
    async with db.session() as session:
        reading = await session.scalar(select(Reading).where(Reading.reading_id == reading_id))
        if reading is None:
            return None
        born = reading.birth_year
        return reading.id, Soldier(
            surname=_clean(reading.surname),
            name=_clean(" ".join(part for part in (reading.name, reading.patronymic) if part)),
            born=_clean(str(born) if born is not None else ""),
            place=_clean(reading.birthplace),
        )


async def create_appeal(
    db: Database,
    *,
    created_by: int,
    soldier: Soldier,
    text: str,
    audience: Audience,
    reading_pk: int | None = None,
    photo_file_id: str | None = None,
    author_language: str | None = None,
) -> int:
    """A draft appeal; its id. The author's person row is made if missing (an administrator who never
    consented, or uses the command line), with `author_language` for the progress message. Raises
    AppealError for an empty or too long text."""
    body = (text or "").strip()
    if not body:
        raise AppealError("text_empty", "the appeal's text is empty")
    if len(body) > MAX_TEXT:
        raise AppealError("text_long", f"the appeal's text is longer than {MAX_TEXT} characters")
    if not soldier.surname.strip():
        raise AppealError("soldier", "the soldier's surname is missing")
    async with db.session() as session:
        if await session.get(Person, created_by) is None:
            session.add(Person(id=created_by, active=True, language=author_language))
            await session.flush()
        appeal = Appeal(
            created_by=created_by,
            text=body,
            reading_pk=reading_pk,
            soldier=soldier.to_json(),
            audience=str(audience),
            photo_file_id=photo_file_id,
            status=AppealStatus.DRAFT,
            created_at=utcnow(),
        )
        session.add(appeal)
        await session.flush()
        return appeal.id


async def get_appeal(db: Database, appeal_id: int) -> Appeal | None:
    """The appeal row (detached), or None."""
    async with db.session() as session:
        return await session.get(Appeal, appeal_id)


def content_of(appeal: Appeal) -> AppealContent:
    return AppealContent(
        appeal.id, Soldier.from_json(appeal.soldier or {}), appeal.text, appeal.photo_file_id
    )


# --------------------------------------------------------------------------------- the audience


def _regions(text: str | None) -> set[str]:
    return {region for region, _ in place_profile(text or "").regions} if text else set()


async def audience_ids(session: AsyncSession, audience: Audience) -> list[int]:
    """The people an appeal to `audience` goes to now: consented and active, by the audience's rule."""
    reachable = [Person.active.is_(True), Person.consent_at.is_not(None)]
    if audience.kind == "lang":
        rows = await session.scalars(select(Person.id).where(*reachable, Person.language == audience.value))
        return sorted(rows)
    if audience.kind == "region":
        wanted = _regions(audience.value)
        searches = await session.execute(
            select(SearchRequest.person_id, SearchRequest.birthplace, SearchRequest.family_place)
            .join(Person, Person.id == SearchRequest.person_id)
            .where(*reachable, SearchRequest.status != RequestStatus.DELETED)
        )
        return sorted(
            {
                person_id
                for person_id, birthplace, family_place in searches
                if wanted & (_regions(birthplace) | _regions(family_place))
            }
        )
    return sorted(await session.scalars(select(Person.id).where(*reachable)))


async def audience_languages(db: Database, audience: Audience, default_language: str) -> dict[str, int]:
    """How many of the audience read each language (for the previews), most readers first."""
    async with db.session() as session:
        ids = await audience_ids(session, audience)
        counts: dict[str, int] = {}
        for start in range(0, len(ids), INSERT_CHUNK):
            rows = await session.scalars(
                select(Person.language).where(Person.id.in_(ids[start : start + INSERT_CHUNK]))
            )
            for language in rows:
                lang = language if language in LANGUAGES else default_language
                counts[lang] = counts.get(lang, 0) + 1
    return dict(sorted(counts.items(), key=lambda item: -item[1]))


# --------------------------------------------------------------------------------- the administrator's actions


async def send_appeal(
    db: Database,
    appeal_id: int,
    *,
    progress_chat_id: int | None = None,
    progress_message_id: int | None = None,
    exclude: set[int] | frozenset[int] = frozenset(),
) -> int:
    """Mark a draft to be sent (to its audience but `exclude`, told already): one pending delivery per recipient is written now, in this transaction;
    the running bot's broadcaster sends them. Returns the number of recipients. Sending again an appeal
    that is already sending changes nothing (and returns its count). The progress message goes to
    `progress_chat_id` (default: the author's private chat), as a new message unless
    `progress_message_id` names one to edit."""
    async with db.session() as session:
        appeal = await session.get(Appeal, appeal_id, with_for_update=not db.is_sqlite)
        if appeal is None:
            raise AppealError("not_found", f"no appeal {appeal_id}")
        if appeal.status in (AppealStatus.SENDING, AppealStatus.PAUSED, AppealStatus.DONE):
            return int(
                await session.scalar(
                    select(func.count())
                    .select_from(AppealDelivery)
                    .where(AppealDelivery.appeal_id == appeal_id)
                )
                or 0
            )
        if appeal.status != AppealStatus.DRAFT:
            raise AppealError("not_draft", f"appeal {appeal_id} is {appeal.status}")
        ids = [i for i in await audience_ids(session, Audience.parse(appeal.audience)) if i not in exclude]
        now = utcnow()
        insert = sqlite_insert if db.is_sqlite else postgresql_insert
        for start in range(0, len(ids), INSERT_CHUNK):
            rows = [
                {
                    "appeal_id": appeal_id,
                    "person_id": person_id,
                    "state": DeliveryState.PENDING,
                    "attempts": 0,
                }
                for person_id in ids[start : start + INSERT_CHUNK]
            ]
            await session.execute(
                insert(AppealDelivery).on_conflict_do_nothing(
                    index_elements=[AppealDelivery.appeal_id, AppealDelivery.person_id]
                ),
                rows,
            )
        appeal.status = AppealStatus.SENDING
        appeal.started_at = now
        appeal.progress_chat_id = progress_chat_id if progress_chat_id is not None else appeal.created_by
        appeal.progress_message_id = progress_message_id
        return len(ids)


async def set_progress_message(
    db: Database, appeal_id: int, chat_id: int | None, message_id: int | None
) -> None:
    """Where the administrator's progress message is (edited by the broadcast job); a chat without a
    message id gets a new one at the next progress report; None, None: no progress message."""
    async with db.session() as session:
        await session.execute(
            update(Appeal)
            .where(Appeal.id == appeal_id)
            .values(progress_chat_id=chat_id, progress_message_id=message_id)
        )


async def set_channel_post(db: Database, appeal_id: int, message_id: int) -> None:
    """Record the appeal's post in the public channel (it is posted once)."""
    async with db.session() as session:
        await session.execute(
            update(Appeal).where(Appeal.id == appeal_id).values(channel_message_id=message_id)
        )


Action = Literal["pause", "resume", "cancel"]
_ALLOWED: Final[dict[str, tuple[tuple[AppealStatus, ...], AppealStatus]]] = {
    "pause": ((AppealStatus.SENDING,), AppealStatus.PAUSED),
    "resume": ((AppealStatus.PAUSED,), AppealStatus.SENDING),
    "cancel": ((AppealStatus.DRAFT, AppealStatus.SENDING, AppealStatus.PAUSED), AppealStatus.CANCELLED),
}


async def change_appeal(db: Database, appeal_id: int, action: Action) -> AppealStatus:
    """Pause, resume or cancel an appeal; its new status. A cancel also cancels every delivery not yet
    sent (the one in flight, if any, is recorded by its sender). Raises AppealError("not_found" |
    "state") when the appeal is missing or not in a state the action applies to."""
    allowed, target = _ALLOWED[action]
    async with db.session() as session:
        status = await session.scalar(select(Appeal.status).where(Appeal.id == appeal_id))
        if status is None:
            raise AppealError("not_found", f"no appeal {appeal_id}")
        if status == target:
            return target
        values: dict[str, Any] = {"status": target}
        if target == AppealStatus.CANCELLED:
            values["finished_at"] = utcnow()
        result = await session.execute(
            update(Appeal).where(Appeal.id == appeal_id, Appeal.status.in_(allowed)).values(**values)
        )
        if not result.rowcount:  # type: ignore[attr-defined]
            raise AppealError("state", f"appeal {appeal_id} is {status}: cannot {action}")
        if target == AppealStatus.CANCELLED:
            await session.execute(
                update(AppealDelivery)
                .where(AppealDelivery.appeal_id == appeal_id, AppealDelivery.state == DeliveryState.PENDING)
                .values(state=DeliveryState.CANCELLED)
            )
    return target


async def appeals_to_send(db: Database) -> list[int]:
    """Appeals marked to be sent, oldest first."""
    async with db.session() as session:
        return list(
            await session.scalars(
                select(Appeal.id).where(Appeal.status == AppealStatus.SENDING).order_by(Appeal.id)
            )
        )


# --------------------------------------------------------------------------------- progress


@dataclass(frozen=True)
class AppealProgress:
    """Where a broadcast stands: counts by delivery state, the achieved rate and the time left."""

    appeal_id: int
    status: AppealStatus
    counts: dict[str, int]
    rate: float  # deliveries done per second since the broadcast started (0 before)
    pace: float  # the pace now (configured, or slower after a 429)
    progress_chat_id: int | None = None
    progress_message_id: int | None = None
    author_language: str | None = None  # the progress message is in the author's language

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def sent(self) -> int:
        return self.counts.get(DeliveryState.SENT, 0)

    @property
    def blocked(self) -> int:
        return self.counts.get(DeliveryState.BLOCKED, 0)

    @property
    def failed(self) -> int:
        return self.counts.get(DeliveryState.FAILED, 0)

    @property
    def left(self) -> int:
        return self.counts.get(DeliveryState.PENDING, 0) + self.counts.get(DeliveryState.SENDING, 0)

    @property
    def seconds_left(self) -> float:
        return self.left / self.pace if self.pace > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "appeal_id": self.appeal_id,
            "status": str(self.status),
            "counts": {str(state): self.counts.get(state, 0) for state in DeliveryState},
            "total": self.total,
            "left": self.left,
            "rate_per_second": round(self.rate, 2),
            "seconds_left": round(self.seconds_left, 1),
        }


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


async def appeal_progress(db: Database, appeal_id: int, *, pace: float = DEFAULT_RATE) -> AppealProgress:
    """The appeal's counts by delivery state, rate so far and time left (at `pace`). AppealError when
    it does not exist."""
    async with db.session() as session:
        appeal = await session.get(Appeal, appeal_id)
        if appeal is None:
            raise AppealError("not_found", f"no appeal {appeal_id}")
        counts = {
            str(state): int(count)
            for state, count in await session.execute(
                select(AppealDelivery.state, func.count())
                .where(AppealDelivery.appeal_id == appeal_id)
                .group_by(AppealDelivery.state)
            )
        }
        last = await session.scalar(
            select(func.max(AppealDelivery.sent_at)).where(AppealDelivery.appeal_id == appeal_id)
        )
        author_language = await session.scalar(select(Person.language).where(Person.id == appeal.created_by))
    done = sum(counts.get(state, 0) for state in FINISHED_STATES)
    rate = 0.0
    if appeal.started_at is not None and done:
        end = utcnow() if appeal.status in (AppealStatus.SENDING, AppealStatus.PAUSED) else (last or utcnow())
        elapsed = (_aware(end) - _aware(appeal.started_at)).total_seconds()
        rate = done / elapsed if elapsed > 0 else 0.0
    return AppealProgress(
        appeal_id=appeal_id,
        status=appeal.status,
        counts=counts,
        rate=rate,
        pace=pace,
        progress_chat_id=appeal.progress_chat_id,
        progress_message_id=appeal.progress_message_id,
        author_language=author_language,
    )


# --------------------------------------------------------------------------------- the broadcaster


def first_notice_prefix(appeal_id: int) -> str:
    """The outbox dedup key of an appeal's first notices, up to the search's id."""
    return f"appeal:{appeal_id}:search:"


async def relatives_still_waiting(db: Database, appeal_id: int) -> int:
    """How many of the appeal's first notifications (to matching relatives) are still to be delivered."""
    async with db.session() as session:
        return int(
            await session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(
                    OutboxMessage.kind == FIRST_NOTICE,
                    OutboxMessage.dedup_key.startswith(first_notice_prefix(appeal_id)),
                    OutboxMessage.state.in_([OutboxState.PENDING, OutboxState.SENDING]),
                )
            )
            or 0
        )


def backoff(attempts: int) -> float:
    """Seconds before the next try after `attempts` failed ones: 2, 4, 8 … at most BACKOFF_CAP."""
    return float(min(BACKOFF_BASE * 2 ** max(attempts - 1, 0), BACKOFF_CAP))


class Pace:
    """One send every `1 / rate` seconds: never faster (lost time is not made up in a burst)."""

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self.rate = min(max(rate, MIN_RATE), TELEGRAM_RATE)
        self.clock = clock
        self.sleep = sleep
        self._next: float | None = None

    async def wait(self) -> None:
        now = self.clock()
        at = now if self._next is None else max(self._next, now)
        if at > now:
            await self.sleep(at - now)
        self._next = at + 1.0 / self.rate

    def charge(self, messages: int) -> None:
        """A delivery took `messages` more messages than one: the next send waits for them too."""
        if self._next is not None and messages > 0:
            self._next += messages / self.rate

    def slow_down(self) -> None:
        self.rate = max(MIN_RATE, self.rate * SLOWDOWN)


@dataclass
class BroadcastReport:
    """What one run did for one appeal."""

    appeal_id: int
    acquired: bool = False
    sent: int = 0
    blocked: int = 0
    failed: int = 0
    retried: int = 0
    waited: float = 0.0
    rate_limited: int = 0
    finished: bool = False
    errors: list[str] = field(default_factory=list)


ProgressCallback = Callable[[AppealProgress], Awaitable[Any]]


@dataclass(frozen=True)
class Claimed:
    """A delivery this process has claimed: to whom, and the how-manieth try this is."""

    id: int
    person_id: int
    attempts: int


def _due(now: datetime) -> Any:
    return and_(
        AppealDelivery.state == DeliveryState.PENDING,
        or_(AppealDelivery.next_attempt_at.is_(None), AppealDelivery.next_attempt_at <= now),
    )


def _lease_over(now: datetime) -> Any:
    return and_(AppealDelivery.state == DeliveryState.SENDING, AppealDelivery.next_attempt_at <= now)


class Broadcaster:
    """Sends appeals' deliveries through an AppealSender at a pace; see the module docstring."""

    def __init__(
        self,
        db: Database,
        sender: AppealSender,
        *,
        rate: float = DEFAULT_RATE,
        default_language: str = "ru",
        progress: ProgressCallback | None = None,
        progress_every: float = PROGRESS_EVERY,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self.db = db
        self.sender = sender
        self.rate = rate
        self.default_language = default_language
        self.progress = progress
        self.progress_every = progress_every
        self.clock = clock
        self.sleep = sleep
        self._outcome: tuple[int, dict[str, Any]] | None = None  # sent, not yet recorded

    async def run(self, appeal_id: int, *, max_seconds: float | None = None) -> BroadcastReport:
        """Send the appeal's due deliveries until none is left (the appeal is then done), it is paused or
        cancelled, or `max_seconds` have passed; nothing if another process is broadcasting it."""
        report = BroadcastReport(appeal_id)
        async with job_lock(self.db, f"appeal:{appeal_id}") as lock:
            if not lock.acquired:
                return report
            report.acquired = True
            try:
                await self._run_locked(appeal_id, report, max_seconds)
            finally:  # the last outcome, also when the run is cancelled (the bot stops) or fails
                if self._outcome is not None:
                    async with self.db.engine.begin() as connection:
                        await self._record(connection)
        return report

    async def _status(self, appeal_id: int) -> tuple[AppealStatus | None, AppealContent | None]:
        appeal = await get_appeal(self.db, appeal_id)
        return (appeal.status, content_of(appeal)) if appeal is not None else (None, None)

    async def _languages(self, appeal_id: int) -> dict[int, str]:
        async with self.db.session() as session:
            rows = await session.execute(
                select(AppealDelivery.person_id, Person.language)
                .join(Person, Person.id == AppealDelivery.person_id)
                .where(AppealDelivery.appeal_id == appeal_id)
            )
            return {person_id: language for person_id, language in rows if language in LANGUAGES}

    async def _orphans(self, appeal_id: int) -> list[tuple[int, str]]:
        """Deliveries left "sending" by a process of this host that died (taken over at once)."""
        async with self.db.session() as session:
            rows = await session.execute(
                select(AppealDelivery.id, AppealDelivery.claimed_by).where(
                    AppealDelivery.appeal_id == appeal_id, AppealDelivery.state == DeliveryState.SENDING
                )
            )
            return [
                (delivery_id, holder) for delivery_id, holder in rows if holder and holder_is_dead(holder)
            ]

    async def _claim(self, appeal_id: int, now: datetime, orphan: tuple[int, str] | None) -> Claimed | None:
        """Claim one delivery (the given orphan, else the next due one) for this process, committed."""
        if orphan is not None:
            delivery_id, holder = orphan
            condition: Any = and_(
                AppealDelivery.id == delivery_id,
                AppealDelivery.state == DeliveryState.SENDING,
                AppealDelivery.claimed_by == holder,
            )
        else:
            condition = self._first(appeal_id, _due(now))
        claimed = await self._claim_where(condition, now)
        if claimed is None and orphan is None:  # a claim whose lease ran out (a sender that hung or died)
            claimed = await self._claim_where(self._first(appeal_id, _lease_over(now)), now)
        return claimed

    @staticmethod
    def _first(appeal_id: int, due: Any) -> Any:
        """The first delivery of the appeal that is `due`, by id (the claim index's order)."""
        first = (
            select(AppealDelivery.id)
            .where(AppealDelivery.appeal_id == appeal_id, due)
            .order_by(AppealDelivery.id)
            .limit(1)
            .scalar_subquery()
        )
        return and_(AppealDelivery.id == first, due)

    async def _claim_where(self, condition: Any, now: datetime) -> Claimed | None:
        """One conditional UPDATE, committed before the delivery is sent; the outcome of the previous
        delivery (if still unrecorded) is recorded in the same transaction, before the claim."""
        async with self.db.engine.begin() as connection:
            await self._record(connection)
            row = (
                await connection.execute(
                    update(AppealDelivery)
                    .where(condition)
                    .values(
                        state=DeliveryState.SENDING,
                        attempts=AppealDelivery.attempts + 1,
                        claimed_by=process_identity(),
                        next_attempt_at=now + SENDING_LEASE,
                    )
                    .returning(AppealDelivery.id, AppealDelivery.person_id, AppealDelivery.attempts)
                )
            ).one_or_none()
        return Claimed(*row) if row is not None else None

    async def _record(self, connection: AsyncConnection) -> None:
        """Write the outcome of the last delivery sent, if it is not written yet."""
        if self._outcome is None:
            return
        delivery_id, values = self._outcome
        await connection.execute(
            update(AppealDelivery)
            .where(
                AppealDelivery.id == delivery_id,
                AppealDelivery.state == DeliveryState.SENDING,
                AppealDelivery.claimed_by == process_identity(),
            )
            .values(claimed_by=None, **values)
        )
        self._outcome = None

    async def _finish(self, delivery_id: int, *, now: bool = False, **values: Any) -> None:
        """Record a delivery's outcome: with the next claim (one transaction for both), or `now`."""
        self._outcome = (delivery_id, values)
        if now:
            async with self.db.engine.begin() as connection:
                await self._record(connection)

    async def _extend(self, delivery_id: int, until: datetime) -> None:
        async with self.db.session() as session:
            await session.execute(
                update(AppealDelivery)
                .where(AppealDelivery.id == delivery_id, AppealDelivery.claimed_by == process_identity())
                .values(next_attempt_at=until)
            )

    async def _next_due_in(self, appeal_id: int, now: datetime) -> float | None:
        """Seconds until the next deferred delivery is due; None when nothing is left to send."""
        async with self.db.session() as session:
            left = await session.execute(
                select(AppealDelivery.next_attempt_at).where(
                    AppealDelivery.appeal_id == appeal_id,
                    AppealDelivery.state.in_([DeliveryState.PENDING, DeliveryState.SENDING]),
                )
            )
            times = [_aware(at) if at is not None else now for (at,) in left]
        if not times:
            return None
        return max(0.0, (min(times) - now).total_seconds())

    async def _finish_appeal(self, appeal_id: int) -> bool:
        async with self.db.session() as session:
            result = await session.execute(
                update(Appeal)
                .where(Appeal.id == appeal_id, Appeal.status == AppealStatus.SENDING)
                .values(status=AppealStatus.DONE, finished_at=utcnow())
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def _report_progress(self, appeal_id: int, pace: Pace) -> None:
        if self.progress is None:
            return
        try:
            await self.progress(await appeal_progress(self.db, appeal_id, pace=pace.rate))
        except Exception as error:  # progress is a courtesy: the broadcast goes on
            log.warning("appeal %s: progress not shown: %s", appeal_id, type(error).__name__)

    async def _run_locked(self, appeal_id: int, report: BroadcastReport, max_seconds: float | None) -> None:
        started = self.clock()
        status, content = await self._status(appeal_id)
        if status != AppealStatus.SENDING or content is None:
            return
        if await relatives_still_waiting(self.db, appeal_id):  # the relatives who may be the family first
            return
        languages = await self._languages(appeal_id)
        orphans = await self._orphans(appeal_id)
        pace = Pace(self.rate, clock=self.clock, sleep=self.sleep)
        checked = self.clock()
        reported = checked - self.progress_every  # the first report at once: the message appears
        while True:
            tick = self.clock()
            if max_seconds is not None and tick - started >= max_seconds:
                break
            if tick - checked >= STATUS_CHECK:
                checked = tick
                status, _ = await self._status(appeal_id)
                if status != AppealStatus.SENDING:
                    break
            if self.progress is not None and tick - reported >= self.progress_every:
                reported = tick
                await self._report_progress(appeal_id, pace)
            now = utcnow()
            delivery = await self._claim(appeal_id, now, orphans.pop() if orphans else None)
            if delivery is None:
                wait = await self._next_due_in(appeal_id, now)
                if wait is None:
                    report.finished = await self._finish_appeal(appeal_id)
                    break
                await self.sleep(min(max(wait, 0.05), STATUS_CHECK))
                continue
            fault_point("appeal-claimed")
            await pace.wait()
            language = languages.get(delivery.person_id, self.default_language)
            await self._deliver(delivery, content, language, pace, report)
        if self._outcome is not None:
            async with self.db.engine.begin() as connection:
                await self._record(connection)
        await self._report_progress(appeal_id, pace)

    async def _deliver(
        self, delivery: Claimed, content: AppealContent, language: str, pace: Pace, report: BroadcastReport
    ) -> None:
        """Send one claimed delivery and record what Telegram said."""
        waits = 0
        while True:
            try:
                messages = await self.sender.send_appeal(content, delivery.person_id, language)
            except RecipientBlocked:
                log.info("appeal %s: chat %s blocked the bot", content.id, delivery.person_id)
                await self._finish(
                    delivery.id, now=True, state=DeliveryState.BLOCKED, last_error="blocked by the user"
                )
                await mark_blocked(self.db, delivery.person_id, reason="blocked: appeal")
                report.blocked += 1
            except RecipientUnknown as error:  # final, and the person unreachable: inactive, as for 403
                log.info("appeal %s: chat %s does not exist for the bot", content.id, delivery.person_id)
                reason = f"chat not found: {error}"[:500]
                await self._finish(delivery.id, now=True, state=DeliveryState.FAILED, last_error=reason)
                await mark_blocked(self.db, delivery.person_id, reason=f"{reason} (appeal)")
                report.failed += 1
            except RateLimited as error:
                report.rate_limited += 1
                pace.slow_down()
                if waits < MAX_INLINE_WAITS:
                    waits += 1
                    log.warning(
                        "appeal %s: Telegram asked to wait %g s; waiting, then %.1f/s",
                        content.id,
                        error.retry_after,
                        pace.rate,
                    )
                    report.waited += error.retry_after
                    until = utcnow() + timedelta(seconds=error.retry_after) + SENDING_LEASE
                    await self._extend(delivery.id, until)
                    await self.sleep(error.retry_after)
                    continue
                await self._finish(
                    delivery.id,
                    state=DeliveryState.PENDING,
                    attempts=delivery.attempts - 1,
                    next_attempt_at=utcnow() + timedelta(seconds=error.retry_after),
                    last_error=str(error),
                )
                report.retried += 1
            except Exception as error:  # the network, a 5xx: retried after a back-off
                detail = f"{type(error).__name__}: {error}"[:500]
                report.errors.append(detail)
                if delivery.attempts >= MAX_ATTEMPTS:
                    log.error(
                        "appeal %s: chat %s failed for good after %s tries: %s",
                        content.id,
                        delivery.person_id,
                        delivery.attempts,
                        type(error).__name__,
                    )
                    await self._finish(delivery.id, state=DeliveryState.FAILED, last_error=detail)
                    report.failed += 1
                else:
                    delay = backoff(delivery.attempts)
                    log.warning(
                        "appeal %s: chat %s failed (try %s), again in %g s: %s",
                        content.id,
                        delivery.person_id,
                        delivery.attempts,
                        delay,
                        type(error).__name__,
                    )
                    await self._finish(
                        delivery.id,
                        state=DeliveryState.PENDING,
                        next_attempt_at=utcnow() + timedelta(seconds=delay),
                        last_error=detail,
                    )
                    report.retried += 1
            else:
                fault_point("appeal-sent")
                pace.charge((messages or 1) - 1)
                await self._finish(delivery.id, state=DeliveryState.SENT, sent_at=utcnow(), last_error=None)
                report.sent += 1
            return
