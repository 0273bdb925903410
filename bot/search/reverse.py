"""Reverse matching: a new reading against the saved requests of relatives.

The keys are built so that *a query's keys meet the keys of its man's reading*. Reverse matching uses
the very same pair, only indexed the other way round:

* each saved request is indexed under ``query_keys(request)`` (store them with ``QUERY_VERSION``;
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

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from bot.search.comparators import (
    compare_names,
    compare_patronymics,
    compare_places,
    compare_relatives,
    compare_surnames,
    compare_years,
)
from bot.search.keys import derive, query_keys
from bot.search.profiles import Profile, query_profile
from bot.search.registry import Registry
from bot.search.scoring import FIELDS, FITTED, Model, rank_profiles
from bot.search.types import Match, Query, Record

__all__ = ["FieldWeights", "RegistrySums", "RegistryView", "ReverseIndex"]


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


# --------------------------------------------------------------------------------------------------
# Scores in reverse that equal the forward search's
# --------------------------------------------------------------------------------------------------
#
# A forward search ranks ALL the readings of the registry that share a key with the query: a surname
# category weighs by how many of those readings fall into it (``query_weights``), and a reading's chance
# competes with every other candidate's (``probabilities``). A matching pass sees only the new readings,
# so both must come from the registry: for each saved search, :func:`registry_sums` keeps per surname
# category the number of blocked readings (n_c) and the sum over them of exp(other fields' log-odds / T)
# (R_c). With the surname weights w_c (from n_c and the registry size) the forward denominator is
# 1 + e^offset * sum_c e^(w_c/T) R_c, so a new reading gets the score the relative would see.
#
# Readings whose surname the engine calls "weak" are left out of the sums (they weigh e^(-5.2/T) and
# less: nothing next to any reading worth showing) and are not scored in reverse either.

NON_SURNAME_FIELDS: tuple[str, ...] = FIELDS[1:]
SURNAME_CATEGORIES: tuple[str, ...] = tuple(FITTED.ln_m["surname"])
_WEAK = SURNAME_CATEGORIES.index("weak")
_PREFILTER_SIMILARITY = 0.55  # as the forward registry's: below "typo2", so only "weak" surnames are cut


@dataclass(frozen=True)
class RegistrySums:
    """What a forward search of the whole registry sees for one query (stored with the saved search)."""

    total: int  # readings in the registry when counted
    upto: int  # the highest reading number counted (readings above it are new since)
    exact_floor: int  # readings carrying the query's surname exactly (the forward ``exact_floor``)
    counts: tuple[int, ...]  # per surname category (SURNAME_CATEGORIES): blocked readings in it
    rest: tuple[float, ...]  # per category: sum of exp(log-odds of the other fields / T)

    def to_json(self) -> list[Any]:
        return [self.total, self.upto, self.exact_floor, list(self.counts), [round(r, 6) for r in self.rest]]

    @staticmethod
    def from_json(data: list[Any]) -> RegistrySums:
        total, upto, floor, counts, rest = data
        return RegistrySums(int(total), int(upto), int(floor), tuple(counts), tuple(rest))

    def surname_weights(self, total: int, model: Model = FITTED) -> np.ndarray:
        """ln(m/u) per surname category, as ``query_weights`` gives them against a registry of ``total``."""
        log_total = math.log(max(total, 1))
        weights = np.empty(len(SURNAME_CATEGORIES))
        for c, category in enumerate(SURNAME_CATEGORIES):
            m = model.ln_m["surname"][category]
            if category == "weak":
                weights[c] = m
                continue
            count = self.counts[c]
            if category == "exact":
                count = max(count, self.exact_floor)
            weights[c] = m - math.log(max(count, 1)) + log_total
        return weights

    def competition(self, weights: np.ndarray, model: Model = FITTED) -> float:
        """sum over the registry's candidates of e^(log-odds / T) (the forward softmax's denominator)."""
        return float(np.dot(np.exp(weights / model.temperature), np.asarray(self.rest, dtype=np.float64)))


class FieldWeights:
    """ln(m/u) of the fields other than the surname for (query value, reading value) pairs, cached.

    Values are numbered per side by their text (the engine derives a field from its text alone), so a
    pair judged once is never judged again in a pass, whichever search or reading it comes from.
    """

    def __init__(self, model: Model = FITTED) -> None:
        self.model = model
        self._tables = [
            {c: model.ln_m[f][c] - math.log(model.u[f][c]) for c in model.ln_m[f]} for f in NON_SURNAME_FIELDS
        ]
        self._q_ids: list[dict[Any, int]] = [{} for _ in NON_SURNAME_FIELDS]
        self._q_values: list[list[Any]] = [[] for _ in NON_SURNAME_FIELDS]
        self._r_ids: list[dict[Any, int]] = [{} for _ in NON_SURNAME_FIELDS]
        self._r_values: list[list[Any]] = [[] for _ in NON_SURNAME_FIELDS]
        self._cache: list[dict[int, float]] = [{} for _ in NON_SURNAME_FIELDS]

    @staticmethod
    def _values(p: Profile) -> tuple[tuple[Any, Any], ...]:
        """(text key, value) of each non-surname field of a profile."""
        return (
            (p.name.raw if p.name else None, p.name),
            (p.patronymic.raw if p.patronymic else None, p.patronymic),
            (p.year.raw if p.year else None, p.year),
            (p.place_raw or None, p.place),
            (p.family_raw or None, p.family),
            (p.relative_raw or None, p.relative),
        )

    @staticmethod
    def _number(ids: dict[Any, int], values: list[Any], key: Any, value: Any) -> int:
        number = ids.get(key)
        if number is None:
            number = ids[key] = len(values)
            values.append(value)
        return number

    def query_ids(self, p: Profile) -> tuple[int, ...]:
        return tuple(
            self._number(self._q_ids[f], self._q_values[f], key, value)
            for f, (key, value) in enumerate(self._values(p))
        )

    def reading_ids(self, p: Profile) -> tuple[int, ...]:
        return tuple(
            self._number(self._r_ids[f], self._r_values[f], key, value)
            for f, (key, value) in enumerate(self._values(p))
        )

    def reading_id_of(self, f: int, key: Any, value: Any) -> int:
        return self._number(self._r_ids[f], self._r_values[f], key, value)

    def _judge(self, f: int, q: Any, r: Any) -> str:
        if f == 0:
            return compare_names(q, r)
        if f == 1:
            return compare_patronymics(q, r)
        if f == 2:
            return compare_years(q, r)[0]
        if f in (3, 4):
            return compare_places(q, r)[0]
        return compare_relatives(q or (), r or ())

    def weight(self, f: int, q_id: int, r_id: int) -> float:
        key = q_id << 32 | r_id
        found = self._cache[f].get(key)
        if found is None:
            category = self._judge(f, self._q_values[f][q_id], self._r_values[f][r_id])
            found = self._cache[f][key] = self._tables[f][category]
        return found

    def weights(self, f: int, q_id: int, r_ids: np.ndarray) -> np.ndarray:
        """The weights of one query value against many reading values (one judgement per distinct)."""
        distinct, inverse = np.unique(r_ids, return_inverse=True)
        values = np.fromiter((self.weight(f, q_id, int(r)) for r in distinct), np.float64, len(distinct))
        return values[inverse.reshape(-1)]

    def weights_of_queries(self, f: int, q_ids: np.ndarray, r_id: int) -> np.ndarray:
        """The weights of many query values against one reading value."""
        distinct, inverse = np.unique(q_ids, return_inverse=True)
        values = np.fromiter((self.weight(f, int(q), r_id) for q in distinct), np.float64, len(distinct))
        return values[inverse.reshape(-1)]


class RegistryView:
    """The registry in memory for counting what forward searches see (built when sums must be computed)."""

    def __init__(self, registry: Registry, fields: FieldWeights, upto: int) -> None:
        self.registry = registry
        self.upto = upto
        self.fields = fields
        columns = registry._columns
        # registry column value number -> the reading-side id of FieldWeights, per non-surname field
        self._ids: list[np.ndarray] = []
        for f, column in enumerate(columns[1:]):
            ids = np.zeros(len(column.values), dtype=np.int64)
            for number, value in enumerate(column.values):
                ids[number] = fields.reading_id_of(f, *_column_key(f, value))
            self._ids.append(ids)
        self._verdicts: dict[tuple[str, int], int] = {}

    def sums(
        self, q: Profile, keys: Iterable[str], q_ids: Sequence[int], model: Model = FITTED
    ) -> RegistrySums:
        """The counts and competition a forward search of the whole registry sees for this query."""
        registry = self.registry
        index = registry._index
        cells: set[int] = set()
        for key in keys:
            bucket = index.get(key)
            if bucket is not None:
                cells.update(bucket)
        floor = max((registry.surname_freq(f) for f in q.surname.all_forms), default=0)
        counts = [0] * len(SURNAME_CATEGORIES)
        rest = [0.0] * len(SURNAME_CATEGORIES)
        total = len(registry)
        if not cells:
            return RegistrySums(total, self.upto, floor, tuple(counts), tuple(rest))
        cell_numbers = np.fromiter(cells, dtype=np.int64, count=len(cells))
        surname_of_cell = np.frombuffer(registry._cell_surname_number, dtype=np.int32)[cell_numbers]
        distinct = np.unique(surname_of_cell)
        raw = q.surname.raw
        categories = np.full(len(distinct), _WEAK, dtype=np.int64)
        surnames = registry._surnames
        verdicts = self._verdicts
        # plain surnames far from every form of the query's are "weak" without a verdict (one C pass, as the
        # forward registry's prefilter); wildcards and alternatives are always judged
        special = np.frombuffer(registry._surname_special, dtype=np.int8)[distinct] == 1
        judge = special.copy()
        plain = np.flatnonzero(~special)
        if plain.size:
            first_forms = registry._surname_first_form
            similarity = process.cdist(
                list(q.surname.all_forms),
                [first_forms[int(n)] for n in distinct[plain]],
                scorer=Levenshtein.normalized_similarity,
                dtype=np.float32,
                workers=1,
            ).max(axis=0)
            judge[plain[similarity >= _PREFILTER_SIMILARITY]] = True
        for i in np.flatnonzero(judge).tolist():
            number = int(distinct[i])
            pair = (raw, number)
            code = verdicts.get(pair)
            if code is None:
                category = compare_surnames(q.surname, surnames[number])[0]
                code = verdicts[pair] = SURNAME_CATEGORIES.index(category)
            categories[i] = code
        kept = categories != _WEAK
        if not kept.any():
            return RegistrySums(total, self.upto, floor, tuple(counts), tuple(rest))
        category_of = dict(zip(distinct[kept].tolist(), categories[kept].tolist(), strict=True))
        parts: list[np.ndarray] = []
        codes: list[np.ndarray] = []
        for cell, surname in zip(cell_numbers.tolist(), surname_of_cell.tolist(), strict=True):
            code = category_of.get(surname)
            if code is not None:
                positions = np.frombuffer(registry._cells[cell], dtype=np.int32)
                parts.append(positions)
                codes.append(np.full(len(positions), code, dtype=np.int64))
        positions = np.concatenate(parts).astype(np.int64)
        code_of = np.concatenate(codes)
        live = np.frombuffer(registry._live, dtype=np.int8)[positions] == 1
        positions, code_of = positions[live], code_of[live]
        arrays = registry._columns_as_arrays()
        log_odds = np.zeros(len(positions), dtype=np.float64)
        for f in range(len(NON_SURNAME_FIELDS)):
            r_ids = self._ids[f][arrays[f + 1][positions]]
            log_odds += self.fields.weights(f, q_ids[f], r_ids)
        n = np.bincount(code_of, minlength=len(SURNAME_CATEGORIES))
        r = np.bincount(
            code_of, weights=np.exp(log_odds / model.temperature), minlength=len(SURNAME_CATEGORIES)
        )
        return RegistrySums(total, self.upto, floor, tuple(int(x) for x in n), tuple(float(x) for x in r))


def _column_key(f: int, value: Any) -> tuple[Any, Any]:
    """(text key, value) of a registry column value, as ``FieldWeights._values`` keys a profile's."""
    if value is None:
        return None, None
    if f in (0, 1):
        return value.raw, value
    if f == 2:
        return value.raw, value
    profile, raw = value  # place, family: (PlaceProfile | None, raw); relative: (words, raw)
    return (raw or None), (profile if raw else None)
