"""The stored codec: what an import writes of a reading (folded surname, keys, scorer data as JSON).

Built from JSON pieces cached per field text, the same as :func:`bot.search.keys.derive` gives; the
in-memory registry reads it back without deriving again (:meth:`bot.search.registry.Registry.add_derived`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import orjson

from bot.search.keys import combine_keys, reading_initial_classes, surname_block_keys
from bot.search.profiles import join_places, name_forms, place_of, relative_words, year_of
from bot.search.types import ENGINE_VERSION, Record


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
    year = year_of(raw.strip()) if raw else None
    return orjson.dumps([year.raw, year.low, year.high, year.pattern]).decode() if year else "null"


@lru_cache(maxsize=200_000)
def _place_json(raw: str) -> str:
    place = place_of(raw)
    return orjson.dumps([raw, place.to_json()]).decode() if place else "null"


@lru_cache(maxsize=200_000)
def _relative_json(raw: str) -> str:
    words = relative_words(raw)
    return orjson.dumps([raw, list(words)]).decode() if words else "null"


_VERSION_JSON = orjson.dumps(ENGINE_VERSION).decode()


@lru_cache(maxsize=200_000)
def _surname_part(surname: str) -> tuple[str, frozenset[str]] | None:
    """A surname's folded form and blocking keys (without the name's classes), by its text."""
    forms = name_forms(surname)
    return (forms.forms[0], surname_block_keys(forms, False)) if forms is not None else None


@lru_cache(maxsize=50_000)
def _name_part(name: str | None) -> frozenset[str]:
    return reading_initial_classes(name_forms(name) if name is not None else None)


@lru_cache(maxsize=200_000)
def _reading_keys(surname_keys: frozenset[str], name_classes: frozenset[str]) -> frozenset[str]:
    return combine_keys(surname_keys, name_classes)


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
        _place_json(join_places(birthplace, draft_office)),
        ',"fa":',
        _place_json(family_address.strip() if family_address else ""),
        ',"r":',
        _relative_json(relative.strip() if relative else ""),
        "}",
    )
    return StoredDerived(folded, _reading_keys(surname_keys, _name_part(name)), "".join(parts))
