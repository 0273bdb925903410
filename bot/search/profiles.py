"""Profiles: everything the scorer compares about one man, parsed and folded from a reading or a query.

A name field becomes :class:`NameForms` (its alternatives folded into one Cyrillic key space, declined
forms brought back to the nominative for a relative's text); a whole reading or query becomes a
:class:`Profile`, whose JSON form is what an import stores (``Derived.data``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from bot.search.declension import nominative_forms
from bot.search.gazetteer import PlaceProfile, place_profile
from bot.search.notation import YearReading, parse_field, parse_year
from bot.search.spelling import fold, fold_variants, has_kazakh_letters, is_latin, regional_variants
from bot.search.types import ENGINE_VERSION, Query, Record


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
    if lemmatize and not wild:  # what a relative typed: today's Central Asian forms too
        for alternative in reading.alternatives:
            forms.extend(v for v in regional_variants(alternative) if v not in forms)
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
    def from_json(data: Mapping[str, Any]) -> Profile:
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


def join_places(*texts: str | None) -> str:
    return "; ".join(t.strip() for t in texts if t and t.strip())


@lru_cache(maxsize=100_000)
def place_of(raw: str) -> PlaceProfile | None:
    if not raw:
        return None
    profile = place_profile(raw)
    if not profile.regions and not profile.words:
        return None
    return profile


@lru_cache(maxsize=100_000)
def relative_words(raw: str) -> tuple[str, ...]:
    words = []
    for word in raw.replace(",", " ").replace(";", " ").split():
        folded = fold(word)
        if len(folded) >= 3 and folded not in words:
            words.append(folded)
    return tuple(words)


@lru_cache(maxsize=100_000)
def year_of(raw: str) -> YearReading | None:
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
        place=place_of(place_raw),
        place_raw=place_raw,
        family=place_of(family_raw),
        family_raw=family_raw,
        relative=relative_words(relative_raw),
        relative_raw=relative_raw,
    )


def record_profile(record: Record, lemmatize: bool = False) -> Profile | None:
    """The profile of a reading (None when its surname has nothing readable)."""
    return _profile(
        record.surname or "",
        record.name,
        record.patronymic,
        year_of(record.birth_year.strip()) if record.birth_year else None,
        join_places(record.birthplace, record.draft_office),
        (record.family_address or "").strip(),
        (record.relative or "").strip(),
        lemmatize,
    )


def query_year(q: Query) -> YearReading | None:
    """The birth year of a query as a reading (a range when ``birth_year_to`` is given)."""
    if q.birth_year_raw:
        return year_of(q.birth_year_raw.strip())
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
        join_places(q.birthplace, q.draft_office),
        (q.family_place or "").strip(),
        (q.relative or "").strip(),
        True,
    )
