"""The matching job: new registry readings checked against relatives' saved searches, and what they are told.

One pass (`run_matching_pass`), the same code for the scheduler and `amanat match`:

1. Takes the job lock "matching" (bot.services.locks); if another process holds it, the pass is skipped.
2. Builds, once, an in-memory index of the ACTIVE saved searches: each search's blocking keys (the same
   `query_keys` the forward search uses, stored in `SearchRequest.derived` after the first pass) point
   back at the search. Paused and deleted searches are not in it, so nothing is matched for them while
   paused (a resumed search picks up from the next import on).
3. Walks the readings imported since the watermark, in import-batch order and in chunks of
   `matching.batch_size`. Only finished imports are taken (an import still being written is left for the
   next pass; one abandoned for `STALE_IMPORT` by a crashed importer is taken as it is). Each reading's
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

Delivery (bot.services.outbox) is separate: `run_matching_pass_cli` runs one pass and then delivers what is
pending through the Bot API. The heartbeat (`queue_heartbeats`) tells relatives with active searches how
many new readings were checked for them since the last heartbeat.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.services.collector import no_cyclic_collection
from bot.services.locks import job_lock
from bot.services.outbox import Button, enqueue_many
from models import (
    Database,
    ImportBatch,
    Match,
    NotificationState,
    OutboxMessage,
    OutboxState,
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
# Scores are 0-100 (about the probability, in percent, that the reading is the man).
RECORD_MIN_SCORE = 20.0
# A match is announced when, against "he is not in the registry" alone (`Candidate.alone`, before the
# competition of the registry's other readings, so a second reading of the same man is announced too),
# its chance is at least this. Chosen on a full-size run (10,000 x 100,000) of bench/matching.py's dev
# seed 52026 as the lowest threshold with precision >= 0.85 on planted pairs (a relative must not be told
# about the wrong man), reported on seed 90001; see bench/README.md "Matching".
NOTIFY_MIN_ALONE = 0.97
MAX_NOTIFY_PER_SEARCH = 5
NON_SURNAME = ("name", "patronymic", "year", "place", "family", "relative")
# An import that has not finished after this long is taken to have died; its readings are matched.
STALE_IMPORT = timedelta(hours=6)
# Test hook: `AMANAT_FAULT=after-matching` makes `amanat match` exit hard right after the matching
# transactions committed and before anything is sent (tests/matching prove nothing is lost or doubled).
FAULT_ENV = "AMANAT_FAULT"


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
        if not self.ran:
            return "matching: another pass is running; skipped"
        return (
            f"matching: {self.readings} new readings against {self.searches} active saved searches; "
            f"{self.matches} new matches, {self.notifications} notifications queued "
            f"(watermark {self.watermark}, {self.seconds:.1f} s)"
        )


@dataclass(frozen=True)
class NewReading:
    """A reading of the chunk being matched, as the engine and the notification need it."""

    pk: int
    reading_id: str
    row: Reading
    keys: frozenset[str]


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


def search_summary(request: SearchRequest | ActiveSearch) -> str:
    """What the relative saved, in one plain line: "Легкодымов Емельян Тимофеевич, 1904"."""
    who = " ".join(part for part in (request.surname, request.name, request.patronymic) if part)
    if request.birth_year and request.birth_year_to and request.birth_year_to != request.birth_year:
        return f"{who}, {request.birth_year}–{request.birth_year_to}"
    if request.birth_year:
        return f"{who}, {request.birth_year}"
    return who


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

    def query(self) -> Any:
        """The engine's query for this search (the same mapping the dialogue uses)."""
        from bot.services.requests import SearchFields

        return SearchFields.from_mapping(vars(self)).to_query()


# A search's registry sums (what a forward search of the whole registry sees) are counted again when the
# registry has grown by more than this share since they were counted (or the engine version changed).
SUMS_REFRESH_GROWTH = 0.10


def sums_are_fresh(stored: Mapping[str, Any] | None, total: int) -> bool:
    """True when a search's stored registry sums are of this engine and the registry has not outgrown them."""
    from bot.search import QUERY_VERSION

    if not stored or stored.get("v") != QUERY_VERSION or stored.get("t") is None:
        return False
    counted = int(stored["t"][0])
    return total <= counted * (1 + SUMS_REFRESH_GROWTH) and (counted > 0 or total == 0)


class SavedSearchIndex:
    """The active saved searches, indexed by their blocking keys, for matching readings in reverse.

    Built once per pass. A search's keys (the engine's `query_keys`), its profile and its registry sums
    (`bot.search.reverse.RegistrySums`: per surname category, how many of the registry's readings a forward
    search of it blocks, and their competition) are stored in `SearchRequest.derived` with the engine
    version; a search saved since the last pass, or whose sums the registry has outgrown by 10 %, is
    derived or counted again (`registry` is then the whole registry in memory); `stale` lists those, for
    the pass to store.

    `match(readings, total)` scores every pair of a new reading and a search sharing a key with it so that
    the reading gets the score the relative would see in a forward search of the whole registry: the
    surname weighs by the registry's counts, and the chance competes with the registry's other candidates.
    Pairs whose surnames the engine calls "weak" are dropped (one verdict per distinct pair of surnames);
    the other fields are judged once per distinct pair of values in the pass and summed with numpy.
    """

    def __init__(
        self,
        searches: Sequence[ActiveSearch],
        *,
        total: int = 0,
        registry: Any = None,
        upto: int = 0,
    ) -> None:
        from bot.search import QUERY_VERSION, query_keys
        from bot.search.engine import Profile, query_profile
        from bot.search.reverse import FieldWeights, RegistrySums, RegistryView

        self.searches = list(searches)
        self.ids = [search.id for search in self.searches]
        self.person_ids = [search.person_id for search in self.searches]
        self.created_at = [_aware(search.created_at) for search in self.searches]
        self.stale: dict[int, dict[str, Any]] = {}
        self.fields = FieldWeights()
        self._summaries: dict[int, str] = {}
        self._profiles: list[Any] = []
        self._sums: list[Any] = []
        view: Any = None
        by_key: dict[str, list[int]] = defaultdict(list)
        kept = 0
        for search in self.searches:
            stored = search.derived or {}
            current = stored.get("v") == QUERY_VERSION and stored.get("k") is not None
            if current:
                keys = stored["k"]
                profile = Profile.from_json(stored["p"]) if stored.get("p") is not None else None
            else:
                query = search.query()
                profile = query_profile(query)
                keys = sorted(query_keys(query))
            sums = None
            if profile is not None:
                if current and sums_are_fresh(stored, total):
                    sums = RegistrySums.from_json(stored["t"])
                elif registry is not None:
                    if view is None:
                        view = RegistryView(registry, self.fields, upto)
                    sums = view.sums(profile, keys, self.fields.query_ids(profile))
            if not current or (sums is not None and stored.get("t") != sums.to_json()):
                self.stale[search.id] = {
                    "v": QUERY_VERSION,
                    "k": keys,
                    "p": profile.to_json() if profile else None,
                    "t": sums.to_json() if sums is not None else None,
                }
            self._profiles.append(profile)
            self._sums.append(sums)
            if profile is None or sums is None:
                continue  # nothing to match (or no registry to count against: matched next pass)
            kept += 1
            for key in keys:
                by_key[key].append(len(self._profiles) - 1)
        self._by_key = {key: np.asarray(found, dtype=np.int64) for key, found in by_key.items()}
        self._prepared_total = -1
        self._surname_verdicts: dict[tuple[int, str], int] = {}
        # per search: the number of its surname, its field values' numbers
        surname_numbers: dict[str, int] = {}
        self._surnames: list[Any] = []
        self._surname_of = np.zeros(len(self.searches), dtype=np.int64)
        self._q_ids = np.zeros((len(NON_SURNAME), len(self.searches)), dtype=np.int64)
        self._upto = np.zeros(len(self.searches), dtype=np.int64)
        for i, profile in enumerate(self._profiles):
            if profile is None or self._sums[i] is None:
                continue
            number = surname_numbers.get(profile.surname.raw)
            if number is None:
                number = surname_numbers[profile.surname.raw] = len(self._surnames)
                self._surnames.append(profile.surname)
            self._surname_of[i] = number
            self._q_ids[:, i] = self.fields.query_ids(profile)
            self._upto[i] = self._sums[i].upto

    def __len__(self) -> int:
        return len(self.searches)

    def summary(self, index: int) -> str:
        found = self._summaries.get(index)
        if found is None:
            search = self.searches[index]
            found = self._summaries[index] = search_summary(search)
        return found

    def candidates(self, keys: Iterable[str]) -> np.ndarray:
        """The searches sharing at least one blocking key with a reading."""
        parts = [hits for key in keys if (hits := self._by_key.get(key)) is not None]
        if not parts:
            return np.zeros(0, dtype=np.int64)
        if len(parts) == 1:
            return parts[0]
        return np.unique(np.concatenate(parts))

    def _prepare(self, total: int) -> None:
        """Surname weights and the registry's competition of every search, for a registry of `total`."""
        from bot.search.reverse import SURNAME_CATEGORIES

        if total == self._prepared_total:
            return
        weights = np.zeros((len(self.searches), len(SURNAME_CATEGORIES)))
        competition = np.zeros(len(self.searches))
        for i, sums in enumerate(self._sums):
            if sums is not None:
                weights[i] = sums.surname_weights(total)
                competition[i] = sums.competition(weights[i])
        self._weights, self._competition, self._prepared_total = weights, competition, total

    def _surname_codes(self, numbers: np.ndarray, reading: Any) -> np.ndarray:
        """The surname category (its number) of each search surname against a reading's surname."""
        from bot.search.engine import compare_surnames
        from bot.search.reverse import SURNAME_CATEGORIES

        distinct, inverse = np.unique(numbers, return_inverse=True)
        verdicts = self._surname_verdicts
        raw = reading.raw
        codes = np.empty(len(distinct), dtype=np.int64)
        for i, number in enumerate(distinct.tolist()):
            key = (number, raw)
            code = verdicts.get(key)
            if code is None:
                category = compare_surnames(self._surnames[number], reading)[0]
                code = verdicts[key] = SURNAME_CATEGORIES.index(category)
            codes[i] = code
        return codes[inverse.reshape(-1)]

    def match(self, readings: Sequence[NewReading], *, total: int) -> tuple[list[Candidate], int]:
        """Scored pairs above RECORD_MIN_SCORE, and how many pairs were scored."""
        from bot.search import derive
        from bot.search.engine import FITTED, Profile, QueryScorer
        from bot.search.reverse import SURNAME_CATEGORIES
        from bot.services.registry_search import record_of_reading

        weak = SURNAME_CATEGORIES.index("weak")
        total = max(total, 1)
        self._prepare(total)
        fields = self.fields
        search_parts: list[np.ndarray] = []
        reading_parts: list[np.ndarray] = []
        odds_parts: list[np.ndarray] = []
        profiles: list[Any] = []
        for number, reading in enumerate(readings):
            found = self.candidates(reading.keys)
            if not found.size:
                profiles.append(None)
                continue
            data = reading.row.derived or {}
            profile = (
                Profile.from_json(data)
                if data.get("s") is not None
                else derive(record_of_reading(reading.row)).profile
            )
            profiles.append(profile)
            if profile is None:
                continue
            codes = self._surname_codes(self._surname_of[found], profile.surname)
            keep = codes != weak
            if not keep.any():
                continue
            found, codes = found[keep], codes[keep]
            log_odds = self._weights[found, codes]
            for f, r_id in enumerate(fields.reading_ids(profile)):
                log_odds += fields.weights_of_queries(f, self._q_ids[f][found], r_id)
            search_parts.append(found)
            reading_parts.append(np.full(found.size, number, dtype=np.int64))
            odds_parts.append(log_odds)
        if not search_parts:
            return [], 0
        searches = np.concatenate(search_parts)
        reading_numbers = np.concatenate(reading_parts)
        log_odds = np.concatenate(odds_parts)
        model = FITTED
        offset = model.prior - math.log(total)
        own = np.exp(log_odds / model.temperature)
        # readings the registry sums have not counted yet (imported after they were counted) compete too
        pks = np.asarray([reading.pk for reading in readings], dtype=np.int64)[reading_numbers]
        newer = pks > self._upto[searches]
        extra = np.bincount(searches, weights=own * newer, minlength=len(self.searches))
        denominator = math.exp(-offset) + self._competition[searches] + extra[searches]
        chances = own / denominator
        alone = own / (math.exp(-offset) + own)
        kept: list[Candidate] = []
        for k in np.flatnonzero(chances * 100.0 >= RECORD_MIN_SCORE - 0.05).tolist():
            index, number = int(searches[k]), int(reading_numbers[k])
            score = round(100.0 * float(chances[k]), 1)
            if score < RECORD_MIN_SCORE:
                continue
            verdicts = QueryScorer(self._profiles[index]).verdicts(profiles[number])
            kept.append(
                Candidate(
                    search_index=index,
                    reading_pk=readings[number].pk,
                    score=score,
                    strong=bool(chances[k] >= model.strong_cutoff),
                    reasons=[[v.reason.code, dict(v.reason.args)] for v in verdicts if v.reason is not None],
                    alone=float(alone[k]),
                )
            )
        return kept, int(searches.size)


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
    """The highest import batch id such that every batch up to it has finished (or died long ago)."""
    stale_before = now - STALE_IMPORT
    first_running = await session.scalar(
        select(func.min(ImportBatch.id)).where(
            ImportBatch.finished_at.is_(None), ImportBatch.started_at > stale_before
        )
    )
    if first_running is not None:
        return int(first_running) - 1
    return int(await session.scalar(select(func.max(ImportBatch.id))) or 0)


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
                Reading.changed_batch > done, Reading.changed_batch <= upto
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
async def _registry_in_memory(db: Database) -> AsyncIterator[Any]:
    """The whole registry in memory, to count what forward searches see.

    In the bot's process that is its own registry index (refreshed, and held unchanged while the counts
    are made): a second copy would double the memory of a large registry. Elsewhere (`amanat match`) it is
    loaded once from the stored derived data, as the index loads it.
    """
    from bot.services.registry_index import RegistryIndex
    from bot.services.registry_search import attached_index

    index = attached_index(db)
    if index is None:
        index = await RegistryIndex.load(db)
    else:
        await index.refresh(db, force=True)
    async with index.unchanged() as registry:
        yield registry


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
        if candidate.alone >= NOTIFY_MIN_ALONE:
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
    """One transaction: matches (insert-or-ignore), their notifications, counters, the watermark."""
    readings = chunk.readings
    by_pk = {reading.pk: reading for reading in readings}
    imported_at = chunk.imported_at
    # A reading whose import had finished before the search was saved was there for the relative's own
    # search to show: it is recorded, but not announced as new.
    news = [c for c in candidates if imported_at is None or imported_at >= index.created_at[c.search_index]]
    notify = choose_notifications(news, index.person_ids.__getitem__)
    ordered = sorted(candidates, key=lambda c: (not c.strong, -c.score, c.search_index, c.reading_pk))
    new_matches = 0
    queued = 0
    async with db.session() as session:
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
        await _set_watermark(session, WATERMARK, done, now)
        await _set_watermark(session, POSITION, position, now)
    return new_matches, queued


async def load_active_searches(db: Database) -> list[ActiveSearch]:
    """Every active saved search of a person who has not blocked the bot."""
    columns = [SearchRequest.id, SearchRequest.person_id] + [
        getattr(SearchRequest, name)
        for name in ActiveSearch.__dataclass_fields__
        if name not in ("id", "person_id")
    ]
    async with db.session() as session:
        rows = await session.execute(
            select(*columns)
            .join(Person, Person.id == SearchRequest.person_id)
            .where(SearchRequest.status == RequestStatus.ACTIVE, Person.active.is_(True))
            .order_by(SearchRequest.id)
        )
        return [ActiveSearch(**row._mapping) for row in rows]


async def _store_search_keys(db: Database, stale: Mapping[int, dict[str, Any]]) -> None:
    """Keep the keys derived this pass, so the next pass reads them instead of deriving them again."""
    items = [{"id": request_id, "derived": derived} for request_id, derived in stale.items()]
    for start in range(0, len(items), 5000):
        async with db.session() as session:
            await session.execute(update(SearchRequest), items[start : start + 5000])


async def run_matching_pass(
    db: Database, settings: Settings, *, now: datetime | None = None
) -> MatchingReport:
    """Match every reading imported since the last pass against the active saved searches (see above)."""
    started = time.perf_counter()
    report = MatchingReport()
    # Loading the searches, building the index and scoring make millions of containers that live for the
    # pass: collections meanwhile would walk them again and again (bot.services.collector).
    with no_cyclic_collection():
        async with job_lock(db, LOCK_NAME) as lock:
            if not lock.acquired:
                log.info("matching: another pass holds the lock; skipping")
                report.ran = False
                return report
            clock = now or utcnow()
            # Building the index and scoring are CPU work: in a thread, so the bot's event loop keeps answering.
            searches = await load_active_searches(db)
            total, upto = await _registry_size(db)
            if any(not sums_are_fresh(search.derived, total) for search in searches):
                # Some searches are new or outgrown: count them again against the whole registry in memory.
                async with _registry_in_memory(db) as registry:
                    index = await asyncio.to_thread(
                        SavedSearchIndex, searches, total=total, registry=registry, upto=upto
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
                await lock.renew()
            report.watermark = done
            async with db.session() as session:
                await _set_watermark(session, LAST_PASS, report.readings, now or utcnow())
    report.seconds = time.perf_counter() - started
    log.info("%s", report.summary())
    return report


def _fault_point(name: str) -> None:
    """Exit hard (no cleanup, like a kill) when the test hook names this point."""
    if os.environ.get(FAULT_ENV) == name:
        log.warning("fault injection: exiting at %s", name)
        os._exit(70)


async def run_matching_pass_cli(settings: Settings) -> str:
    """`amanat match`: one pass now, the heartbeat if due, then deliver what is pending via the Bot API."""
    from bot.services.registry_search import open_database

    db = await open_database(settings)
    try:
        report = await run_matching_pass(db, settings)
        heartbeats = await queue_heartbeats(db, settings)
        _fault_point("after-matching")
        if not settings.telegram.token.get_secret_value():
            return report.summary() + "; no bot token, so nothing was sent (the bot sends it when it runs)"
        from handlers.notifications import deliver_all_via_bot_api

        delivery = await deliver_all_via_bot_api(db, settings)
        line = report.summary() + f"; delivery: {delivery.summary()}"
        if heartbeats:
            line += f"; {heartbeats} heartbeat messages queued"
        return line
    finally:
        await db.dispose()


# --------------------------------------------------------------------------------------------------
# The heartbeat: "we keep looking" with the number of readings checked since the last one
# --------------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------------
# Pause and resume (the dialogue's bot.services.requests saves, lists and deletes)
# --------------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------------
# Rendering (called by the outbox at delivery time, in the person's language)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredReason:
    """A reason as stored in a payload ([code, args]), in the shape `Translator.reason` takes."""

    code: str
    args: Mapping[str, Any] = field(default_factory=dict)


# Callback data of the buttons under a notification (well under Telegram's 64 bytes):
#   nrec:<match id>   show the full record of the matched reading (checked to be the person's own)
#   pause:<search id> stop matching that saved search (checked to be the person's own)
def record_button_data(match_id: int) -> str:
    return f"nrec:{match_id}"


def pause_button_data(request_id: int) -> str:
    return f"pause:{request_id}"


def resume_button_data(request_id: int) -> str:
    return f"resume:{request_id}"


MAX_REASONS = 8
MAX_VALUE = 300  # a reading's field is cut to this in a notification (the full record is one tap away)


def _clip(value: Any, limit: int = MAX_VALUE) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _reason_text(t: Any, reason: StoredReason) -> str:
    """A reason in words; a code this catalog does not know (a newer engine) reads as a neutral phrase."""
    if t.has(f"reason.{reason.code}"):
        try:
            return str(t.reason(reason))
        except KeyError:
            pass
    return str(t("reason.other"))


def render_match(payload: Mapping[str, Any], lang: str) -> tuple[str, tuple[tuple[Button, ...], ...]]:
    """The new-match notification: what the reading says, why it may be the man, and buttons."""
    from bot.i18n import Html, translator

    t = translator(lang)
    reading = {key: _clip(value) for key, value in (payload.get("reading") or {}).items()}
    who = " ".join(str(reading[k]) for k in ("surname", "name", "patronymic") if reading.get(k))
    lines = [
        t("notify.new_match.title", request=_clip(payload.get("request", ""))),
        "",
        t("notify.new_match.strong") if payload.get("strong") else t("notify.new_match.possible"),
        t(
            "notify.new_match.who",
            who=who or payload.get("reading_id", ""),
            born=reading.get("birth_year", "?"),
        ),
    ]
    if reading.get("found_place") or reading.get("found_date"):
        lines.append(
            t(
                "notify.new_match.found",
                place=reading.get("found_place") or "?",
                date=reading.get("found_date") or "?",
            )
        )
    if reading.get("search_unit"):
        lines.append(t("notify.new_match.unit", unit=reading["search_unit"]))
    if reading.get("burial_place"):
        lines.append(t("notify.new_match.burial", place=reading["burial_place"]))
    reasons = [StoredReason(code, args) for code, args in payload.get("reasons") or []]
    if reasons:
        lines.append("")
        lines.append(t("notify.new_match.why"))
        lines.extend(Html("• " + _reason_text(t, reason)) for reason in reasons[:MAX_REASONS])
    buttons = (
        (Button(t.plain("notify.button.record"), record_button_data(int(payload["match_id"]))),),
        (Button(t.plain("notify.button.pause"), pause_button_data(int(payload["request_id"]))),),
    )
    return "\n".join(lines), buttons


def render_heartbeat(payload: Mapping[str, Any], lang: str) -> tuple[str, tuple[tuple[Button, ...], ...]]:
    """The periodic "we keep looking" message, with plural forms."""
    from bot.i18n import translator

    t = translator(lang)
    searches = payload.get("searches") or []
    lines = [t("notify.heartbeat.title"), ""]
    for summary, checked in searches:
        lines.append(t.plural("notify.heartbeat.search", int(checked), search=summary))
    lines.append("")
    lines.append(t("notify.heartbeat.footer"))
    return "\n".join(lines), ()
