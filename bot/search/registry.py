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

from bot.search.comparators import PHONETIC_SIMILARITY, compare_places, surname_similarity
from bot.search.gazetteer import PlaceProfile
from bot.search.keys import (
    combine_keys,
    query_keys,
    query_keys_any_name,
    query_pair_keys,
    reading_initial_classes,
    reading_pair_keys,
    surname_block_keys,
)
from bot.search.notation import YearReading
from bot.search.profiles import NameForms, Profile, query_profile, record_profile
from bot.search.scoring import AGREES, FIELDS, FITTED, Model, QueryScorer, Verdict, surname_weights
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
        elif (q.places and r.places) or (q.words and r.words):  # the same place within, or two of one region
            found.append(compare_places(q, r)[0])
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
        self._pairs: dict[str, array[int]] = {}  # the second pass: pair key -> positions

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
            self._file_pairs(position, profile.name, profile.year, profile.place)

    def _file(
        self, position: int, surname: NameForms, name: NameForms | None, index: dict[str, array[int]]
    ) -> None:
        """Counts the reading's surname and puts its position into its cell (made and keyed if new)."""
        self._surname_counts[surname.forms[0]] += 1
        classes = reading_initial_classes(name)
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
            year_value = year.append_stored(y[0], y, _stored_year) if y else None
            if not y:
                year.numbers.append(0)
            place_value = place.append_stored(pl[0], pl, _stored_place)[0] if pl else None
            if not pl:
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
            self._file_pairs(position, name_value, year_value, place_value)

    def _file_pairs(
        self, position: int, name: NameForms | None, year: YearReading | None, place: PlaceProfile | None
    ) -> None:
        """Files the reading under its pair keys (first name, year, birthplace) for the second pass."""
        pairs = self._pairs
        for key in reading_pair_keys(name, year, place):
            bucket = pairs.get(key)
            if bucket is None:
                pairs[key] = array("i", (position,))
            else:
                bucket.append(position)

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
        """Positions of the readings sharing a key with the query (before the surname prefilter), with
        those of the second pass (which a search adds only when the first leaves no confident answer)."""
        live = self._live
        found = {p for cell in self._blocked_cells(q) for p in self._cells[cell] if live[p]}
        profile = query_profile(q)
        if profile is not None:
            found.update(int(p) for p in self._second_pass(profile, QueryScorer(profile)))
        return found

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
                scorer=surname_similarity,
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
                elif phonetic and similar >= PHONETIC_SIMILARITY:
                    category = "phonetic"
                else:
                    category = "typo1" if similar >= 0.8 else "typo2" if similar >= 0.65 else "weak"
                if category == "weak":
                    continue
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
        self,
        q: Query,
        limit: int = 5,
        model: Model = FITTED,
        *,
        registry_frequency: bool = False,
        second_pass: bool = True,
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
        categories = self._categories(profile, scorer, positions, model)
        matches = self._rank(profile, scorer, positions, categories, limit, model, registry_frequency)
        if not second_pass or (matches and matches[0].score >= 100.0 * self.SECOND_PASS_BELOW):
            return matches
        # No confident answer from the surname keys: the second pass (no single field is a gate); the
        # readings of the first are not judged again
        extra = np.setdiff1d(self._second_pass(profile, scorer), positions, assume_unique=True)
        if extra.size == 0:
            return matches
        positions = np.concatenate((positions, extra))
        categories = np.concatenate((categories, self._categories(profile, scorer, extra, model)), axis=1)
        return self._rank(profile, scorer, positions, categories, limit, model, registry_frequency)

    SECOND_PASS_BELOW = 0.5  # a best chance below this is not a confident answer: the second pass runs
    # readings above which a second-pass lookup is narrowed (pair keys: to those agreeing on all three
    # fields) or left out (a surname under every first name)
    SECOND_PASS_CAP = 3_000

    def _second_pass(self, profile: Profile, scorer: QueryScorer) -> np.ndarray:
        """Readings the surname keys miss: the surname under any first name, or two agreeing fields of the
        first name, the birth year and the birthplace (whatever the surname)."""
        index = self._index
        cells: set[int] = set()
        for key in query_keys_any_name(profile):
            bucket = index.get(key)
            if bucket is not None:
                cells.update(bucket)
        parts: list[np.ndarray] = []
        if cells:
            blocked = np.fromiter(cells, dtype=np.int64, count=len(cells))
            size = int(np.frombuffer(self._cell_size, dtype=np.int32)[blocked].sum())
            if size > self.SECOND_PASS_CAP:
                cells = set()  # a common surname: a misread name cannot be told from other men's
            elif size > self.PREFILTER_ABOVE:
                cells = set(self._prefilter(cells, scorer))
            if cells:
                found = np.concatenate([np.frombuffer(self._cells[c], dtype=np.int32) for c in cells])
                parts.append(self._name_not_differing(found, scorer))
        pairs = [
            np.frombuffer(b, dtype=np.int32) for k in query_pair_keys(profile) if (b := self._pairs.get(k))
        ]
        if pairs:
            found = np.concatenate(pairs)
            if found.size > self.SECOND_PASS_CAP:
                # readings under two of the pair keys agree on all three fields
                found, counts = np.unique(found, return_counts=True)
                found = found[counts >= 2]
            if found.size <= self.SECOND_PASS_CAP:
                parts.append(found)
        if not parts:
            return np.zeros(0, dtype=np.int64)
        positions = np.unique(np.concatenate(parts).astype(np.int64))
        live = np.frombuffer(self._live, dtype=np.int8)
        return positions[live[positions] == 1]

    def _name_not_differing(self, positions: np.ndarray, scorer: QueryScorer) -> np.ndarray:
        """The readings whose first name is not plainly another's (misread, initial or missing are kept)."""
        if scorer.q.name is None or positions.size == 0:
            return positions
        numbers = self._columns_as_arrays()[1][positions]
        distinct, inverse = np.unique(numbers, return_inverse=True)
        values = self._columns[1].values
        keep = np.fromiter(
            (scorer.name(values[int(n)]).category != "differs" for n in distinct),
            dtype=bool,
            count=len(distinct),
        )
        return positions[keep[inverse.reshape(-1)]]

    def _judges(self, scorer: QueryScorer) -> tuple[Callable[[Any], Verdict], ...]:
        return (
            scorer.surname,
            scorer.name,
            scorer.patronymic,
            scorer.year,
            lambda v: scorer.place(v[0], v[1]) if v else scorer.place(None),
            lambda v: scorer.family(v[0] if v else None),
            lambda v: scorer.relative(v[0], v[1]) if v else scorer.relative((), ""),
        )

    @staticmethod
    def _query_fields(profile: Profile) -> tuple[Any, ...]:
        return (
            profile.surname,
            profile.name,
            profile.patronymic,
            profile.year,
            profile.place,
            profile.family,
            profile.relative,
        )

    def _note_plain_surnames(self, values: Sequence[NameForms], scorer: QueryScorer) -> None:
        """Judges one-form surnames without wildcards in bulk (one C pass), as :meth:`_prefilter` does."""
        plain = [v for v in values if not v.wild and len(v.forms) == 1]
        if len(plain) < 50:
            return  # few: judged one by one
        q_forms = scorer.q.surname.all_forms
        similarity = process.cdist(
            list(q_forms),
            [v.forms[0] for v in plain],
            scorer=surname_similarity,
            dtype=np.float64,
            workers=1,
        ).max(axis=0)
        q_skeletons = {skeleton(f) for f in q_forms}
        exact_forms = set(q_forms)
        for v, similar in zip(plain, similarity.tolist(), strict=True):
            form = v.forms[0]
            if form in exact_forms:
                category = "exact"
            elif skeleton(form) in q_skeletons and similar >= PHONETIC_SIMILARITY:
                category = "phonetic"
            else:
                category = "typo1" if similar >= 0.8 else "typo2" if similar >= 0.65 else "weak"
            scorer.note_surname_category(v, category)

    def _categories(
        self, profile: Profile, scorer: QueryScorer, positions: np.ndarray, model: Model
    ) -> np.ndarray:
        """The agreement category (its number in the model) of every field of every reading at
        ``positions``: an array of shape (fields, readings); each distinct value judged once."""
        judges = self._judges(scorer)
        query_fields = self._query_fields(profile)
        arrays = self._columns_as_arrays()
        found_codes = np.zeros((len(FIELDS), positions.size), dtype=np.int64)
        for f, name in enumerate(FIELDS):
            categories = list(model.ln_m[name])
            if f > 0 and not query_fields[f]:
                # the query does not give this field: one category for every candidate, no reason
                found_codes[f] = categories.index(judges[f](None).category)
                continue
            if positions.size == 0:
                continue
            distinct, inverse = np.unique(arrays[f][positions], return_inverse=True)
            inverse = inverse.reshape(-1)
            values = self._columns[f].values
            if name in ("place", "family"):  # many distinct texts: categories in bulk, reasons for the top
                found = _place_categories(query_fields[f], [values[int(n)] for n in distinct])
            elif f == 0:
                surnames = [values[int(n)] for n in distinct]
                self._note_plain_surnames([v for v in surnames if not scorer.has_surname_category(v)], scorer)
                found = [scorer.surname_category(v) for v in surnames]
            else:
                found = [judges[f](values[int(n)]).category for n in distinct]
            codes = np.fromiter((categories.index(c) for c in found), dtype=np.int64, count=len(found))
            found_codes[f] = codes[inverse]
        return found_codes

    def _rank(
        self,
        profile: Profile,
        scorer: QueryScorer,
        positions: np.ndarray,
        category_index: np.ndarray,
        limit: int,
        model: Model,
        registry_frequency: bool,
    ) -> list[Match]:
        """The best ``limit`` readings at ``positions`` (of their ``categories``) that agree anywhere."""
        if positions.size == 0:
            return []
        judges = self._judges(scorer)
        query_fields = self._query_fields(profile)
        arrays = self._columns_as_arrays()
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
                weights = surname_weights([int(n) for n in surname_counts], log_total, model)
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
                if f > 0 and not query_fields[f]:
                    continue
                value = self._columns[f].values[int(arrays[f][int(positions[i])])]
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
