"""The matching job: new registry readings checked against relatives' saved searches, and what they are told.

One pass (`run_matching_pass`), the same code for the scheduler and `amanat match`:

1. Takes the job lock "matching" (bot.services.locks); if another process holds it, the pass is skipped.
2. Builds, once, an in-memory index of the ACTIVE saved searches: each search's blocking keys (the same
   `query_keys` the forward search uses, stored in `SearchRequest.derived` after the first pass) point
   back at the search. Paused and deleted searches are not in it, so nothing is matched for them while
   paused (a resumed search picks up from the next import on).
3. Walks the readings imported since the watermark, in import-batch order and in chunks of
   `matching.batch_size`. Only finished imports are taken (an import still being written is left for the
   next pass; a lost one is passed over, its readings come back as a new batch when an administrator
   finishes it: bot.services.import_batches). Each reading's
   stored keys find the saved searches sharing a key with it; those pairs are scored as the forward search
   of the whole registry would score them, from each search's stored registry sums (see
   `SavedSearchIndex`), never by scanning the registry.
4. For each chunk, in ONE transaction: the (search, reading) pairs scoring at least `RECORD_MIN_SCORE` are
   inserted into `matches` with insert-or-ignore on the unique pair, an `OutboxMessage` with
   `dedup_key = "match:<match id>"` is queued for each NEW pair that deserves a notification, every
   active search's `checked_readings` grows by the chunk's size, and the watermark moves past the chunk.
   A crash anywhere loses nothing (the chunk is redone; pairs already recorded are ignored and their
   messages are already queued) and doubles nothing.

Which matches notify: those whose chance against "he is not in the registry" is at least
`NOTIFY_MIN_ALONE` (scores are the forward search's, see `SavedSearchIndex`); at most `MAX_NOTIFY_PER_SEARCH` per search per chunk,
strong ones first, then by score (the rest are recorded with notification "skipped", so a common surname
cannot flood a relative). A person with two searches fitting the same reading is told once. A reading
whose import had finished before the search was saved is recorded but not announced: the relative's own
search could already show it. Notifications are queued strong-first, so they are also sent strong-first.

Delivery (bot.services.outbox) is separate: `amanat match` (bot.cli) runs one pass and then delivers what is
pending through the Bot API; the running bot's jobs (bot.jobs) do the same on a schedule. What a message
says is the handlers layer's (handlers/notifications.py renders the stored payload at send time). The
heartbeat is bot.services.heartbeat; pausing a search and the other operations of a saved search are
bot.services.saved_searches. `matching_stats` reports the pass's progress for /stats.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.search import Profile, Query, Registry, ReverseIndex, derive, stored_profile, sums_are_fresh
from bot.services.faults import fault_point
from bot.services.gc_pause import no_cyclic_collection
from bot.services.import_batches import visible_batches
from bot.services.locks import job_lock
from bot.services.outbox import enqueue_many
from bot.services.registry_index import LoadingRegistry, RegistryIndex
from bot.services.registry_search import RegistrySearch, record_of_reading
from bot.services.saved_searches import SearchFields, search_summary
from models import (
    BatchState,
    Database,
    ImportBatch,
    Match,
    NotificationState,
    Person,
    Reading,
    ReadingKey,
    RequestStatus,
    SearchRequest,
    Watermark,
)
from models.base import utcnow

log = logging.getLogger(__name__)

LOCK_NAME = "matching"
WATERMARK = "matching"  # the last import batch whose readings are all matched
POSITION = "matching.position"  # within the next batch: the highest reading id already matched (0: none)
# Stamped at the end of every pass (value: the readings it matched), for /healthz and /metrics.
LAST_PASS = "matching.last_pass"
# Scores are 0-100 (about the probability, in percent, that the reading is the man). A pair is recorded
# (and, unless announced, waits in the volunteers' review queue, bot.services.review, when its `joint`
# reaches the queue's floor QUEUE_MIN_JOINT there) when its score is at least RECORD_MIN_SCORE, or when its chance against both the registry's other readings and the other
# saved searches the reading fits (`Candidate.joint`) is at least RECORD_MIN_JOINT: the true pairs a noisy
# query leaves below 20 that a volunteer can still tell apart; a low pair that many searches or readings
# fit as well is not recorded (nobody could say which is the man). Chosen on bench/matching.py's seed
# 90001 (bench/README.md "Notifications"), reported on seed 31337.
RECORD_MIN_SCORE = 20.0
RECORD_MIN_JOINT = 0.05
# A match is announced when, against "he is not in the registry" alone (`Candidate.alone`, before the
# competition of the registry's other readings, so a second reading of the same man is announced too),
# its chance is at least this. Chosen on a full-size run (10,000 x 100,000) of bench/matching.py's dev
# seed 52026 as the lowest threshold with precision >= 0.85 on planted pairs (a relative must not be told
# about the wrong man), reported on seed 90001; see bench/README.md "Matching".
NOTIFY_MIN_ALONE = 0.97
MAX_NOTIFY_PER_SEARCH = 5
# Test hooks (bot.services.faults): `AMANAT_FAULT=after-matching` makes `amanat match` exit hard right
# after the matching transactions committed and before anything is sent; `matching-locked`,
# `matching-scored[:N]` and `matching-chunk[:N]` stop a pass inside (tests/faults).


@dataclass
class MatchingReport:
    """What one matching pass did."""

    ran: bool = True
    searches: int = 0
    readings: int = 0
    chunks: int = 0
    pairs_scored: int = 0
    matches: int = 0
    notifications: int = 0
    watermark: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        """One line for the bot's log (the command line words it from the catalogs: bot.cli)."""
        if not self.ran:
            return "matching: another pass is running; skipped"
        return (
            f"matching: {self.readings} new readings against {self.searches} active saved searches; "
            f"{self.matches} new matches, {self.notifications} notifications queued ({self.seconds:.1f} s)"
        )


@dataclass(frozen=True)
class NewReading:
    """A reading of the chunk being matched, as the engine and the notification need it."""

    pk: int
    reading_id: str
    row: Reading
    keys: frozenset[str]

    def profile(self) -> Profile | None:
        """The engine's profile of the reading: from its stored data (derived again when it has none)."""
        return stored_profile(self.row.derived) or derive(record_of_reading(self.row)).profile


@dataclass(frozen=True)
class Candidate:
    """One scored (saved search, reading) pair."""

    search_index: int
    reading_pk: int
    score: float
    strong: bool
    reasons: list[list[Any]]
    # The chance (0-1) that the reading is the man against "he is not in the registry" alone, without the
    # competition of the registry's other readings (a second reading of the same man halves `score`).
    alone: float = 0.0
    # The chance against the registry's other readings and the other saved searches the reading fits
    # (`bot.search.ReverseMatch.joint`).
    joint: float = 0.0


@dataclass(frozen=True)
class ActiveSearch:
    """An active saved search as the pass needs it (a plain row, not an ORM object: there are many)."""

    id: int
    person_id: int
    surname: str
    name: str | None
    patronymic: str | None
    birth_year: int | None
    birth_year_to: int | None
    birthplace: str | None
    draft_office: str | None
    relative: str | None
    family_place: str | None
    created_at: datetime
    derived: dict[str, Any]

    def query(self) -> Query:
        """The engine's query for this search (the same mapping the dialogue uses)."""
        return SearchFields.from_mapping(vars(self)).to_query()


class SavedSearchIndex:
    """The active saved searches, indexed for matching readings in reverse (`bot.search.ReverseIndex`).

    Built once per pass. A search's keys, its profile and its registry sums (what a forward search of the
    whole registry sees) are stored in `SearchRequest.derived` with the engine's query version; a search
    saved since the last pass, or whose sums the registry has outgrown by 10 %, is derived or counted again
    (`registry` is then the whole registry in memory); `stale` lists those, for the pass to store.

    `match(readings, total)` scores every pair of a new reading and a search sharing a key with it so that
    the reading gets the score the relative would see in a forward search of the whole registry.
    """

    def __init__(
        self,
        searches: Sequence[ActiveSearch],
        *,
        total: int = 0,
        registry: Registry | None = None,
        upto: int = 0,
    ) -> None:
        self.searches = list(searches)
        self.ids = [search.id for search in self.searches]
        self.person_ids = [search.person_id for search in self.searches]
        self.created_at = [_aware(search.created_at) for search in self.searches]
        self._summaries: dict[int, str] = {}
        self.engine = ReverseIndex(self.searches, total=total, registry=registry, upto=upto)
        self.stale: dict[int, dict[str, Any]] = self.engine.stale

    def __len__(self) -> int:
        return len(self.searches)

    def summary(self, index: int) -> str:
        found = self._summaries.get(index)
        if found is None:
            search = self.searches[index]
            found = self._summaries[index] = search_summary(search)
        return found

    def match(self, readings: Sequence[NewReading], *, total: int) -> tuple[list[Candidate], int]:
        """Scored pairs to record (RECORD_MIN_SCORE, RECORD_MIN_JOINT), and how many pairs were scored."""
        found, scored = self.engine.match(
            readings, total=total, min_score=RECORD_MIN_SCORE, min_joint=RECORD_MIN_JOINT
        )
        return [
            Candidate(
                search_index=m.search,
                reading_pk=readings[m.reading].pk,
                score=m.score,
                strong=m.strong,
                reasons=[[reason.code, dict(reason.args)] for reason in m.reasons],
                alone=m.alone,
                joint=m.joint,
            )
            for m in found
        ], scored


def _insert(session: AsyncSession) -> Any:
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    return postgresql_insert if dialect == "postgresql" else sqlite_insert


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


async def _watermark(session: AsyncSession, name: str) -> int:
    return int(await session.scalar(select(Watermark.value).where(Watermark.name == name)) or 0)


async def _set_watermark(session: AsyncSession, name: str, value: int, now: datetime) -> None:
    insert = _insert(session)
    statement = insert(Watermark).values(name=name, value=value, updated_at=now)
    statement = statement.on_conflict_do_update(
        index_elements=[Watermark.name], set_={"value": value, "updated_at": now}
    )
    await session.execute(statement)


async def _last_ready_batch(session: AsyncSession, now: datetime) -> int:
    """The highest import batch id such that no batch up to it is still being imported (lost ones are
    passed over: `_next_chunk` skips their readings, which come back as a new batch when finished)."""
    return (await visible_batches(session, now)).upto


@dataclass(frozen=True)
class Chunk:
    """Readings of one import batch to match, and when that import finished (None: it died)."""

    batch: int
    imported_at: datetime | None
    readings: list[NewReading]


async def _next_chunk(db: Database, done: int, position: int, upto: int, size: int) -> Chunk | None:
    """The next readings to match, or None when everything up to `upto` is matched."""
    async with db.session() as session:
        batch = await session.scalar(
            select(func.min(Reading.changed_batch)).where(
                Reading.changed_batch > done,
                Reading.changed_batch <= upto,
                Reading.changed_batch.not_in(
                    select(ImportBatch.id).where(ImportBatch.state != BatchState.FINISHED)
                ),
            )
        )
        if batch is None:
            return None
        rows = (
            await session.scalars(
                select(Reading)
                .where(Reading.changed_batch == batch, Reading.id > (position if batch == done + 1 else 0))
                .order_by(Reading.id)
                .limit(size)
            )
        ).all()
        imported_at = await session.scalar(select(ImportBatch.finished_at).where(ImportBatch.id == batch))
        keys: dict[int, set[str]] = defaultdict(set)
        if rows:
            for key, pk in await session.execute(
                select(ReadingKey.key, ReadingKey.reading_pk).where(
                    ReadingKey.reading_pk.in_([row.id for row in rows])
                )
            ):
                keys[pk].add(key)
    return Chunk(
        batch=int(batch),
        imported_at=_aware(imported_at) if imported_at is not None else None,
        readings=[NewReading(row.id, row.reading_id, row, frozenset(keys[row.id])) for row in rows],
    )


async def _registry_size(db: Database) -> tuple[int, int]:
    """How many readings the registry holds, and the highest reading number."""
    async with db.session() as session:
        total, upto = (await session.execute(select(func.count(), func.max(Reading.id)))).one()
    return int(total or 0), int(upto or 0)


@contextlib.asynccontextmanager
async def _registry_in_memory(db: Database, searched: RegistrySearch | None) -> AsyncIterator[Registry]:
    """The whole registry in memory, to count what forward searches see.

    In the bot's process that is the registry index its searches use (`searched`: refreshed, and held
    unchanged while the counts are made): a second copy would double the memory of a large registry.
    Elsewhere (`amanat match`) it is loaded for the pass from the stored derived data, then let go.
    """
    if isinstance(searched, LoadingRegistry) and searched.index is not None:  # the bot's, loaded
        searched = searched.index
    if isinstance(searched, RegistryIndex):
        await searched.refresh(force=True)
        async with searched.unchanged() as registry:
            yield registry
        return
    index = await RegistryIndex.load(db)
    try:
        async with index.unchanged() as registry:
            yield registry
    finally:
        await index.close()


def _reading_snapshot(row: Reading) -> dict[str, Any]:
    """What the notification shows of the reading (kept in the payload: the message renders offline)."""
    return {
        key: getattr(row, key)
        for key in (
            "surname",
            "name",
            "patronymic",
            "birth_year",
            "birthplace",
            "found_place",
            "found_date",
            "search_unit",
            "burial_place",
        )
        if getattr(row, key)
    }


def choose_notifications(
    candidates: Sequence[Candidate], person_of: Callable[[int], int]
) -> set[tuple[int, int]]:
    """The (search index, reading pk) pairs that deserve a message; see the module docstring."""
    per_search: dict[int, list[Candidate]] = defaultdict(list)
    for candidate in candidates:
        # the rule was chosen among pairs at RECORD_MIN_SCORE or above: one recorded below it for the
        # review queue (RECORD_MIN_JOINT) is never announced, whatever its `alone`
        if candidate.alone >= NOTIFY_MIN_ALONE and candidate.score >= RECORD_MIN_SCORE:
            per_search[candidate.search_index].append(candidate)
    best: list[Candidate] = []
    for group in per_search.values():
        group.sort(key=lambda c: (not c.strong, -c.score, c.reading_pk))
        best.extend(group[:MAX_NOTIFY_PER_SEARCH])
    # A person with two searches that both fit a reading is told about the reading once (the better fit).
    best.sort(key=lambda c: (not c.strong, -c.score, c.search_index))
    chosen: set[tuple[int, int]] = set()
    told: set[tuple[int, int]] = set()
    for candidate in best:
        person = person_of(candidate.search_index)
        if (person, candidate.reading_pk) in told:
            continue
        told.add((person, candidate.reading_pk))
        chosen.add((candidate.search_index, candidate.reading_pk))
    return chosen


async def _record_chunk(
    db: Database,
    index: SavedSearchIndex,
    chunk: Chunk,
    candidates: Sequence[Candidate],
    *,
    done: int,
    position: int,
    now: datetime,
) -> tuple[int, int]:
    """One transaction: matches (insert-or-ignore), their notifications, counters, the watermark.

    A search deleted, paused or forgotten (/forget) since the pass read it, or a reading deleted since the
    chunk was read, is skipped: nothing is recorded or announced for it, and the pass goes on.
    """
    readings = chunk.readings
    by_pk = {reading.pk: reading for reading in readings}
    imported_at = chunk.imported_at
    new_matches = 0
    queued = 0
    async with db.session() as session:
        # The watermark first: on SQLite this write takes the database's write lock, so nothing read below
        # can vanish before this transaction commits (on PostgreSQL the rows read are locked instead).
        await _set_watermark(session, WATERMARK, done, now)
        await _set_watermark(session, POSITION, position, now)
        candidates = await _still_there(session, index, candidates)
        # A reading whose import had finished before the search was saved was there for the relative's own
        # search to show: it is recorded, but not announced as new.
        news = [
            c for c in candidates if imported_at is None or imported_at >= index.created_at[c.search_index]
        ]
        notify = choose_notifications(news, index.person_ids.__getitem__)
        ordered = sorted(candidates, key=lambda c: (not c.strong, -c.score, c.search_index, c.reading_pk))
        if ordered:
            insert = _insert(session)
            statement = (
                insert(Match)
                .on_conflict_do_nothing(index_elements=[Match.request_id, Match.reading_pk])
                .returning(Match.id, Match.request_id, Match.reading_pk)
            )
            rows = [
                {
                    "request_id": index.ids[c.search_index],
                    "reading_pk": c.reading_pk,
                    "score": c.score,
                    "alone": round(c.alone, 6),
                    "joint": round(c.joint, 6),
                    "strong": c.strong,
                    "reasons": c.reasons,
                    "notification": (
                        NotificationState.QUEUED
                        if (c.search_index, c.reading_pk) in notify
                        else NotificationState.SKIPPED
                    ),
                    "created_at": now,
                }
                for c in ordered
            ]
            inserted = {
                (request_id, reading_pk): match_id
                for match_id, request_id, reading_pk in (await session.execute(statement, rows)).all()
            }
            new_matches = len(inserted)
            messages = []
            for c in ordered:
                request_id = index.ids[c.search_index]
                match_id = inserted.get((request_id, c.reading_pk))
                if match_id is None or (c.search_index, c.reading_pk) not in notify:
                    continue
                reading = by_pk[c.reading_pk]
                messages.append(
                    {
                        "chat_id": index.person_ids[c.search_index],
                        "kind": "match",
                        "dedup_key": f"match:{match_id}",
                        "payload": {
                            "match_id": match_id,
                            "request_id": request_id,
                            "request": index.summary(c.search_index),
                            "reading_pk": reading.pk,
                            "reading_id": reading.reading_id,
                            "reading": _reading_snapshot(reading.row),
                            "score": round(c.score, 1),
                            "strong": c.strong,
                            "reasons": c.reasons,
                        },
                    }
                )
            queued = await enqueue_many(session, messages, now=now)
        if readings and len(index):
            await session.execute(
                update(SearchRequest)
                .where(SearchRequest.status == RequestStatus.ACTIVE)
                .values(checked_readings=SearchRequest.checked_readings + len(readings))
            )
    return new_matches, queued


async def _still_there(
    session: AsyncSession, index: SavedSearchIndex, candidates: Sequence[Candidate]
) -> list[Candidate]:
    """The candidates whose search is still active (its person too) and whose reading still exists.

    On PostgreSQL those rows are locked (FOR SHARE) until the caller's transaction ends, so a concurrent
    /forget or delete waits for it instead of breaking its foreign keys.
    """
    if not candidates:
        return []
    request_ids = sorted({index.ids[c.search_index] for c in candidates})
    reading_pks = sorted({c.reading_pk for c in candidates})
    searches = (
        select(SearchRequest.id)
        .join(Person, Person.id == SearchRequest.person_id)
        .where(
            SearchRequest.id.in_(request_ids),
            SearchRequest.status == RequestStatus.ACTIVE,
            Person.active.is_(True),
        )
    )
    present = select(Reading.id).where(Reading.id.in_(reading_pks))
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        searches = searches.with_for_update(read=True, of=SearchRequest)
        present = present.with_for_update(read=True)
    active = set((await session.scalars(searches)).all())
    existing = set((await session.scalars(present)).all())
    kept = [c for c in candidates if index.ids[c.search_index] in active and c.reading_pk in existing]
    if len(kept) < len(candidates):
        log.info(
            "matching: %s pairs skipped: their search or reading vanished during the pass",
            len(candidates) - len(kept),
        )
    return kept


async def load_active_searches(db: Database, ids: Collection[int] | None = None) -> list[ActiveSearch]:
    """Every active saved search (or those of `ids`) of a person who has not blocked the bot."""
    columns = [SearchRequest.id, SearchRequest.person_id] + [
        getattr(SearchRequest, name)
        for name in ActiveSearch.__dataclass_fields__
        if name not in ("id", "person_id")
    ]
    wanted = [SearchRequest.status == RequestStatus.ACTIVE, Person.active.is_(True)]
    if ids is not None:
        wanted.append(SearchRequest.id.in_(sorted(ids)))
    async with db.session() as session:
        rows = await session.execute(
            select(*columns)
            .join(Person, Person.id == SearchRequest.person_id)
            .where(*wanted)
            .order_by(SearchRequest.id)
        )
        return [ActiveSearch(**row._mapping) for row in rows]


async def _store_search_keys(db: Database, stale: Mapping[int, dict[str, Any]]) -> None:
    """Keep the keys derived this pass, so the next pass reads them instead of deriving them again."""
    # A plain (Core) UPDATE per row, not the ORM's bulk update by primary key: a search deleted since the
    # pass read it (/forget) updates no row, which is no error.
    table = cast(Table, SearchRequest.__table__)
    statement = (
        update(table).where(table.c.id == bindparam("search_id")).values(derived=bindparam("new_derived"))
    )
    items = [{"search_id": request_id, "new_derived": derived} for request_id, derived in stale.items()]
    for start in range(0, len(items), 5000):
        async with db.session() as session:
            await session.execute(statement, items[start : start + 5000])


async def run_matching_pass(
    db: Database,
    settings: Settings,
    *,
    registry: RegistrySearch | None = None,
    now: datetime | None = None,
) -> MatchingReport:
    """Match every reading imported since the last pass against the active saved searches (see above).

    ``registry`` is the process's registry search, if it has one: an in-memory one is counted on instead
    of loading a second copy.
    """
    started = time.perf_counter()
    report = MatchingReport()
    if isinstance(registry, LoadingRegistry) and registry.loading:
        # Neither a second copy of the registry nor a wait that would hold up a stop: the next tick runs it.
        log.info("matching: the registry index is still loading; the pass runs at the next tick")
        report.ran = False
        return report
    # Loading the searches, building the index and scoring make millions of containers that live for the
    # pass: collections meanwhile would walk them again and again (bot.services.gc_pause).
    with no_cyclic_collection():
        async with job_lock(db, LOCK_NAME) as lock:
            if not lock.acquired:
                log.info("matching: another pass holds the lock; skipping")
                report.ran = False
                return report
            fault_point("matching-locked")
            clock = now or utcnow()
            # Building the index and scoring are CPU work: in a thread, so the bot's event loop keeps answering.
            searches = await load_active_searches(db)
            total, upto = await _registry_size(db)
            if any(not sums_are_fresh(search.derived, total) for search in searches):
                # Some searches are new or outgrown: count them again against the whole registry in memory.
                async with _registry_in_memory(db, registry) as in_memory:
                    index = await asyncio.to_thread(
                        SavedSearchIndex, searches, total=total, registry=in_memory, upto=upto
                    )
            else:
                index = await asyncio.to_thread(
                    SavedSearchIndex, searches, total=total, registry=None, upto=upto
                )
            report.searches = len(index)
            if index.stale:
                await _store_search_keys(db, index.stale)
            async with db.session() as session:
                done = await _watermark(session, WATERMARK)
                position = await _watermark(session, POSITION)
                upto = await _last_ready_batch(session, clock)
            size = settings.matching.batch_size
            while True:
                chunk = await _next_chunk(db, done, position, upto, size)
                if chunk is None:
                    if upto > done:  # batches without readings (or with none left): move past them
                        done, position = upto, 0
                        async with db.session() as session:
                            await _set_watermark(session, WATERMARK, done, now or utcnow())
                            await _set_watermark(session, POSITION, 0, now or utcnow())
                    break
                batch, readings = chunk.batch, chunk.readings
                if not readings:  # the rest of this batch was matched before
                    done, position = batch, 0
                    async with db.session() as session:
                        await _set_watermark(session, WATERMARK, done, now or utcnow())
                        await _set_watermark(session, POSITION, 0, now or utcnow())
                    continue
                candidates: list[Candidate] = []
                if len(index):
                    candidates, scored = await asyncio.to_thread(index.match, readings, total=total)
                    report.pairs_scored += scored
                if len(readings) < size:
                    done, position = batch, 0
                else:
                    done, position = batch - 1, readings[-1].pk
                log.debug(
                    "matching: %d readings scored up to reading %s of batch %s",
                    len(readings),
                    position,
                    batch,
                )
                fault_point("matching-scored")
                matches, queued = await _record_chunk(
                    db,
                    index,
                    chunk,
                    candidates,
                    done=done,
                    position=position,
                    now=now or utcnow(),
                )
                report.readings += len(readings)
                report.chunks += 1
                report.matches += matches
                report.notifications += queued
                fault_point("matching-chunk")
            report.watermark = done
            async with db.session() as session:
                await _set_watermark(session, LAST_PASS, report.readings, now or utcnow())
    report.seconds = time.perf_counter() - started
    return report


@dataclass(frozen=True)
class MatchingStats:
    """Saved searches, matches and the matching job's progress, for admins (/stats)."""

    searches: dict[str, int]
    matches: int
    strong: int
    notified: int
    watermark: int
    last_pass_at: datetime | None


async def matching_stats(db: Database) -> MatchingStats:
    """Counts for /stats."""
    async with db.session() as session:
        searches = {
            str(status): int(count)
            for status, count in await session.execute(
                select(SearchRequest.status, func.count()).group_by(SearchRequest.status)
            )
        }
        total, strong, notified = (
            await session.execute(
                select(
                    func.count(),
                    func.count().filter(Match.strong.is_(True)),
                    func.count().filter(Match.notification == NotificationState.QUEUED),
                ).select_from(Match)
            )
        ).one()
        mark = (await session.execute(select(Watermark).where(Watermark.name == WATERMARK))).scalar()
    return MatchingStats(
        searches=searches,
        matches=int(total),
        strong=int(strong),
        notified=int(notified),
        watermark=mark.value if mark else 0,
        last_pass_at=_aware(mark.updated_at) if mark else None,
    )


@dataclass(frozen=True)
class SearchFit:
    """A saved search that a reading fits well enough to tell its relative, and why."""

    search: ActiveSearch
    summary: str
    candidate: Candidate


async def _saved_search_index(
    db: Database, registry: RegistrySearch | None, search_ids: Collection[int] | None = None
) -> tuple[SavedSearchIndex, int] | None:
    """The active saved searches (all, or those of `search_ids`) indexed in reverse as the pass indexes
    them, and the registry's size; None when there are none. The registry is held in memory only when
    some search's sums must be counted again (as in the pass)."""
    searches = await load_active_searches(db, search_ids)
    if not searches:
        return None
    total, upto = await _registry_size(db)
    if any(not sums_are_fresh(search.derived, total) for search in searches):
        async with _registry_in_memory(db, registry) as memory:
            index = await asyncio.to_thread(
                SavedSearchIndex, searches, total=total, registry=memory, upto=upto
            )
    else:
        index = await asyncio.to_thread(SavedSearchIndex, searches, total=total, registry=None, upto=upto)
    if index.stale:
        await _store_search_keys(db, index.stale)
    return index, total


async def searches_matching(
    db: Database,
    readings: Sequence[NewReading],
    *,
    registry: RegistrySearch | None = None,
    search_ids: Collection[int] | None = None,
) -> list[SearchFit]:
    """The active saved searches (all, or those of `search_ids`) that readings fit by the pass's own rule
    (`choose_notifications`), strongest first: the engine run in reverse, as the pass runs it, for a few
    readings (an appeal's soldier against every search; a search just saved against the open appeals).
    Each fit's `candidate.reading_pk` is the pk of its reading in `readings` (distinct pks, please)."""
    if not readings:
        return []
    built = await _saved_search_index(db, registry, search_ids)
    if built is None:
        return []
    index, total = built
    candidates, _ = index.match(readings, total=total)
    chosen = choose_notifications(candidates, lambda i: index.person_ids[i])
    fits = [c for c in candidates if (c.search_index, c.reading_pk) in chosen]
    fits.sort(key=lambda c: (not c.strong, -c.score, c.search_index))
    return [SearchFit(index.searches[c.search_index], index.summary(c.search_index), c) for c in fits]


async def reading_for_matching(db: Database, reading_id: str) -> NewReading | None:
    """A registry reading (by its id) with its stored keys, as the pass matches it; None: no such reading."""
    async with db.session() as session:
        row = await session.scalar(select(Reading).where(Reading.reading_id == reading_id).limit(1))
        if row is None:
            return None
        keys = await session.scalars(select(ReadingKey.key).where(ReadingKey.reading_pk == row.id))
        return NewReading(row.id, row.reading_id, row, frozenset(keys))


async def match_reading_now(
    db: Database, reading: NewReading, *, registry: RegistrySearch | None = None, now: datetime | None = None
) -> int:
    """One reading against every active saved search at request time (/family): a reading imported before
    a relative saved their search was never paired with it by a pass. The engine's reverse match, as the
    pass runs it; its pairs are recorded as the pass records them (insert-or-ignore on the pair), announced
    to nobody ("skipped", as the pass records a reading older than the search: they wait in the review
    queue). How many pairs were new."""
    built = await _saved_search_index(db, registry)
    if built is None:
        return 0
    index, total = built
    candidates, _ = await asyncio.to_thread(index.match, [reading], total=total)
    if not candidates:
        return 0
    async with db.session() as session:
        candidates = await _still_there(session, index, candidates)
        if not candidates:
            return 0
        statement = (
            _insert(session)(Match)
            .on_conflict_do_nothing(index_elements=[Match.request_id, Match.reading_pk])
            .returning(Match.id)
        )
        rows = [
            {
                "request_id": index.ids[c.search_index],
                "reading_pk": c.reading_pk,
                "score": c.score,
                "alone": round(c.alone, 6),
                "joint": round(c.joint, 6),
                "strong": c.strong,
                "reasons": c.reasons,
                "notification": NotificationState.SKIPPED,
                "created_at": now or utcnow(),
            }
            for c in candidates
        ]
        return len((await session.execute(statement, rows)).all())
