"""Reverse matching: a new reading against the saved requests of relatives.

The keys are built so that *a query's keys meet the keys of its man's reading*. Reverse matching uses
the very same pair, only indexed the other way round:

* each saved request is indexed under ``query_keys(request)`` (store them with ``ENGINE_VERSION``;
  rebuild when the version changes);
* a new reading looks up its own ``derive(reading).keys`` in that index; every request found shares a
  key with it, exactly as in a forward search;
* each request found is scored against its readings with the forward scorer (``rank_profiles``), so
  a reading gets the same score and reasons the relative would see when searching.

:class:`ReverseIndex` does this in memory (for the matching job on modest data and for tests); a
database-backed job does the same with a ``request_keys(key, request)`` table.

    index = ReverseIndex()
    index.add("request-17", Query("Lekhkodymov", "Emelyan", birth_year=1904))
    for request_id, match in index.match(new_readings):
        ...  # match.reading_id is the reading; match.score / strong / reasons as in a search
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable

from bot.search.engine import (
    Match,
    Profile,
    Query,
    Record,
    derive,
    query_keys,
    query_profile,
    rank_profiles,
)

__all__ = ["ReverseIndex"]


class ReverseIndex:
    """Saved requests indexed by their query keys, matched against new readings."""

    def __init__(self) -> None:
        self._requests: dict[str, tuple[Query, Profile]] = {}
        self._keys: dict[str, frozenset[str]] = {}
        self._by_key: dict[str, set[str]] = defaultdict(set)

    def add(self, request_id: str, q: Query) -> None:
        """Indexes (or re-indexes) a saved request."""
        self.remove(request_id)
        profile = query_profile(q)
        if profile is None:
            return
        keys = query_keys(q)
        self._requests[request_id] = (q, profile)
        self._keys[request_id] = keys
        for key in keys:
            self._by_key[key].add(request_id)

    def remove(self, request_id: str) -> None:
        """Forgets a request (closed, or the relative used /forget)."""
        for key in self._keys.pop(request_id, frozenset()):
            holders = self._by_key.get(key)
            if holders is not None:
                holders.discard(request_id)
                if not holders:
                    del self._by_key[key]
        self._requests.pop(request_id, None)

    def __len__(self) -> int:
        return len(self._requests)

    def match(
        self, readings: Iterable[Record], *, registry_size: int | None = None, limit: int = 5
    ) -> list[tuple[str, Match]]:
        """(request id, match) pairs: for each request, its best new readings, as a forward search ranks them.

        ``registry_size`` is the size of the whole registry (the readings' chance of agreeing by accident
        grows with it); by default the number of new readings.
        """
        per_request: dict[str, list[tuple[str, Profile]]] = defaultdict(list)
        surnames: Counter[str] = Counter()
        count = 0
        for reading in readings:
            count += 1
            derived = derive(reading)
            if derived.profile is None:
                continue
            surnames[derived.surname_norm] += 1
            found: set[str] = set()
            for key in derived.keys:
                found.update(self._by_key.get(key, ()))
            for request_id in found:
                per_request[request_id].append((reading.reading_id, derived.profile))
        total = max(registry_size or 0, count, 1)
        pairs: list[tuple[str, Match]] = []
        for request_id, candidates in per_request.items():
            _, profile = self._requests[request_id]
            for match in rank_profiles(profile, candidates, surnames.__getitem__, total, limit):
                pairs.append((request_id, match))
        return pairs
