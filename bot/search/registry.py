"""The in-memory registry: readings stored as columns of distinct values, blocked by keys, scored in bulk.

The same keys and scores as the database search; used by the bot's index, the matching job's counts,
the benchmarks and small data.
"""

from __future__ import annotations

import math
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from bot.search.gazetteer import PlaceProfile
from bot.search.keys import combine_keys, name_initial_classes, query_keys, surname_block_keys
from bot.search.notation import YearReading
from bot.search.profiles import NameForms, Profile, query_profile, record_profile
from bot.search.scoring import AGREES, FIELDS, FITTED, Model, QueryScorer, Verdict
from bot.search.spelling import skeleton
from bot.search.types import ENGINE_VERSION, Match, Query, Record


class _Column:
    """The distinct values of one field across a registry; readings hold their value's number."""

    def __init__(self) -> None:
        self.values: list[Any] = [None]
        self._number: dict[Any, int] = {None: 0}
        self.numbers = array("i")

    def append(self, key: Any, value: Any) -> None:
        number = self._number.get(key)
        if number is None:
            number = len(self.values)
            self._number[key] = number
            self.values.append(value)
        self.numbers.append(number)

    def append_stored(self, key: Any, data: Any, make: Callable[[Any], Any]) -> Any:
        """Like :meth:`append`, but builds the value (``make(data)``) only for a key not seen before."""
        number = self._number.get(key)
        if number is None:
            number = len(self.values)
            self._number[key] = number
            self.values.append(make(data))
        self.numbers.append(number)
        return self.values[number]


def _place_categories(q: PlaceProfile | None, values: Sequence[Any]) -> list[str]:
    """:func:`compare_places` categories of a query's place against many (profile, text) column values.

    The same categories, cheaper: regions as sets, and the word similarity of every distinct word in
    one rapidfuzz pass instead of a pair loop per value.
    """
    if q is None:
        return ["unknown"] * len(values)
    q_regions = {region for region, _ in q.regions}
    q_words = [w for w in q.words if len(w) >= 5]
    similar: set[str] = set()
    if q_words:
        words = sorted({w for v in values if v and v[0] is not None for w in v[0].words})
        if words:
            matrix = process.cdist(
                q_words, words, scorer=Levenshtein.normalized_similarity, dtype=np.float64, workers=1
            )
            similar = {words[int(j)] for j in np.flatnonzero((matrix >= 0.85).any(axis=0))}
    found: list[str] = []
    for value in values:
        r = value[0] if value else None
        if r is None:
            found.append("unknown")
        elif any(region in q_regions for region, _ in r.regions) or any(w in similar for w in r.words):
            found.append("same")
        elif q.regions and r.regions:
            found.append("differs")
        else:
            found.append("unknown")
    return found


def _stored_year(data: list[Any]) -> YearReading:
    return YearReading(raw=data[0], low=data[1], high=data[2], pattern=data[3])


def _stored_place(data: list[Any]) -> tuple[PlaceProfile, str]:
    return PlaceProfile.from_json(data[1]), data[0]


def _stored_relative(data: list[Any]) -> tuple[tuple[str, ...], str]:
    return tuple(data[1]), data[0]


class Registry:
    """An in-memory registry on the same keys as the database: for benchmarks, matching and small data.

    Readings with the same surname text and the same name-initial classes share a *cell*; keys point to
    cells, so a key is stored once per distinct surname rather than once per reading. Each field is
    stored as a column of numbers of distinct values. A search scores each distinct surname first and,
    when the blocked set is large, drops the cells whose surname is not even close ("weak"); then it
    judges each distinct value of every field once and adds the weights for all readings with numpy,
    so a query that blocks tens of thousands of readings of a common surname stays fast.
    """

    PREFILTER_ABOVE = 400  # blocked readings above which weak-surname cells are dropped unscored

    def __init__(self, *, lemmatize: bool = False) -> None:
        self._lemmatize = lemmatize
        self._ids: list[str] = []
        self._columns = [_Column() for _ in FIELDS]
        self._arrays: list[np.ndarray] | None = None
        self._live = array("b")
        self._index: dict[str, array[int]] = {}
        self._cells: list[array[int]] = []
        self._cell_surname: list[NameForms] = []
        self._cell_surname_number = array("i")
        self._cell_size = array("i")  # positions filed in each cell (dead ones included)
        self._surnames: list[NameForms] = []  # distinct surnames, numbered
        self._surname_number: dict[str, int] = {}
        self._surname_first_form: list[str] = []
        self._surname_special = array("b")  # 1: wildcard or several alternatives
        self._surname_skeleton = array("i")  # the number of each surname's consonant skeleton
        self._skeleton_number: dict[str, int] = {}
        self._cell_of: dict[tuple[str, frozenset[str]], int] = {}
        self._surname_counts: Counter[str] = Counter()
        self._position: dict[str, int] = {}

    def add(self, records: Iterable[Record]) -> None:
        """Adds readings; a reading id seen before replaces the earlier reading."""
        index = self._index
        surname, name, patronymic, year, place, family, relative = self._columns
        self._arrays = None
        for record in records:
            profile = record_profile(record, self._lemmatize)
            old = self._position.get(record.reading_id)
            if old is not None:
                self._drop(old)
            position = len(self._ids)
            self._ids.append(record.reading_id)
            self._position[record.reading_id] = position
            if profile is None:
                self._live.append(0)
                for column in self._columns:
                    column.numbers.append(0)
                continue
            self._live.append(1)
            surname.append(profile.surname.raw, profile.surname)
            name.append(profile.name.raw if profile.name else None, profile.name)
            patronymic.append(profile.patronymic.raw if profile.patronymic else None, profile.patronymic)
            year.append(profile.year.raw if profile.year else None, profile.year)
            place.append(profile.place_raw or None, (profile.place, profile.place_raw))
            family.append(profile.family_raw or None, (profile.family, profile.family_raw))
            relative.append(profile.relative_raw or None, (profile.relative, profile.relative_raw))
            self._file(position, profile.surname, profile.name, index)

    def _file(
        self, position: int, surname: NameForms, name: NameForms | None, index: dict[str, array[int]]
    ) -> None:
        """Counts the reading's surname and puts its position into its cell (made and keyed if new)."""
        self._surname_counts[surname.forms[0]] += 1
        classes = name_initial_classes(name, False)
        cell_key = (surname.raw, classes)
        cell = self._cell_of.get(cell_key)
        if cell is None:
            cell = len(self._cells)
            self._cell_of[cell_key] = cell
            self._cells.append(array("i"))
            self._cell_size.append(0)
            self._cell_surname.append(surname)
            number = self._surname_number.get(surname.raw)
            if number is None:
                number = self._surname_number[surname.raw] = len(self._surnames)
                self._surnames.append(surname)
                self._surname_first_form.append(surname.forms[0])
                self._surname_special.append(int(surname.wild or len(surname.forms) > 1))
                key = skeleton(surname.forms[0])
                self._surname_skeleton.append(
                    self._skeleton_number.setdefault(key, len(self._skeleton_number))
                )
            self._cell_surname_number.append(number)
            for key in combine_keys(surname_block_keys(surname, False), classes):
                bucket = index.get(key)
                if bucket is None:
                    index[key] = array("i", (cell,))
                else:
                    bucket.append(cell)
        self._cells[cell].append(position)
        self._cell_size[cell] += 1

    def add_derived(self, items: Iterable[tuple[Record | str, dict[str, Any] | None]]) -> None:
        """Adds readings from what :func:`derive` stored (``Derived.data``) without deriving them again.

        Each item is (the record or just its reading id, the stored data). Each field's value is built
        from the data only the first time its text is seen, so loading a large registry costs little more
        than reading it. Data of another engine version is derived again from the record (a bare reading
        id then raises ``ValueError``). A reading id seen before replaces the earlier reading.
        """
        index = self._index
        surname, name, patronymic, year, place, family, relative = self._columns
        position_of = self._position
        ids = self._ids
        live = self._live
        self._arrays = None
        for item, data in items:
            if data is None or data.get("v") != ENGINE_VERSION:
                if isinstance(item, Record):
                    self.add((item,))
                    continue
                raise ValueError(f"reading {item!r}: no data of engine version {ENGINE_VERSION}")
            reading_id = item if isinstance(item, str) else item.reading_id
            old = position_of.get(reading_id)
            if old is not None:
                self._drop(old)
            position = len(ids)
            ids.append(reading_id)
            position_of[reading_id] = position
            s = data.get("s")
            if s is None:
                live.append(0)
                for column in self._columns:
                    column.numbers.append(0)
                continue
            live.append(1)
            n, p, y, pl, fa, r = (data.get(k) for k in ("n", "p", "y", "pl", "fa", "r"))
            surname_forms = surname.append_stored(s[0], s, NameForms.from_json)
            name_value = name.append_stored(n[0] if n else None, n, NameForms.from_json) if n else None
            if not n:
                name.numbers.append(0)
            if p:
                patronymic.append_stored(p[0], p, NameForms.from_json)
            else:
                patronymic.numbers.append(0)
            if y:
                year.append_stored(y[0], y, _stored_year)
            else:
                year.numbers.append(0)
            if pl:
                place.append_stored(pl[0], pl, _stored_place)
            else:
                place.numbers.append(0)
            if fa:
                family.append_stored(fa[0], fa, _stored_place)
            else:
                family.numbers.append(0)
            if r:
                relative.append_stored(r[0], r, _stored_relative)
            else:
                relative.numbers.append(0)
            self._file(position, surname_forms, name_value, index)

    def _drop(self, position: int) -> None:
        if self._live[position]:
            surname = self._columns[0].values[self._columns[0].numbers[position]]
            self._surname_counts[surname.forms[0]] -= 1
        self._live[position] = 0  # the cell keeps the position; a dead reading is skipped
        self._arrays = None

    def remove(self, reading_id: str) -> bool:
        """Removes a reading (or a saved request); False when it was not there."""
        position = self._position.pop(reading_id, None)
        if position is None:
            return False
        self._drop(position)
        return True

    def __len__(self) -> int:
        return len(self._position)

    def surname_freq(self, surname_norm: str) -> int:
        """How many readings carry this folded surname."""
        return self._surname_counts.get(surname_norm, 0)

    def reading_id(self, position: int) -> str:
        """The reading id stored at a position."""
        return self._ids[position]

    def profile(self, position: int) -> Profile | None:
        """The profile of the reading at a position (None when removed or unreadable)."""
        if not self._live[position]:
            return None
        values = [column.values[column.numbers[position]] for column in self._columns]
        place, family, relative = values[4] or (None, ""), values[5] or (None, ""), values[6] or ((), "")
        return Profile(
            surname=values[0],
            name=values[1],
            patronymic=values[2],
            year=values[3],
            place=place[0],
            place_raw=place[1],
            family=family[0],
            family_raw=family[1],
            relative=relative[0],
            relative_raw=relative[1],
        )

    def _blocked_cells(self, q: Query) -> set[int]:
        found: set[int] = set()
        index = self._index
        for key in query_keys(q):
            bucket = index.get(key)
            if bucket is not None:
                found.update(bucket)
        return found

    def candidates(self, q: Query) -> set[int]:
        """Positions of the readings sharing a key with the query (before the surname prefilter)."""
        live = self._live
        return {p for cell in self._blocked_cells(q) for p in self._cells[cell] if live[p]}

    def scored_positions(self, q: Query, scorer: QueryScorer | None = None) -> list[int]:
        """Positions that a search scores (after the surname prefilter)."""
        return [int(p) for p in self._scored_positions(q, scorer)]

    def _prefilter(self, cells: set[int], scorer: QueryScorer) -> list[int]:
        """Drops cells whose surname is far from every form of the query's (one C pass over surnames)."""
        cell_numbers = np.fromiter(cells, dtype=np.int64, count=len(cells))
        surname_of_cell = np.frombuffer(self._cell_surname_number, dtype=np.int32)[cell_numbers]
        distinct = np.unique(surname_of_cell)
        special = np.frombuffer(self._surname_special, dtype=np.int8)[distinct] == 1
        plain = distinct[~special]
        keep = [int(n) for n in distinct[special]]  # wildcards and alternatives: judged by the scorer
        surnames = self._surnames
        keep = [n for n in keep if scorer.surname(surnames[n]).category != "weak"]
        if plain.size:
            # compare_surnames() for a one-form reading without wildcards, in bulk: exact, then the same
            # skeleton (phonetic), then the best similarity to any form of the query's (typo1/typo2/weak)
            first_forms = self._surname_first_form
            q_forms = scorer.q.surname.all_forms
            similarity = process.cdist(
                list(q_forms),
                [first_forms[n] for n in plain.tolist()],
                scorer=Levenshtein.normalized_similarity,
                dtype=np.float64,
                workers=1,
            ).max(axis=0)
            q_skeletons = [self._skeleton_number.get(skeleton(f), -1) for f in q_forms]
            same_skeleton = np.isin(np.frombuffer(self._surname_skeleton, dtype=np.int32)[plain], q_skeletons)
            close = (similarity >= 0.65) | same_skeleton
            exact_forms = set(q_forms)
            for n, similar, phonetic in zip(
                plain[close].tolist(), similarity[close].tolist(), same_skeleton[close].tolist(), strict=True
            ):
                if first_forms[n] in exact_forms:
                    category = "exact"
                elif phonetic:
                    category = "phonetic"
                else:
                    category = "typo1" if similar >= 0.8 else "typo2"
                scorer.note_surname_category(surnames[n], category)
                keep.append(n)
        kept = np.asarray(keep, dtype=np.int32)
        return [int(c) for c in cell_numbers[np.isin(surname_of_cell, kept)]]

    def _scored_positions(self, q: Query, scorer: QueryScorer | None = None) -> np.ndarray:
        profile = query_profile(q) if scorer is None else scorer.q
        empty = np.zeros(0, dtype=np.int64)
        if profile is None:
            return empty
        scorer = scorer or QueryScorer(profile)
        cells: Iterable[int] = self._blocked_cells(q)
        blocked = np.fromiter(cells, dtype=np.int64)
        if int(np.frombuffer(self._cell_size, dtype=np.int32)[blocked].sum()) > self.PREFILTER_ABOVE:
            cells = self._prefilter(set(cells), scorer)
        parts = [np.frombuffer(self._cells[c], dtype=np.int32) for c in cells]
        if not parts:
            return empty
        positions = np.concatenate(parts).astype(np.int64)
        live = np.frombuffer(self._live, dtype=np.int8)
        return positions[live[positions] == 1]

    def _columns_as_arrays(self) -> list[np.ndarray]:
        if self._arrays is None:
            self._arrays = [np.frombuffer(c.numbers, dtype=np.int32).copy() for c in self._columns]
        return self._arrays

    def search(
        self, q: Query, limit: int = 5, model: Model = FITTED, *, registry_frequency: bool = False
    ) -> list[Match]:
        """The best readings for a query, best first.

        ``registry_frequency``: weigh an exact surname by at least how many readings of the whole
        registry carry it (as :func:`score_candidates` does with ``surname_freq``), not only by the
        exact agreements among the candidates; the database search does this.
        """
        profile = query_profile(q)
        if profile is None:
            return []
        scorer = QueryScorer(profile)
        positions = self._scored_positions(q, scorer)
        if positions.size == 0:
            return []
        judges: tuple[Callable[[Any], Verdict], ...] = (
            scorer.surname,
            scorer.name,
            scorer.patronymic,
            scorer.year,
            lambda v: scorer.place(v[0] if v else None),
            lambda v: scorer.family(v[0] if v else None),
            lambda v: scorer.relative(v[0], v[1]) if v else scorer.relative((), ""),
        )
        arrays = self._columns_as_arrays()
        category_index: list[np.ndarray] = []  # per field: the category number of every candidate
        distinct_values: list[np.ndarray | None] = []  # per field: the distinct value numbers
        inverses: list[np.ndarray | None] = []  # per field: which distinct value every candidate holds
        query_fields: tuple[Any, ...] = (
            profile.surname,
            profile.name,
            profile.patronymic,
            profile.year,
            profile.place,
            profile.family,
            profile.relative,
        )
        for f, name in enumerate(FIELDS):
            categories = list(model.ln_m[name])
            if f > 0 and not query_fields[f]:
                # the query does not give this field: one category for every candidate, no reason
                constant = judges[f](None).category
                category_index.append(np.full(positions.size, categories.index(constant), dtype=np.int64))
                distinct_values.append(None)
                inverses.append(None)
                continue
            distinct, inverse = np.unique(arrays[f][positions], return_inverse=True)
            inverse = inverse.reshape(-1)
            values = self._columns[f].values
            if name in ("place", "family"):  # many distinct texts: categories in bulk, reasons for the top
                found = _place_categories(query_fields[f], [values[int(n)] for n in distinct])
            elif f == 0:
                found = [scorer.surname_category(values[int(n)]) for n in distinct]
            else:
                found = [judges[f](values[int(n)]).category for n in distinct]
            codes = np.fromiter((categories.index(c) for c in found), dtype=np.int64, count=len(found))
            category_index.append(codes[inverse])
            distinct_values.append(distinct)
            inverses.append(inverse)
        total = max(len(self), positions.size)
        log_total = math.log(total)
        surname_categories = list(model.ln_m["surname"])
        surname_counts = np.bincount(category_index[0], minlength=len(surname_categories))
        if registry_frequency and "exact" in surname_categories:
            exact = surname_categories.index("exact")
            floor = max((self._surname_counts.get(f, 0) for f in profile.surname.all_forms), default=0)
            surname_counts[exact] = max(int(surname_counts[exact]), floor)
        log_odds = np.zeros(positions.size, dtype=np.float64)
        for f, name in enumerate(FIELDS):
            categories = list(model.ln_m[name])
            if name == "surname":
                # the term-frequency adjustment, as in query_weights()
                weights = [
                    model.ln_m[name][c]
                    if c == "weak"
                    else model.ln_m[name][c] - math.log(max(int(n), 1)) + log_total
                    for c, n in zip(categories, surname_counts, strict=True)
                ]
            else:
                weights = [model.ln_m[name][c] - math.log(model.u[name][c]) for c in categories]
            log_odds += np.asarray(weights)[category_index[f]]
        offset = model.prior - log_total
        logits = log_odds / model.temperature + offset
        shift = max(0.0, float(logits.max()))
        exp = np.exp(logits - shift)
        chances = exp / (math.exp(-shift) + float(exp.sum()))
        # only readings with at least one field that agrees are results (AGREES)
        agreeing = np.zeros(positions.size, dtype=bool)
        for f, name in enumerate(FIELDS):
            agreeing_codes = [i for i, c in enumerate(model.ln_m[name]) if c in AGREES[name]]
            agreeing |= np.isin(category_index[f], agreeing_codes)
        eligible = np.flatnonzero(agreeing)
        k = min(limit, eligible.size)
        if k == 0:
            return []
        top = eligible[np.argpartition(-chances[eligible], k - 1)[:k]] if k < eligible.size else eligible
        top = top[np.argsort(-chances[top], kind="stable")]
        matches: list[Match] = []
        for i in top:
            reasons = []
            for f in range(len(FIELDS)):
                distinct_f, inverse_f = distinct_values[f], inverses[f]
                if distinct_f is None or inverse_f is None:
                    continue
                value = self._columns[f].values[int(distinct_f[int(inverse_f[i])])]
                verdict = judges[f](value)
                if verdict.reason is not None:
                    reasons.append(verdict.reason)
            chance = float(chances[i])
            matches.append(
                Match(
                    reading_id=self._ids[int(positions[i])],
                    score=round(100.0 * chance, 1),
                    strong=chance >= model.strong_cutoff,
                    reasons=tuple(reasons),
                )
            )
        return matches
