"""Blocking keys: a reading of the man a query describes shares at least one key with the query.

A surname gives its consonant skeleton and one-deletion neighbours (prefix/suffix keys for damaged
readings; a query adds short prefixes and endings), each joined with a class of the first-name initial
(``lktmv|е``) so a common surname does not return tens of thousands of candidates. A missing or
unreadable name joins as ``*``; a query without a name looks under every class.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from rapidfuzz import process
from rapidfuzz.distance import OSA

from bot.search.gazetteer import PlaceProfile
from bot.search.names import NAME_GROUPS, name_group
from bot.search.notation import YearReading
from bot.search.profiles import Derived, NameForms, Profile, query_profile, record_profile
from bot.search.spelling import deletion_neighbours, skeleton
from bot.search.types import ENGINE_VERSION, Query, Record

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
def name_initial_classes(forms: NameForms | None, with_own: bool) -> frozenset[str]:
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
            if not forms.initial:
                classes.update(_near_table_classes(form))
    return frozenset(classes or {_ANY_NAME})


_TABLE_NAMES = tuple(NAME_GROUPS)


def _unknown_name(form: str) -> bool:
    """A folded first name that neither the table nor its spelling rules know (name_group keeps it)."""
    return form not in NAME_GROUPS and name_group(form) == form


@lru_cache(maxsize=50_000)
def _near_table_classes(form: str) -> frozenset[str]:
    """For a name the table does not know (Еергей, Вайжан, Байжн): the initial classes of the table's names
    one slip from it, so that a misread or mistyped first letter does not file the man under a class
    nobody looks in (kind 5: Лихаил for Михаил, Хумабай for Жумабай)."""
    if len(form) < 4 or "?" in form or "*" in form or not _unknown_name(form):
        return frozenset()
    near = process.extract(form, _TABLE_NAMES, scorer=OSA.distance, score_cutoff=1, limit=None)
    return frozenset(c for name, _, _ in near if (c := _initial_class(name_group(name))) is not None)


def _tail(folded: str) -> str:
    """The skeleton of a word's ending (no word-initial vowel mark)."""
    key = skeleton(folded)
    return key[1:] if key.startswith("a") and folded[:1] in "аеиоу" else key


# A surname with this many unreadable letters (Ко??ов, М?р?ов) keeps too few for the keys below; it is
# filed under its shape too: its first letter, its length and its last letter, which the ``?`` keep.
_SHAPE_UNREADABLE = 2


def _shape_keys(form: str) -> tuple[str, ...]:
    """The shape keys a query looks up: its first and last letters (or either unread) and its length,
    give or take a letter the relative added or dropped."""
    return tuple(
        f"l{head}{n}{tail}"
        for head in (form[0], "?")
        for tail in (form[-1], "?")
        for n in (len(form) - 1, len(form), len(form) + 1)
    )


@lru_cache(maxsize=300_000)
def surname_block_keys(forms: NameForms, for_query: bool) -> frozenset[str]:
    """Surname blocking keys: skeletons and one-deletion neighbours; prefix/suffix keys for damage."""
    keys: set[str] = set()
    for form in forms.all_forms:
        if for_query and "*" not in form and "?" not in form:
            keys.update(_shape_keys(form))
        elif not for_query and "*" not in form and form.count("?") >= _SHAPE_UNREADABLE:
            keys.add(f"l{form[0]}{len(form)}{form[-1]}")
        if "*" in form or "?" in form:
            cut = min(i for i in (form.find("*"), form.find("?")) if i >= 0)
            head, tail = form[:cut], form[max(form.rfind("*"), form.rfind("?")) + 1 :]
            head_key = skeleton(head)
            if len(head_key) >= 2:
                keys.add("p" + head_key[:3])
            tail_key = _tail(tail)
            if len(tail_key) >= 2:
                keys.add("x" + tail_key[-3:])
                if not for_query and form.startswith("*"):
                    keys.add("x" + tail_key[-2:])
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
            if end.endswith("v"):  # a final в read as б, as a hand writes them (...тникоб)
                misread = end[:-1] + "p"
                keys.update(("x" + misread[-2:], "x" + misread[-3:]))
    return frozenset(keys)


def combine_keys(surname_keys: Iterable[str], classes: Iterable[str]) -> frozenset[str]:
    return frozenset(f"{s}|{c}" for s in surname_keys for c in classes)


def reading_initial_classes(forms: NameForms | None) -> frozenset[str]:
    """The initial classes a reading is filed under: its name's own beside its table name's (Микола: м, and
    Николай's и), so that a relative's slip that hides the table name (Мколы) still meets it."""
    return name_initial_classes(forms, True)


def _profile_keys(profile: Profile) -> frozenset[str]:
    return combine_keys(surname_block_keys(profile.surname, False), reading_initial_classes(profile.name))


@lru_cache(maxsize=50_000)
def _swapped_classes(forms: NameForms) -> frozenset[str]:
    """Initial classes of a typed name with its first two letters the other way round (Обрис: Борис),
    when the name as typed is none the table knows (so a known name never brings in others)."""
    classes: set[str] = set()
    if not forms.initial:
        for form in forms.all_forms:
            if len(form) > 2 and form[1] not in "?*" and _unknown_name(form):
                swapped = form[1] + form[0] + form[2:]
                classes.add(_initial_class(name_group(swapped)) or form[1])
    return frozenset(classes)


def _exact_surname_keys(forms: NameForms) -> frozenset[str]:
    return frozenset("s" + key for key in map(skeleton, forms.all_forms) if key and "?" not in key)


def _query_profile_keys(profile: Profile) -> frozenset[str]:
    surname_keys = surname_block_keys(profile.surname, True)
    if profile.name is None or all(f[:1] in "?*" for f in profile.name.all_forms):
        return combine_keys(surname_keys, (*ALL_INITIAL_CLASSES, _ANY_NAME))
    classes = name_initial_classes(profile.name, True) | {_ANY_NAME}
    # A name's first two letters swapped is a common slip at the keyboard; looked for only under the
    # surname as typed, which keeps the candidates few.
    swapped = _swapped_classes(profile.name) - classes
    return combine_keys(surname_keys, classes) | combine_keys(_exact_surname_keys(profile.surname), swapped)


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


def query_keys(q: Query) -> frozenset[str]:
    """Keys to look up: a reading of the man the query describes shares at least one of them."""
    profile = query_profile(q)
    if profile is None:
        return frozenset()
    return _query_profile_keys(profile)


# ---------------------------------------------------------------------------- the second blocking pass
#
# No single field is a gate: a reading whose surname is too damaged for the keys above (Ко??ов, ...тникоб,
# Лоисеев) still agrees with the query on two of the first name, the birth year and the birthplace. The
# in-memory registry files every reading under these pair keys too (built from its profile when loaded,
# never stored), and looks them up for a query the surname keys leave without a confident answer.

_PAIR_YEARS = 4  # a reading's year that allows more years than this (19??) files no year keys


@lru_cache(maxsize=50_000)
def _name_groups(forms: NameForms | None) -> frozenset[str]:
    if forms is None or forms.initial or forms.wild:
        return frozenset()
    return frozenset(g for g in (name_group(f) for f in forms.all_forms) if len(g) >= 2)


@lru_cache(maxsize=20_000)
def _reading_years(year: YearReading | None) -> tuple[int, ...]:
    if year is None or year.low is None or year.high is None:
        return ()
    low, high = max(year.low, 1850), min(year.high, 1950)
    if year.pattern is None:
        span = tuple(range(low, high + 1)) if high - low < _PAIR_YEARS else ()
    else:
        span = tuple(y for y in range(low, high + 1) if year.allows(y))
    return span if len(span) <= _PAIR_YEARS else ()


@lru_cache(maxsize=100_000)
def _regions(place: PlaceProfile | None) -> frozenset[str]:
    return frozenset(region for region, _ in place.regions) if place is not None else frozenset()


@lru_cache(maxsize=100_000)
def _pairs(names: frozenset[str], years: tuple[int, ...], regions: frozenset[str]) -> frozenset[str]:
    keys = {f"ny{n}|{y}" for n in names for y in years}
    keys.update(f"np{n}|{r}" for n in names for r in regions)
    keys.update(f"yp{y}|{r}" for y in years for r in regions)
    return frozenset(keys)


def reading_pair_keys(
    name: NameForms | None, year: YearReading | None, place: PlaceProfile | None
) -> frozenset[str]:
    """The pair keys of a reading: its first name with its birth year, either with its birthplace."""
    return _pairs(_name_groups(name), _reading_years(year), _regions(place))


def query_pair_keys(profile: Profile) -> frozenset[str]:
    """The pair keys to look up for a query (its years widened by one each way: memory is approximate)."""
    years: tuple[int, ...] = ()
    year = profile.year
    known = year is not None and year.low is not None and year.high is not None and year.pattern is None
    if (
        known
        and year is not None
        and year.low is not None
        and year.high is not None
        and year.high - year.low <= 6
    ):
        years = tuple(range(year.low - 1, year.high + 2))
    return _pairs(_name_groups(profile.name), years, _regions(profile.place))


def query_keys_any_name(profile: Profile) -> frozenset[str]:
    """The query's surname as typed (its skeletons, no neighbours) under every first-name class: the
    reading of a man whose first name was misread into another (Лихаил for Михаил)."""
    return combine_keys(_exact_surname_keys(profile.surname), (*ALL_INITIAL_CLASSES, _ANY_NAME))
