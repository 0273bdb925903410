"""Scoring: field verdicts with their reasons, the fitted weights, and the score as a probability.

Each field of a candidate goes into an agreement category (:mod:`bot.search.comparators`); the fitted
weights (:mod:`bot.search.weights`; the exact-surname weight adjusted by how common the surname is) add
up to log-odds, read as the probability that this reading is the man, with "he is not in the registry"
competing as one more option. ``strong`` is a probability cut-off chosen on the DEV set.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.search import weights as fitted
from bot.search.comparators import (
    compare_names,
    compare_patronymics,
    compare_places,
    compare_relatives,
    compare_surnames,
    compare_years,
)
from bot.search.gazetteer import PlaceProfile, names_a_place_within, segment_naming, where_in
from bot.search.notation import YearReading
from bot.search.profiles import Derived, NameForms, Profile, query_profile, record_profile
from bot.search.spelling import fold
from bot.search.types import Match, Query, Reason, Record

FIELDS: tuple[str, ...] = ("surname", "name", "patronymic", "year", "place", "family", "relative")
# The categories in which a field agrees with the query. A reading is a result only when at least one of
# its fields agrees: a search returns fewer than its limit rather than readings with nothing in common.
AGREES: dict[str, frozenset[str]] = {
    "surname": frozenset({"exact", "phonetic", "wildcard", "typo1", "typo2"}),
    "name": frozenset({"exact", "variant", "initial", "similar"}),
    "patronymic": frozenset({"exact", "initial", "similar"}),
    "year": frozenset({"exact", "pattern", "range", "near1", "near2"}),
    "place": frozenset({"same", "partial"}),
    "family": frozenset({"same"}),
    "relative": frozenset({"same"}),
}


def agrees(row: Sequence[Verdict]) -> bool:
    """True when at least one field of a candidate agrees with the query."""
    return any(v.category in AGREES[name] for name, v in zip(FIELDS, row, strict=True))


@dataclass(frozen=True)
class Verdict:
    """One field's agreement category and the reason to show (if any)."""

    category: str
    reason: Reason | None = None


def _display(forms: NameForms) -> str:
    return forms.raw


def _surname_reason(q: NameForms, r: NameForms, category: str, from_declined: bool) -> Reason:
    args = {"query": _display(q), "found": _display(r)}
    if category == "exact":
        if from_declined:
            return Reason("surname_declined", args)
        if q.latin:
            return Reason("surname_translit", args)
        if q.kazakh:
            return Reason("surname_kazakh", args)
        if q.raw.lower().replace("ё", "е") in (a.lower().replace("ё", "е") for a in r.alternatives):
            return Reason("surname_exact", {"found": _display(r)})
        return Reason("surname_spelling", args)
    code = {
        "phonetic": "surname_translit" if q.latin else "surname_phonetic",
        "wildcard": "surname_wildcard",
    }.get(category, "surname_typo")
    return Reason(code, args)


def _one_name(old: str, new: str) -> bool:
    """True when two words name a place by one name in two forms (Павлодарская, Павлодар), not by a
    renaming (Гурьевская, Атырау)."""
    a, b = fold(old), fold(new)
    short, long = sorted((a, b), key=len)
    return long.startswith(short)


class QueryScorer:
    """Scores candidates against one query, caching each field's verdict per distinct value."""

    def __init__(self, q: Profile) -> None:
        self.q = q
        self._surname: dict[int, Verdict] = {}
        self._name: dict[int, Verdict] = {}
        self._patronymic: dict[int, Verdict] = {}
        self._year: dict[int, Verdict] = {}
        self._place: dict[int, Verdict] = {}
        self._family: dict[int, Verdict] = {}
        self._relative: dict[tuple[str, ...], Verdict] = {}
        self._surname_category: dict[int, str] = {}  # categories found in bulk (no reason built yet)

    def note_surname_category(self, r: NameForms, category: str) -> None:
        """Records the category of a surname judged in bulk; its reason is built if it is shown."""
        self._surname_category[id(r)] = category

    def has_surname_category(self, r: NameForms) -> bool:
        """True when the surname's category is known already (judged alone or in bulk)."""
        return id(r) in self._surname_category or id(r) in self._surname

    def surname_category(self, r: NameForms) -> str:
        """The surname's category (from the bulk judgement when there was one)."""
        found = self._surname_category.get(id(r))
        return found if found is not None else self.surname(r).category

    def surname(self, r: NameForms) -> Verdict:
        key = id(r)
        found = self._surname.get(key)
        if found is None:
            category, declined = compare_surnames(self.q.surname, r)
            reason = None if category == "weak" else _surname_reason(self.q.surname, r, category, declined)
            found = Verdict(category, reason)
            self._surname[key] = found
        return found

    def name(self, r: NameForms | None) -> Verdict:
        key = id(r)
        found = self._name.get(key)
        if found is None:
            q = self.q.name
            category = compare_names(q, r)
            reason = None
            if q is not None and r is not None:
                args = {"query": q.raw, "found": r.raw}
                code = {
                    "exact": "name_exact",
                    "variant": "name_variant",
                    "initial": "name_initial",
                    "similar": "name_similar",
                    "differs": "name_differs",
                }[category]
                reason = Reason(code, {"found": r.raw} if code == "name_exact" else args)
            found = Verdict(category, reason)
            self._name[key] = found
        return found

    def patronymic(self, r: NameForms | None) -> Verdict:
        key = id(r)
        found = self._patronymic.get(key)
        if found is None:
            q = self.q.patronymic
            category = compare_patronymics(q, r)
            reason = None
            if q is not None and r is not None:
                if category == "differs":
                    reason = Reason("patronymic_differs", {"query": q.raw, "found": r.raw})
                else:
                    reason = Reason("patronymic_match", {"found": r.raw})
            found = Verdict(category, reason)
            self._patronymic[key] = found
        return found

    def year(self, r: YearReading | None) -> Verdict:
        key = id(r)
        found = self._year.get(key)
        if found is None:
            q = self.q.year
            category, _distance = compare_years(q, r)
            reason = None
            if q is not None and r is not None and category != "missing":
                if category == "exact":
                    reason = Reason("year_exact", {"year": r.raw})
                elif category == "pattern":
                    reason = Reason("year_pattern", {"found": r.raw, "query": q.raw})
                elif category == "far":
                    reason = Reason("year_differs", {"found": r.raw, "query": q.raw})
                else:
                    reason = Reason("year_near", {"found": r.raw, "query": q.raw})
            found = Verdict(category, reason)
            self._year[key] = found
        return found

    def _place_verdict(
        self, q: PlaceProfile | None, r: PlaceProfile | None, field_name: str, raw: str = ""
    ) -> Verdict:
        category, words = compare_places(q, r)
        reason = None
        if words is not None:
            old, new = words
            if category == "differs":
                reason = Reason("place_differs", {"found": old, "query": new})
            elif category == "partial":
                # two districts of one oblast: say where the reading's is, and that it is the same oblast
                place = segment_naming(self.q.place_raw, new) if field_name == "place" else new
                reason = Reason("place_region", {"place": place, "found": where_in(raw, old) if raw else old})
            elif field_name == "family":
                reason = Reason("family_place_same", {"place": old})
            elif fold(old) != fold(new) and raw and names_a_place_within(self.q.place_raw, new):
                # the relative remembers the district or the village: say where the reading has it
                reason = Reason("place_within", {"place": new, "found": where_in(raw, old)})
            elif not _one_name(old, new) and any(region for region, _ in (r.regions if r else ())):
                reason = Reason("place_historical", {"old": old, "new": new})
            else:
                reason = Reason("place_same", {"place": where_in(raw, old) if raw else old})
        return Verdict(category, reason)

    def place(self, r: PlaceProfile | None, raw: str = "") -> Verdict:
        key = id(r)
        found = self._place.get(key)
        if found is None:
            found = self._place_verdict(self.q.place, r, "place", raw)
            self._place[key] = found
        return found

    def family(self, r: PlaceProfile | None) -> Verdict:
        key = id(r)
        found = self._family.get(key)
        if found is None:
            found = self._place_verdict(self.q.family, r, "family")
            self._family[key] = found
        return found

    def relative(self, r: tuple[str, ...], raw: str) -> Verdict:
        found = self._relative.get(r)
        if found is None:
            category = compare_relatives(self.q.relative, r)
            reason = Reason("relative_same", {"found": raw}) if category == "same" else None
            found = Verdict(category, reason)
            self._relative[r] = found
        return found

    def verdicts(self, r: Profile) -> tuple[Verdict, ...]:
        """Every field's verdict for one candidate."""
        return (
            self.surname(r.surname),
            self.name(r.name),
            self.patronymic(r.patronymic),
            self.year(r.year),
            self.place(r.place, r.place_raw),
            self.family(r.family),
            self.relative(r.relative, r.relative_raw),
        )


@dataclass(frozen=True)
class Model:
    """The fitted tables: ln m and u per field and category, and the calibration."""

    ln_m: dict[str, dict[str, float]]
    u: dict[str, dict[str, float]]
    prior: float
    temperature: float
    strong_cutoff: float


FITTED = Model(fitted.LN_M, fitted.U, fitted.PRIOR, fitted.TEMPERATURE, fitted.STRONG_CUTOFF)


def query_weights(
    rows: Sequence[tuple[Verdict, ...]], total: int, model: Model, exact_floor: int = 0
) -> dict[str, dict[str, float]]:
    """ln(m/u) per field and category for one query, u taken from this query's own candidates.

    A surname category weighs by how many readings of the registry fall into it for this query (the
    term-frequency adjustment: 300 exact Сейткалиевы weigh less than one Легкодымов); other fields
    weigh by their fitted share among candidates that are other men (per-query shares were tried and
    lost recall on DEV).
    """
    counts = Counter(row[0].category for row in rows)
    n = len(rows)
    log_total = math.log(max(total, n, 1))
    table: dict[str, dict[str, float]] = {}
    for name in FIELDS:
        if name == "surname":
            categories = list(model.ln_m[name])
            found = surname_weights([counts.get(c, 0) for c in categories], log_total, model, exact_floor)
            table[name] = dict(zip(categories, found, strict=True))
        else:
            table[name] = {c: m - math.log(model.u[name][c]) for c, m in model.ln_m[name].items()}
    return table


def surname_weights(
    counts: Sequence[int], log_total: float, model: Model, exact_floor: int = 0
) -> list[float]:
    """ln(m/u) per surname category (in ``model.ln_m["surname"]``'s order) from how many readings of the
    registry fall into each for this query (``counts``; the exact count at least ``exact_floor``).

    A variant of a common surname (Кусаннов, Нусаинов for Кусаинов) is rare as a reading, yet at least as
    likely another man's as the surname itself: every category counts at least the exact surname's
    readings. "weak" weighs its ln m alone (u = 1: nearly every reading of the registry is "weak").
    """
    categories = list(model.ln_m["surname"])
    exact_count = exact_floor
    if "exact" in categories:
        exact_count = max(int(counts[categories.index("exact")]), exact_floor)
    weights: list[float] = []
    for category, count in zip(categories, counts, strict=True):
        m = model.ln_m["surname"][category]
        if category == "weak":
            weights.append(m)
            continue
        weights.append(m - math.log(max(int(count), exact_count, 1)) + log_total)
    return weights


def probabilities(log_odds: Sequence[float], total: int, model: Model) -> list[float]:
    """P(candidate i is the man) with "he is not in the registry" competing as one more option."""
    offset = model.prior - math.log(max(total, len(log_odds), 1))
    logits = [s / model.temperature + offset for s in log_odds]
    shift = max([0.0, *logits])
    denominator = math.exp(-shift) + sum(math.exp(lg - shift) for lg in logits)
    return [math.exp(lg - shift) / denominator for lg in logits]


def rank_profiles(
    q: Profile,
    candidates: Sequence[tuple[str, Profile]],
    surname_freq: Callable[[str], int] | None,
    total: int | None,
    limit: int,
    model: Model = FITTED,
    scorer: QueryScorer | None = None,
) -> list[Match]:
    """Ranks (reading id, profile) candidates against a query profile; best first."""
    if not candidates:
        return []
    scorer = scorer or QueryScorer(q)
    rows = [scorer.verdicts(p) for _, p in candidates]
    registry_size = max(total or 0, len(candidates))
    exact_floor = 0
    if surname_freq is not None:
        exact_floor = max((surname_freq(f) for f in q.surname.all_forms), default=0)
    table = query_weights(rows, registry_size, model, exact_floor)
    log_odds = [sum(table[name][v.category] for name, v in zip(FIELDS, row, strict=True)) for row in rows]
    chances = probabilities(log_odds, registry_size, model)
    order = [k for k in sorted(range(len(rows)), key=lambda k: -chances[k]) if agrees(rows[k])][:limit]
    return [
        Match(
            reading_id=candidates[k][0],
            score=round(100.0 * chances[k], 1),
            strong=chances[k] >= model.strong_cutoff,
            reasons=tuple(v.reason for v in rows[k] if v.reason is not None),
        )
        for k in order
    ]


def score_candidates(
    q: Query,
    candidates: Sequence[tuple[Record, Derived]],
    *,
    surname_freq: Callable[[str], int] | None = None,
    total: int | None = None,
    limit: int = 5,
) -> list[Match]:
    """Ranks blocked candidates best first; ``score`` is ~ the probability (%) the reading is the man.

    ``surname_freq(surname_norm)`` tells how many readings carry a surname (rare surnames weigh more);
    ``total`` is the registry size (the more readings, the likelier a chance agreement).
    """
    profile = query_profile(q)
    if profile is None:
        return []
    prepared: list[tuple[str, Profile]] = []
    for record, derived in candidates:
        candidate = derived.profile
        if candidate is None and derived.data.get("s") is not None:
            candidate = Profile.from_json(derived.data)
        if candidate is None:
            candidate = record_profile(record)
        if candidate is not None:
            prepared.append((record.reading_id, candidate))
    return rank_profiles(profile, prepared, surname_freq, total, limit)
