"""Reverse matching: new readings against relatives' saved searches, scored as their forward searches.

The keys are built so that *a query's keys meet the keys of its man's reading*. Reverse matching uses
the very same pair, only indexed the other way round: each saved search is indexed under its
``query_keys`` (stored with ``QUERY_VERSION``, derived again when the version changes), and a new reading
looks up its own stored keys in that index; every search found shares a key with it, exactly as in a
forward search.

A pair is scored so that the reading gets the score the relative would see in a forward search of the
whole registry: the surname weighs by the registry's counts and the chance competes with the registry's
other candidates, both kept per search as :class:`RegistrySums` (counted on a :class:`RegistryView` of the
registry in memory, stored with the search). Pairs whose surnames the engine calls "weak" are dropped (one
verdict per distinct pair of surnames); the other fields are judged once per distinct pair of values
(:class:`FieldWeights`) and summed with numpy.

    index = ReverseIndex(saved_searches, total=len(registry), registry=registry, upto=last_reading)
    store(index.stale)  # keys, profile and sums of the searches derived or counted again
    for found in index.match(new_readings, total=len(registry), min_score=20.0)[0]:
        ...  # found.search / found.reading index the inputs; score, strong, reasons as in a search
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from rapidfuzz import process

from bot.search.comparators import (
    compare_names,
    compare_patronymics,
    compare_places,
    compare_relatives,
    compare_surnames,
    compare_years,
    surname_similarity,
)
from bot.search.keys import query_keys
from bot.search.profiles import Profile, query_profile
from bot.search.registry import Registry
from bot.search.scoring import FIELDS, FITTED, Model, QueryScorer, surname_weights
from bot.search.types import QUERY_VERSION, Query, Reason

__all__ = [
    "SUMS_REFRESH_GROWTH",
    "FieldWeights",
    "RegistrySums",
    "RegistryView",
    "ReverseIndex",
    "ReverseMatch",
    "stored_profile",
    "sums_are_fresh",
]


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
        return np.asarray(surname_weights(self.counts, log_total, model, self.exact_floor), dtype=np.float64)

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
                scorer=surname_similarity,
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


# A search's registry sums (what a forward search of the whole registry sees) are counted again when the
# registry has grown by more than this share since they were counted (or the engine version changed).
SUMS_REFRESH_GROWTH = 0.10


def sums_are_fresh(stored: Mapping[str, Any] | None, total: int) -> bool:
    """True when a search's stored registry sums are of this engine and the registry has not outgrown them."""
    if not stored or stored.get("v") != QUERY_VERSION or stored.get("t") is None:
        return False
    counted = int(stored["t"][0])
    return total <= counted * (1 + SUMS_REFRESH_GROWTH) and (counted > 0 or total == 0)


def stored_profile(data: Mapping[str, Any] | None) -> Profile | None:
    """The profile in a reading's stored data (``Derived.data``), or None when it holds no surname."""
    if not data or data.get("s") is None:
        return None
    return Profile.from_json(data)


class SavedSearch(Protocol):
    """A saved search as reverse matching needs it."""

    @property
    def id(self) -> int: ...

    @property
    def derived(self) -> Mapping[str, Any] | None:
        """What :attr:`ReverseIndex.stale` gave for it last time (``{}`` when never derived)."""

    def query(self) -> Query:
        """The search as the engine's query (asked only when its stored keys are missing or old)."""


class NewReading(Protocol):
    """A new reading as reverse matching needs it."""

    @property
    def pk(self) -> int:
        """Its number in import order (readings above a search's ``RegistrySums.upto`` are new to it)."""

    @property
    def keys(self) -> frozenset[str]:
        """Its stored blocking keys."""

    def profile(self) -> Profile | None:
        """Its profile (asked only when some saved search shares a key with it)."""


@dataclass(frozen=True)
class ReverseMatch:
    """One scored (saved search, new reading) pair; ``search`` and ``reading`` index the inputs."""

    search: int
    reading: int
    score: float  # 0-100, as the relative's own search of the whole registry would show it
    strong: bool
    reasons: tuple[Reason, ...]
    # The chance (0-1) that the reading is the man against "he is not in the registry" alone, without the
    # competition of the registry's other readings (a second reading of the same man halves ``score``).
    alone: float
    # The chance (0-1) against both competitions a volunteer faces: the registry's other readings for this
    # search (as ``score``) and the other saved searches this reading fits (a reading that fits ten
    # relatives' searches equally cannot be told to be any one of theirs).
    joint: float = 0.0


class ReverseIndex:
    """The saved searches, indexed by their blocking keys, for matching new readings in reverse.

    A search's keys, its profile and its registry sums are read from ``search.derived`` when they are of
    this ``QUERY_VERSION`` and fresh (:func:`sums_are_fresh`); a search saved since, or whose sums the
    registry has outgrown by 10 %, is derived or counted again against ``registry`` (the whole registry in
    memory; without it such a search is matched on a later pass). :attr:`stale` holds, by search id, what to
    store for those.
    """

    def __init__(
        self,
        searches: Sequence[SavedSearch],
        *,
        total: int = 0,
        registry: Registry | None = None,
        upto: int = 0,
        model: Model = FITTED,
    ) -> None:
        self.model = model
        self.stale: dict[int, dict[str, Any]] = {}
        self.fields = FieldWeights(model)
        self._size = len(searches)
        self._profiles: list[Profile | None] = []
        self._sums: list[RegistrySums | None] = []
        view: RegistryView | None = None
        by_key: dict[str, list[int]] = defaultdict(list)
        for search in searches:
            stored = search.derived or {}
            current = stored.get("v") == QUERY_VERSION and stored.get("k") is not None
            profile: Profile | None
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
                    sums = view.sums(profile, keys, self.fields.query_ids(profile), model)
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
            for key in keys:
                by_key[key].append(len(self._profiles) - 1)
        self._by_key = {key: np.asarray(found, dtype=np.int64) for key, found in by_key.items()}
        self._prepared_total = -1
        self._surname_verdicts: dict[tuple[int, str], int] = {}
        # per search: the number of its surname, its field values' numbers
        surname_numbers: dict[str, int] = {}
        self._surnames: list[Any] = []
        self._surname_of = np.zeros(self._size, dtype=np.int64)
        self._q_ids = np.zeros((len(NON_SURNAME_FIELDS), self._size), dtype=np.int64)
        self._upto = np.zeros(self._size, dtype=np.int64)
        for i, (profile, sums) in enumerate(zip(self._profiles, self._sums, strict=True)):
            if profile is None or sums is None:
                continue
            number = surname_numbers.get(profile.surname.raw)
            if number is None:
                number = surname_numbers[profile.surname.raw] = len(self._surnames)
                self._surnames.append(profile.surname)
            self._surname_of[i] = number
            self._q_ids[:, i] = self.fields.query_ids(profile)
            self._upto[i] = sums.upto

    def __len__(self) -> int:
        return self._size

    def candidates(self, keys: Iterable[str]) -> np.ndarray:
        """The searches (their numbers) sharing at least one blocking key with a reading."""
        parts = [hits for key in keys if (hits := self._by_key.get(key)) is not None]
        if not parts:
            return np.zeros(0, dtype=np.int64)
        if len(parts) == 1:
            return parts[0]
        return np.unique(np.concatenate(parts))

    def _prepare(self, total: int) -> None:
        """Surname weights and the registry's competition of every search, for a registry of ``total``."""
        if total == self._prepared_total:
            return
        weights = np.zeros((self._size, len(SURNAME_CATEGORIES)))
        competition = np.zeros(self._size)
        for i, sums in enumerate(self._sums):
            if sums is not None:
                weights[i] = sums.surname_weights(total, self.model)
                competition[i] = sums.competition(weights[i], self.model)
        self._weights, self._competition, self._prepared_total = weights, competition, total

    def _surname_codes(self, numbers: np.ndarray, reading: Any) -> np.ndarray:
        """The surname category (its number) of each search surname against a reading's surname."""
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

    def match(
        self,
        readings: Sequence[NewReading],
        *,
        total: int,
        min_score: float = 0.0,
        min_joint: float = math.inf,
    ) -> tuple[list[ReverseMatch], int]:
        """Scored pairs at ``min_score`` (0-100) or above, or with ``joint`` at ``min_joint`` (0-1) or
        above, and how many pairs were scored.

        ``total`` is the size of the registry the new readings are part of.
        """
        total = max(total, 1)
        self._prepare(total)
        fields = self.fields
        search_parts: list[np.ndarray] = []
        reading_parts: list[np.ndarray] = []
        odds_parts: list[np.ndarray] = []
        profiles: list[Profile | None] = []
        for number, reading in enumerate(readings):
            found = self.candidates(reading.keys)
            if not found.size:
                profiles.append(None)
                continue
            profile = reading.profile()
            profiles.append(profile)
            if profile is None:
                continue
            codes = self._surname_codes(self._surname_of[found], profile.surname)
            keep = codes != _WEAK
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
        model = self.model
        offset = model.prior - math.log(total)
        own = np.exp(log_odds / model.temperature)
        # readings the registry sums have not counted yet (imported after they were counted) compete too
        pks = np.asarray([reading.pk for reading in readings], dtype=np.int64)[reading_numbers]
        newer = pks > self._upto[searches]
        extra = np.bincount(searches, weights=own * newer, minlength=self._size)
        denominator = math.exp(-offset) + self._competition[searches] + extra[searches]
        chances = own / denominator
        alone = own / (math.exp(-offset) + own)
        # the other saved searches that this reading fits compete for it too
        fits = np.bincount(reading_numbers, weights=own, minlength=len(readings))
        joint = own / (denominator + fits[reading_numbers] - own)
        kept: list[ReverseMatch] = []
        for k in np.flatnonzero((chances * 100.0 >= min_score - 0.05) | (joint >= min_joint)).tolist():
            index, number = int(searches[k]), int(reading_numbers[k])
            score = round(100.0 * float(chances[k]), 1)
            if score < min_score and joint[k] < min_joint:
                continue
            search_profile, reading_profile = self._profiles[index], profiles[number]
            assert search_profile is not None and reading_profile is not None
            verdicts = QueryScorer(search_profile).verdicts(reading_profile)
            kept.append(
                ReverseMatch(
                    search=index,
                    reading=number,
                    score=score,
                    strong=bool(chances[k] >= model.strong_cutoff),
                    reasons=tuple(v.reason for v in verdicts if v.reason is not None),
                    alone=float(alone[k]),
                    joint=float(joint[k]),
                )
            )
        return kept, int(searches.size)
