"""The engine's vocabulary: a relative's query, a registry reading, a ranked match and its reasons.

Also the engine's versions: readings' stored data carries ``ENGINE_VERSION``, saved searches' stored keys
and sums carry ``QUERY_VERSION``.
"""

from __future__ import annotations

from dataclasses import dataclass

# What an import stores of a reading (tests/search/test_engine_version.py holds its digest). 1.1: the
# gazetteer's stems are names as written (Баянаул), so such a district is stored as its region, not as a
# place word. 1.2: a surname with two or more unreadable letters (Бо?о?ин) is keyed by its shape too (its
# first and last letters and length), and the gazetteer knows the Kazakh SSR's districts (a district is
# stored as its region). 1.3: a district, town or village the gazetteer knows is stored as a place too,
# so two districts of one oblast agree only partly; a district named like another oblast (Свердловский
# р-н of Джамбулская обл.) no longer names that oblast; the Central Asian republics' oblasts are known.
# 1.4: ĭ (й in ALA-LC) is folded, not dropped; a reading is filed under its name's own initial too, and
# one with a lost start under its last two consonants too; names, patronymics and surnames count a swap of
# two letters as one slip, names an unread letter as none (saved searches' registry sums change); Ош, a
# name too short for a stem, names its oblast. 1.5: a first name the table does not know is filed under the
# initials of the table's names one slip from it too (Еергей under Сергей's), and four letters left of a
# lost start count one slip off (the saved searches' registry sums change).
# Readings of another version are derived again (`amanat db upgrade`, or as the index loads).
ENGINE_VERSION = "1.5"
# A saved search's stored keys, profile and registry sums come from the query side, which can change while
# the readings' stored data stays the same: a change of this version derives saved searches again (the
# matching job does it on its next pass) and leaves the readings alone. It includes ENGINE_VERSION.
# q5: shape keys looked up; no surname variant weighs more than the exact surname, and a shared skeleton
# is "phonetic" only for similar letters (the registry sums change). q4: Central Asian spellings of today
# folded (q3: damaged surnames).
QUERY_VERSION = f"{ENGINE_VERSION}/q5"


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
