"""The registry in memory for a long-lived process (the bot, the console): searches never touch the keys table.

:class:`RegistryIndex` is the in-memory implementation of
:class:`bot.services.registry_search.RegistrySearch`.

At 1,000,000 readings a search through the indexed ``reading_keys`` table loads and scores up to tens of
thousands of candidate rows per query; the in-memory :class:`bot.search.Registry` answers the same query
in milliseconds. :class:`RegistryIndex` loads that registry once at start from what the importer stored
(``Reading.derived``: nothing is derived again), then keeps it up to date incrementally: readings whose
``changed_batch`` is above the last import batch it has seen are loaded again (an updated reading
replaces its old entry). A search refreshes it at most every ``refresh_seconds``; a process that imports
calls :meth:`RegistryIndex.refresh` with ``force=True`` after the import.

Only finished imports are loaded (as in matching, see :mod:`bot.services.import_batches`): a batch
still being written becomes visible once its import finishes; one whose import died (lost) stays
hidden without hiding the batches after it, until an administrator finishes it (its readings then come
as a new batch) or rolls it back.

:func:`open_registry_index` loads the index and freezes the collector (``gc.freeze()``: a cyclic
collection walking millions of index objects would stall a query for seconds); whoever opened it hands
it to its users and closes it at shutdown.

:class:`LoadingRegistry` lets a process answer at once: it searches the database (:class:`StoredRegistry`)
while the index loads in the background (1M readings: about 25 s), then switches to the index. The bot
opens it so that processes can be restarted one by one without a gap in answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.search import ENGINE_VERSION, Query, Record, Registry
from bot.services.gc_pause import no_cyclic_collection
from bot.services.import_batches import visible_batches
from bot.services.registry_search import (
    Found,
    ReadingView,
    RegistrySearch,
    StoredRegistry,
    found_readings,
    get_reading,
)
from models import Database, Reading

__all__ = ["LoadingRegistry", "RegistryIndex", "open_registry_index"]

_LOGGER = logging.getLogger(__name__)

REFRESH_SECONDS = 10.0
_CHUNK = 5_000  # rows fetched and added at a time (small: the loop answers updates between chunks)
_FREEZE_AFTER = 50_000  # a refresh that adds this many readings freezes the collector again
_RECORD_COLUMNS = (  # in the order of Record's fields
    Reading.reading_id,
    Reading.surname,
    Reading.name,
    Reading.patronymic,
    Reading.birth_year,
    Reading.birthplace,
    Reading.draft_office,
    Reading.relative,
    Reading.family_address,
)


class RegistryIndex:
    """The stored registry as an in-memory :class:`Registry`, refreshed from the import batches."""

    def __init__(self, db: Database, *, refresh_seconds: float = REFRESH_SECONDS) -> None:
        self.db = db
        self.registry = Registry()
        self.refresh_seconds = refresh_seconds
        self.seen_batch = 0  # every reading changed by a batch up to this one is in the registry
        self.load_seconds = 0.0  # how long the first load took
        self._checked_at = -float("inf")
        self._lock = asyncio.Lock()
        self.froze_collector = False  # open_registry_index froze the collector for it: close thaws it
        self.search_observer: Callable[[float], None] | None = None  # told each search's seconds (metrics)

    def __len__(self) -> int:
        return len(self.registry)

    @classmethod
    async def load(cls, db: Database, *, refresh_seconds: float = REFRESH_SECONDS) -> RegistryIndex:
        """The registry as stored now, loaded in one pass."""
        index = cls(db, refresh_seconds=refresh_seconds)
        started = time.perf_counter()
        await index.refresh(force=True)
        index.load_seconds = time.perf_counter() - started
        return index

    @contextlib.asynccontextmanager
    async def unchanged(self) -> AsyncIterator[Registry]:
        """The registry, with refreshes held off meanwhile (another thread may read it; searches go on)."""
        async with self._lock:
            yield self.registry

    async def refresh(self, *, force: bool = False) -> int:
        """Loads readings of import batches finished since the last refresh; returns how many.

        Without ``force`` this does nothing when the last check was under ``refresh_seconds`` ago, or
        when another refresh is running (the search goes on with what is loaded).
        """
        now = time.monotonic()
        if not force and (now - self._checked_at < self.refresh_seconds or self._lock.locked()):
            return 0
        async with self._lock:
            self._checked_at = time.monotonic()
            async with self.db.engine.connect() as connection:
                visible = await visible_batches(connection)
                ready = visible.upto
                if ready <= self.seen_batch:
                    return 0
                with no_cyclic_collection():  # 1M readings: 78 s with the collector, 24 s without
                    added = await self._load(connection, self.seen_batch, ready, visible.hidden)
            self.seen_batch = ready
        if added >= _FREEZE_AFTER:
            gc.collect()
            gc.freeze()
        return added

    async def _load(
        self, connection: AsyncConnection, above: int, up_to: int, hidden: frozenset[int] = frozenset()
    ) -> int:
        """Adds the readings changed by batches in (above, up_to] but not `hidden` (lost) from their
        stored derived data."""
        columns = (Reading.reading_id, Reading.derived, Reading.engine_version, Reading.changed_batch)
        statement = select(*columns)
        if above > 0:  # a refresh: the batch index finds the few changed rows
            statement = statement.where(Reading.changed_batch > above, Reading.changed_batch <= up_to)
        registry = self.registry
        stale: list[str] = []
        added = 0
        result = await connection.stream(statement.execution_options(yield_per=_CHUNK))
        async for rows in result.partitions(_CHUNK):
            items: list[tuple[Record | str, dict[str, Any] | None]] = []
            for reading_id, derived, version, batch in rows:
                if batch > up_to or batch in hidden:  # a running import's (the first load reads every row)
                    continue  # or a lost one's
                if version != ENGINE_VERSION or not derived:
                    stale.append(reading_id)
                else:
                    items.append((reading_id, derived))
            registry.add_derived(items)
            added += len(items)
            await asyncio.sleep(0)  # let other tasks run between chunks
        # Keys of another engine version (reindex_if_stale has not run yet): derive those readings here.
        for start in range(0, len(stale), 1000):
            chunk = stale[start : start + 1000]
            found = await connection.execute(select(*_RECORD_COLUMNS).where(Reading.reading_id.in_(chunk)))
            registry.add(Record(*row) for row in found)
            added += len(chunk)
        return added

    async def search(self, query: Query, limit: int = 5) -> list[Found]:
        """The engine's matches for a query (refreshing first when due), as the database search ranks them."""
        started = time.perf_counter()
        try:
            await self.refresh()
            return await found_readings(self.db, self.registry.search(query, limit, registry_frequency=True))
        finally:
            if self.search_observer is not None:
                self.search_observer(time.perf_counter() - started)

    async def get(self, reading_id: str) -> ReadingView | None:
        return await get_reading(self.db, reading_id)

    async def size(self) -> int:
        return len(self.registry)

    async def close(self) -> None:
        """Drops the registry, so the memory it held is freed (thawing the collector if it was frozen for it)."""
        async with self._lock:
            self.registry = Registry()
            self.seen_batch = 0
        if self.froze_collector:
            self.froze_collector = False
            gc.unfreeze()


async def open_registry_index(db: Database, *, refresh_seconds: float = REFRESH_SECONDS) -> RegistryIndex:
    """Loads the registry into memory and freezes the collector (see the module docstring)."""
    index = await RegistryIndex.load(db, refresh_seconds=refresh_seconds)
    gc.collect()
    gc.freeze()
    index.froze_collector = True
    _LOGGER.info("registry index: %d readings loaded in %.1f s", len(index), index.load_seconds)
    return index


class LoadingRegistry:
    """A :class:`RegistrySearch` that answers from the database until the in-memory index has loaded.

    ``load`` (e.g. :func:`open_registry_index`) runs as a background task on the event loop (the index
    loads in chunks and yields between them, so updates are answered meanwhile); :attr:`index` is set
    when it is done. A failed load is logged and the database search stays.
    """

    def __init__(self, db: Database, load: Callable[[Database], Any]) -> None:
        self.stored = StoredRegistry(db)
        self.index: RegistryIndex | None = None
        self.started = time.perf_counter()
        self._task: asyncio.Task[None] = asyncio.create_task(self._load(db, load), name="registry-index-load")

    async def _load(self, db: Database, load: Callable[[Database], Any]) -> None:
        try:
            self.index = await load(db)
        except asyncio.CancelledError:
            raise
        except Exception:
            _LOGGER.exception("the registry index could not be loaded; searches stay on the database")

    @property
    def loading(self) -> bool:
        """Whether the index is still being loaded."""
        return not self._task.done()

    @property
    def current(self) -> RegistrySearch:
        """Where searches go now: the index once loaded, else the database."""
        return self.index if self.index is not None else self.stored

    async def loaded(self) -> RegistryIndex | None:
        """Wait for the load to end; the index (None if it failed)."""
        await asyncio.shield(self._task)
        return self.index

    async def search(self, query: Query, limit: int = 5) -> list[Found]:
        return await self.current.search(query, limit)

    async def get(self, reading_id: str) -> ReadingView | None:
        return await self.current.get(reading_id)

    async def size(self) -> int:
        return await self.current.size()

    async def close(self) -> None:
        """Stop a load still running and free the index."""
        if not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.index is not None:
            await self.index.close()
            self.index = None
