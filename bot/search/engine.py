"""The registry search engine: derive keys from a reading, block, score candidates as probabilities.

Pipeline (DESIGN.md "The search engine"):

1. :func:`derive` parses each field of a reading (:mod:`bot.search.notation`), folds names into one
   Cyrillic key space (:mod:`bot.search.spelling`), and builds blocking keys: the consonant skeleton of
   every surname alternative and its one-deletion neighbours, prefix/suffix keys for damaged readings,
   each joined with a class of the first-name initial (``lktmv|е``) so a common surname does not
   return tens of thousands of candidates. A missing or unreadable name joins as ``*``.
2. :func:`query_keys` builds the same keys from what a relative typed (with Latin, Kazakh and declined
   variants, and every initial class when the name is not given): a reading of the man shares at least
   one key with the query.
3. :func:`score_candidates` puts each field of each candidate into an agreement category, adds the
   fitted weights (:mod:`bot.search.weights`; the exact-surname weight is adjusted by how common the
   surname is) and reads the sum as a probability, with "the man is not in the registry" competing as
   one more option. ``strong`` is a probability cut-off chosen on the DEV set.

:class:`Registry` is the same thing in memory. Reverse matching (a new reading against saved requests)
is :class:`bot.search.reverse.ReverseIndex`.
"""

from __future__ import annotations

import math
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import orjson
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from bot.search import weights as fitted
from bot.search.declension import nominative_forms
from bot.search.gazetteer import PlaceProfile, place_profile
from bot.search.names import NAME_GROUPS, name_group, patronymic_stem
from bot.search.notation import YearReading, parse_field, parse_year
from bot.search.spelling import (
    deletion_neighbours,
    fold,
    fold_variants,
    has_kazakh_letters,
    is_latin,
    skeleton,
    wildcard_pattern,
)

__all__ = [
    "ENGINE_VERSION",
    "QUERY_VERSION",
    "Derived",
    "Match",
    "Query",
    "Reason",
    "Record",
    "Registry",
    "derive",
    "query_from_record",
    "query_keys",
    "record_from_query",
    "score_candidates",
]

ENGINE_VERSION = "1.0"
# A saved search's stored keys, profile and registry sums come from the query side, which can change while
# the readings' stored data stays the same: a change of this version derives saved searches again (the
# matching job does it on its next pass) and leaves the readings alone. It includes ENGINE_VERSION.
QUERY_VERSION = f"{ENGINE_VERSION}/q2"  # q2: a name's first two letters swapped is looked for too


@dataclass(frozen=True)
class Query:
    """What a relative knows; every field optional but the surname."""

    surname: str
    name: str | None = None
    patronymic: str | None = None
    birth_year: int | None = None
    birth_year_to: int | None = None
    birthplace: str | None = None
    draft_office: str | None = None
    relative: str | None = None
    family_place: str | None = None
    birth_year_raw: str | None = None  # a year in the reading notation ("19?4"); wins over birth_year


@dataclass(frozen=True)
class Record:
    """One registry reading, raw text as imported."""

    reading_id: str
    surname: str
    name: str | None = None
    patronymic: str | None = None
    birth_year: str | None = None
    birthplace: str | None = None
    draft_office: str | None = None
    relative: str | None = None
    family_address: str | None = None


@dataclass(frozen=True)
class Reason:
    """The machine form of one human reason; codes and arguments are listed in :mod:`bot.search.reasons`."""

    code: str
    args: dict[str, str]


@dataclass(frozen=True)
class Match:
    """A ranked reading: ``score`` is roughly the probability (in %) that this reading is the man."""

    reading_id: str
    score: float
    strong: bool
    reasons: tuple[Reason, ...]


@dataclass(frozen=True, eq=False)
class NameForms:
    """A name field in every form the engine compares: folded alternatives, nominatives, skeletons."""

    raw: str
    alternatives: tuple[str, ...]  # as written, one per alternative of the notation
    forms: tuple[str, ...]  # folded (wildcards kept); Latin text gives several
    declined: tuple[str, ...]  # folded nominatives of a declined form, not among ``forms``
    initial: bool
    wild: bool
    latin: bool
    kazakh: bool

    @property
    def all_forms(self) -> tuple[str, ...]:
        """Folded forms followed by the nominatives."""
        return self.forms + self.declined

    def to_json(self) -> list[Any]:
        """A JSON-able form read back by :meth:`from_json`."""
        flags = int(self.initial) | int(self.wild) << 1 | int(self.latin) << 2 | int(self.kazakh) << 3
        return [self.raw, list(self.alternatives), list(self.forms), list(self.declined), flags]

    @staticmethod
    def from_json(data: list[Any]) -> NameForms:
        """Reads the form written by :meth:`to_json`."""
        raw, alternatives, forms, declined, flags = data
        return NameForms(
            raw=raw,
            alternatives=tuple(alternatives),
            forms=tuple(forms),
            declined=tuple(declined),
            initial=bool(flags & 1),
            wild=bool(flags & 2),
            latin=bool(flags & 4),
            kazakh=bool(flags & 8),
        )


@lru_cache(maxsize=300_000)
def name_forms(raw: str | None, lemmatize: bool = False) -> NameForms | None:
    """Parses and folds one name field; ``lemmatize`` adds nominatives of declined forms."""
    if raw is None:
        return None
    reading = parse_field(raw)
    if reading is None:
        return None
    forms: list[str] = []
    for alternative in reading.alternatives:
        for variant in fold_variants(alternative):
            if variant.strip("?*") and variant not in forms:
                forms.append(variant)
    if not forms:
        return None
    declined: list[str] = []
    wild = any("?" in f or "*" in f for f in forms)
    if lemmatize and not wild:
        for alternative in reading.alternatives:
            word = alternative.lower() if not is_latin(alternative) else fold(alternative)
            for lemma in nominative_forms(word):
                folded = fold(lemma)
                if folded and folded not in forms and folded not in declined:
                    declined.append(folded)
    return NameForms(
        raw=reading.raw.strip(),
        alternatives=reading.alternatives,
        forms=tuple(forms),
        declined=tuple(declined),
        initial=reading.initial,
        wild=wild,
        latin=any(is_latin(a) for a in reading.alternatives),
        kazakh=any(has_kazakh_letters(a) for a in reading.alternatives),
    )


@dataclass(frozen=True, eq=False)
class Profile:
    """Everything the scorer compares about one man, from a reading or from a relative's request."""

    surname: NameForms
    name: NameForms | None
    patronymic: NameForms | None
    year: YearReading | None
    place: PlaceProfile | None
    place_raw: str
    family: PlaceProfile | None
    family_raw: str
    relative: tuple[str, ...]
    relative_raw: str

    def to_json(self) -> dict[str, Any]:
        """A JSON-able form (stored as ``Derived.data``), read back by :meth:`from_json`."""
        year = self.year
        return {
            "v": ENGINE_VERSION,
            "s": self.surname.to_json(),
            "n": self.name.to_json() if self.name else None,
            "p": self.patronymic.to_json() if self.patronymic else None,
            "y": [year.raw, year.low, year.high, year.pattern] if year else None,
            "pl": [self.place_raw, self.place.to_json()] if self.place else None,
            "fa": [self.family_raw, self.family.to_json()] if self.family else None,
            "r": [self.relative_raw, list(self.relative)] if self.relative else None,
        }

    @staticmethod
    def from_json(data: dict[str, Any]) -> Profile:
        """Reads the form written by :meth:`to_json`."""
        y = data.get("y")
        pl = data.get("pl")
        fa = data.get("fa")
        r = data.get("r")
        return Profile(
            surname=NameForms.from_json(data["s"]),
            name=NameForms.from_json(data["n"]) if data.get("n") else None,
            patronymic=NameForms.from_json(data["p"]) if data.get("p") else None,
            year=YearReading(raw=y[0], low=y[1], high=y[2], pattern=y[3]) if y else None,
            place=PlaceProfile.from_json(pl[1]) if pl else None,
            place_raw=pl[0] if pl else "",
            family=PlaceProfile.from_json(fa[1]) if fa else None,
            family_raw=fa[0] if fa else "",
            relative=tuple(r[1]) if r else (),
            relative_raw=r[0] if r else "",
        )


@dataclass(frozen=True)
class Derived:
    """What :func:`derive` computes from a reading: the folded surname, blocking keys, scorer data."""

    surname_norm: str
    keys: frozenset[str]
    data: dict[str, Any]
    profile: Profile | None = field(default=None, compare=False, repr=False)


def _join_places(*texts: str | None) -> str:
    return "; ".join(t.strip() for t in texts if t and t.strip())


@lru_cache(maxsize=100_000)
def _place(raw: str) -> PlaceProfile | None:
    if not raw:
        return None
    profile = place_profile(raw)
    if not profile.regions and not profile.words:
        return None
    return profile


@lru_cache(maxsize=100_000)
def _relative_words(raw: str) -> tuple[str, ...]:
    words = []
    for word in raw.replace(",", " ").replace(";", " ").split():
        folded = fold(word)
        if len(folded) >= 3 and folded not in words:
            words.append(folded)
    return tuple(words)


@lru_cache(maxsize=100_000)
def _year(raw: str) -> YearReading | None:
    reading = parse_year(raw)
    if reading is None or reading.low is None:
        return None
    return reading


def _profile(
    surname: str,
    name: str | None,
    patronymic: str | None,
    year: YearReading | None,
    place_raw: str,
    family_raw: str,
    relative_raw: str,
    lemmatize: bool,
) -> Profile | None:
    surname_forms = name_forms(surname, lemmatize)
    if surname_forms is None:
        return None
    return Profile(
        surname=surname_forms,
        name=name_forms(name, lemmatize),
        patronymic=name_forms(patronymic, lemmatize),
        year=year,
        place=_place(place_raw),
        place_raw=place_raw,
        family=_place(family_raw),
        family_raw=family_raw,
        relative=_relative_words(relative_raw),
        relative_raw=relative_raw,
    )


def record_profile(record: Record, lemmatize: bool = False) -> Profile | None:
    """The profile of a reading (None when its surname has nothing readable)."""
    return _profile(
        record.surname or "",
        record.name,
        record.patronymic,
        _year(record.birth_year.strip()) if record.birth_year else None,
        _join_places(record.birthplace, record.draft_office),
        (record.family_address or "").strip(),
        (record.relative or "").strip(),
        lemmatize,
    )


def query_year(q: Query) -> YearReading | None:
    """The birth year of a query as a reading (a range when ``birth_year_to`` is given)."""
    if q.birth_year_raw:
        return _year(q.birth_year_raw.strip())
    if q.birth_year is None:
        return None
    low, high = q.birth_year, q.birth_year_to or q.birth_year
    low, high = min(low, high), max(low, high)
    if not 1850 <= low <= 1950 or not 1850 <= high <= 1950:
        return None
    raw = str(low) if low == high else f"{low}–{high}"
    return YearReading(raw=raw, low=low, high=high, pattern=None)


def query_profile(q: Query) -> Profile | None:
    """The profile of a relative's query: declined forms are brought back to the nominative."""
    return _profile(
        q.surname or "",
        q.name,
        q.patronymic,
        query_year(q),
        _join_places(q.birthplace, q.draft_office),
        (q.family_place or "").strip(),
        (q.relative or "").strip(),
        True,
    )


# ---------------------------------------------------------------------------------------------- keys

# First letters a hand or a spelling confuses share a class (и/н/п/л, а/о, т/ш/ж/ч, г/к/х, з/с/ц).
_INITIAL_CLASS = str.maketrans(
    {
        "о": "а",
        "н": "и",
        "п": "и",
        "л": "и",
        "ш": "т",
        "ж": "т",
        "ч": "т",
        "г": "к",
        "х": "к",
        "з": "с",
        "ц": "с",
        "ф": "в",
    }
)
ALL_INITIAL_CLASSES: tuple[str, ...] = tuple(
    sorted(set("абвгдежзиклмнопрстуфхцчш".translate(_INITIAL_CLASS)))
)
_ANY_NAME = "*"


def _initial_class(folded: str) -> str | None:
    head = folded[:1]
    if not head or head in "?*":
        return None
    return head.translate(_INITIAL_CLASS)


@lru_cache(maxsize=100_000)
def _name_classes(forms: NameForms | None, with_own: bool) -> frozenset[str]:
    """Initial classes of a name: of its table group (and, for a query, of the name as typed)."""
    if forms is None:
        return frozenset({_ANY_NAME})
    classes: set[str] = set()
    for form in forms.all_forms:
        own = _initial_class(form)
        if own is None:
            continue
        group = _initial_class(name_group(form)) if not forms.initial else None
        classes.add(group or own)
        if with_own:
            classes.add(own)
    return frozenset(classes or {_ANY_NAME})


def _tail(folded: str) -> str:
    """The skeleton of a word's ending (no word-initial vowel mark)."""
    key = skeleton(folded)
    return key[1:] if key.startswith("a") and folded[:1] in "аеиоу" else key


@lru_cache(maxsize=300_000)
def _surname_keys(forms: NameForms, for_query: bool) -> frozenset[str]:
    """Surname blocking keys: skeletons and one-deletion neighbours; prefix/suffix keys for damage."""
    keys: set[str] = set()
    for form in forms.all_forms:
        if "*" in form or "?" in form:
            cut = min(i for i in (form.find("*"), form.find("?")) if i >= 0)
            head, tail = form[:cut], form[max(form.rfind("*"), form.rfind("?")) + 1 :]
            head_key = skeleton(head)
            if len(head_key) >= 2:
                keys.add("p" + head_key[:3])
            tail_key = _tail(tail)
            if len(tail_key) >= 2:
                keys.add("x" + tail_key[-3:])
            if "*" in form:
                continue
        key = skeleton(form)
        if not key:
            continue
        keys.update("s" + k for k in deletion_neighbours(key, min_length=2))
        if for_query:
            keys.update(("p" + key[:2], "p" + key[:3]))
            end = _tail(form)
            keys.update(("x" + end[-2:], "x" + end[-3:]))
    return frozenset(keys)


def _combine(surname_keys: Iterable[str], classes: Iterable[str]) -> frozenset[str]:
    return frozenset(f"{s}|{c}" for s in surname_keys for c in classes)


def _profile_keys(profile: Profile) -> frozenset[str]:
    return _combine(_surname_keys(profile.surname, False), _name_classes(profile.name, False))


@lru_cache(maxsize=50_000)
def _swapped_classes(forms: NameForms) -> frozenset[str]:
    """Initial classes of a typed name with its first two letters the other way round (Обрис: Борис),
    when the name as typed is none the table knows (so a known name never brings in others)."""
    classes: set[str] = set()
    if not forms.initial:
        for form in forms.all_forms:
            if len(form) > 2 and form[1] not in "?*" and form not in NAME_GROUPS and name_group(form) == form:
                swapped = form[1] + form[0] + form[2:]
                classes.add(_initial_class(name_group(swapped)) or form[1])
    return frozenset(classes)


def _exact_surname_keys(forms: NameForms) -> frozenset[str]:
    return frozenset("s" + key for key in map(skeleton, forms.all_forms) if key and "?" not in key)


def _query_profile_keys(profile: Profile) -> frozenset[str]:
    surname_keys = _surname_keys(profile.surname, True)
    if profile.name is None or all(f[:1] in "?*" for f in profile.name.all_forms):
        return _combine(surname_keys, (*ALL_INITIAL_CLASSES, _ANY_NAME))
    classes = _name_classes(profile.name, True) | {_ANY_NAME}
    # A name's first two letters swapped is a common slip at the keyboard; looked for only under the
    # surname as typed, which keeps the candidates few.
    swapped = _swapped_classes(profile.name) - classes
    return _combine(surname_keys, classes) | _combine(_exact_surname_keys(profile.surname), swapped)


def derive(record: Record, lemmatize: bool = False) -> Derived:
    """Folded surname, blocking keys and scorer data of a reading (``lemmatize`` for relatives' text)."""
    profile = record_profile(record, lemmatize)
    if profile is None:
        return Derived(surname_norm="", keys=frozenset(), data={"v": ENGINE_VERSION}, profile=None)
    return Derived(
        surname_norm=profile.surname.forms[0],
        keys=_profile_keys(profile),
        data=profile.to_json(),
        profile=profile,
    )


@dataclass(frozen=True)
class StoredDerived:
    """What an import stores of a reading: the folded surname, blocking keys and the scorer data as JSON.

    The same as :func:`derive` gives (``json`` is ``Derived.data`` serialized), built from JSON pieces
    cached per field text: a registry repeats its surnames, names and places, so most readings are put
    together from pieces already made.
    """

    surname_norm: str
    keys: frozenset[str]
    json: str


@lru_cache(maxsize=300_000)
def _name_json(raw: str | None) -> str:
    forms = name_forms(raw) if raw is not None else None
    return orjson.dumps(forms.to_json()).decode() if forms is not None else "null"


@lru_cache(maxsize=20_000)
def _year_json(raw: str | None) -> str:
    year = _year(raw.strip()) if raw else None
    return orjson.dumps([year.raw, year.low, year.high, year.pattern]).decode() if year else "null"


@lru_cache(maxsize=200_000)
def _place_json(raw: str) -> str:
    place = _place(raw)
    return orjson.dumps([raw, place.to_json()]).decode() if place else "null"


@lru_cache(maxsize=200_000)
def _relative_json(raw: str) -> str:
    words = _relative_words(raw)
    return orjson.dumps([raw, list(words)]).decode() if words else "null"


_VERSION_JSON = orjson.dumps(ENGINE_VERSION).decode()


@lru_cache(maxsize=200_000)
def _surname_part(surname: str) -> tuple[str, frozenset[str]] | None:
    """A surname's folded form and blocking keys (without the name's classes), by its text."""
    forms = name_forms(surname)
    return (forms.forms[0], _surname_keys(forms, False)) if forms is not None else None


@lru_cache(maxsize=50_000)
def _name_part(name: str | None) -> frozenset[str]:
    return _name_classes(name_forms(name) if name is not None else None, False)


@lru_cache(maxsize=200_000)
def _reading_keys(surname_keys: frozenset[str], name_classes: frozenset[str]) -> frozenset[str]:
    return _combine(surname_keys, name_classes)


def derive_stored(record: Record) -> StoredDerived:
    """:func:`derive` of a reading for storing (``lemmatize`` off), with the data already as JSON."""
    return derive_stored_fields(
        record.surname or "",
        record.name,
        record.patronymic,
        record.birth_year,
        record.birthplace,
        record.draft_office,
        record.family_address,
        record.relative,
    )


def derive_stored_fields(
    surname: str,
    name: str | None,
    patronymic: str | None,
    birth_year: str | None,
    birthplace: str | None,
    draft_office: str | None,
    family_address: str | None,
    relative: str | None,
) -> StoredDerived:
    """:func:`derive_stored` of a reading given field by field (an import's hot path: no Record made)."""
    surname_part = _surname_part(surname)
    if surname_part is None:
        return StoredDerived("", frozenset(), orjson.dumps({"v": ENGINE_VERSION}).decode())
    folded, surname_keys = surname_part
    parts = (
        '{"v":',
        _VERSION_JSON,
        ',"s":',
        _name_json(surname),
        ',"n":',
        _name_json(name),
        ',"p":',
        _name_json(patronymic),
        ',"y":',
        _year_json(birth_year),
        ',"pl":',
        _place_json(_join_places(birthplace, draft_office)),
        ',"fa":',
        _place_json(family_address.strip() if family_address else ""),
        ',"r":',
        _relative_json(relative.strip() if relative else ""),
        "}",
    )
    return StoredDerived(folded, _reading_keys(surname_keys, _name_part(name)), "".join(parts))


def query_keys(q: Query) -> frozenset[str]:
    """Keys to look up: a reading of the man the query describes shares at least one of them."""
    profile = query_profile(q)
    if profile is None:
        return frozenset()
    return _query_profile_keys(profile)


# ------------------------------------------------------------------------------------------- scoring

FIELDS: tuple[str, ...] = ("surname", "name", "patronymic", "year", "place", "family", "relative")


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


_SURNAME_RANK = {"exact": 0, "phonetic": 1, "wildcard": 2, "typo1": 3, "typo2": 4, "weak": 5}


def compare_surnames(q: NameForms, r: NameForms) -> tuple[str, bool]:
    """(category, the match came from a declined form) for two surnames."""
    best, best_declined = "weak", False
    declined_start = len(q.forms)
    for i, qf in enumerate(q.all_forms):
        declined = i >= declined_start
        q_key = skeleton(qf)
        for rf in r.forms:
            if qf == rf:
                return "exact", declined
            if r.wild:
                pattern = wildcard_pattern(rf)
                if pattern is not None and pattern.fullmatch(qf):
                    category = "wildcard"
                else:
                    similarity = Levenshtein.normalized_similarity(qf, rf.replace("*", ""))
                    category = "typo1" if similarity >= 0.8 else "typo2" if similarity >= 0.6 else "weak"
            elif q_key == skeleton(rf):
                category = "phonetic"
            else:
                similarity = Levenshtein.normalized_similarity(qf, rf)
                category = "typo1" if similarity >= 0.8 else "typo2" if similarity >= 0.65 else "weak"
            if _SURNAME_RANK[category] < _SURNAME_RANK[best]:
                best, best_declined = category, declined
    return best, best_declined


def compare_names(q: NameForms | None, r: NameForms | None) -> str:
    """The agreement category of two first names."""
    if q is None or r is None:
        return "missing"
    best = "differs"
    for qf in q.all_forms:
        for rf in r.forms:
            if q.initial or r.initial:
                if qf[:1] == rf[:1] or name_group(qf)[:1] == name_group(rf)[:1]:
                    return "initial"
                continue
            if qf == rf:
                return "exact"
            if r.wild:
                pattern = wildcard_pattern(rf)
                if pattern is not None and pattern.fullmatch(qf):
                    best = "similar"
                continue
            if name_group(qf) == name_group(rf):
                best = "variant"
            elif best == "differs" and Levenshtein.normalized_similarity(qf, rf) >= 0.75:
                best = "similar"
    return best


def compare_patronymics(q: NameForms | None, r: NameForms | None) -> str:
    """The agreement category of two patronymics (compared by the father's name they come from)."""
    if q is None or r is None:
        return "missing"
    best = "differs"
    for qf in q.all_forms:
        for rf in r.forms:
            if q.initial or r.initial:
                if qf[:1] == rf[:1]:
                    return "initial"
                continue
            if qf == rf or patronymic_stem(qf) == patronymic_stem(rf):
                return "exact"
            if r.wild:
                pattern = wildcard_pattern(rf)
                if pattern is not None and pattern.fullmatch(qf):
                    best = "similar"
                continue
            if Levenshtein.normalized_similarity(qf, rf) >= 0.75:
                best = "similar"
    return best


@lru_cache(maxsize=20_000)
def _years(reading: YearReading) -> range | list[int]:
    low, high = reading.low or 0, reading.high or 0
    if reading.pattern is None:
        return range(low, high + 1)
    return [y for y in range(max(low, 1850), min(high, 1950) + 1) if reading.allows(y)]


@lru_cache(maxsize=50_000)
def compare_years(q: YearReading | None, r: YearReading | None) -> tuple[str, int]:
    """(category, distance in years) of two year readings."""
    if q is None or r is None or q.low is None or r.low is None or q.high is None or r.high is None:
        return "missing", 0
    if r.pattern is None and q.pattern is None:
        if q.high < r.low:
            distance = r.low - q.high
        elif r.high < q.low:
            distance = q.low - r.high
        else:
            exact = q.low == q.high == r.low == r.high
            return ("exact" if exact else "range"), 0
    else:
        q_years, r_years = _years(q), _years(r)
        if not q_years or not r_years:
            return "missing", 0
        if set(q_years) & set(r_years):
            return "pattern", 0
        distance = min(abs(a - b) for a in (q_years[0], q_years[-1]) for b in r_years)
    if distance == 1:
        return "near1", 1
    if distance == 2:
        return "near2", 2
    if distance <= 5:
        return "near5", distance
    return "far", distance


def compare_places(q: PlaceProfile | None, r: PlaceProfile | None) -> tuple[str, tuple[str, str] | None]:
    """(category, (record's wording, query's wording) of the shared region or village)."""
    if q is None or r is None:
        return "unknown", None
    for q_region, q_word in q.regions:
        for r_region, r_word in r.regions:
            if q_region == r_region:
                return "same", (r_word, q_word)
    for q_word in q.words:
        for r_word in r.words:
            if len(q_word) >= 5 and Levenshtein.normalized_similarity(q_word, r_word) >= 0.85:
                return "same", (r_word, q_word)
    if q.regions and r.regions:
        return "differs", (r.regions[0][1], q.regions[0][1])
    return "unknown", None


def compare_relatives(q: tuple[str, ...], r: tuple[str, ...]) -> str:
    """The agreement category of the relative's name as the query and the insert give it."""
    if not q or not r:
        return "unknown"
    for qw in q:
        for rw in r:
            if qw == rw or (len(qw) >= 4 and Levenshtein.normalized_similarity(qw, rw) >= 0.8):
                return "same"
            if name_group(qw) == name_group(rw) and len(qw) >= 3:
                return "same"
    return "differs"


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

    def _place_verdict(self, q: PlaceProfile | None, r: PlaceProfile | None, field_name: str) -> Verdict:
        category, words = compare_places(q, r)
        reason = None
        if words is not None:
            old, new = words
            if category == "differs":
                reason = Reason("place_differs", {"found": old, "query": new})
            elif field_name == "family":
                reason = Reason("family_place_same", {"place": old})
            elif fold(old) != fold(new) and any(region for region, _ in (r.regions if r else ())):
                reason = Reason("place_historical", {"old": old, "new": new})
            else:
                reason = Reason("place_same", {"place": old})
        return Verdict(category, reason)

    def place(self, r: PlaceProfile | None) -> Verdict:
        key = id(r)
        found = self._place.get(key)
        if found is None:
            found = self._place_verdict(self.q.place, r, "place")
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
            self.place(r.place),
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
        ln_m = model.ln_m[name]
        weights: dict[str, float] = {}
        for category, m in ln_m.items():
            if name == "surname":
                count = counts.get(category, 0)
                if category == "weak":
                    weights[category] = m  # u = 1: nearly every reading of the registry is "weak"
                else:
                    if category == "exact":
                        count = max(count, exact_floor)
                    weights[category] = m - math.log(max(count, 1)) + log_total
            else:
                weights[category] = m - math.log(model.u[name][category])
        table[name] = weights
    return table


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
    order = sorted(range(len(rows)), key=lambda k: -chances[k])[:limit]
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


def query_from_record(r: Record) -> Query:
    """A query describing the man of a reading (the reverse direction: a reading against requests)."""
    return Query(
        surname=r.surname,
        name=r.name,
        patronymic=r.patronymic,
        birth_year_raw=r.birth_year,
        birthplace=r.birthplace,
        draft_office=r.draft_office,
        relative=r.relative,
        family_place=r.family_address,
    )


def record_from_query(request_id: str, q: Query) -> Record:
    """A saved request as a record, so requests can be indexed like readings."""
    year = q.birth_year_raw
    if year is None and q.birth_year is not None:
        year = str(q.birth_year) if not q.birth_year_to else f"{q.birth_year}-{q.birth_year_to}"
    return Record(
        reading_id=request_id,
        surname=q.surname,
        name=q.name,
        patronymic=q.patronymic,
        birth_year=year,
        birthplace=q.birthplace,
        draft_office=q.draft_office,
        relative=q.relative,
        family_address=q.family_place,
    )


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
        classes = _name_classes(name, False)
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
            for key in _combine(_surname_keys(surname, False), classes):
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
        k = min(limit, positions.size)
        top = np.argpartition(-chances, k - 1)[:k] if k < positions.size else np.arange(positions.size)
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
