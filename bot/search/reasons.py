"""Reason codes: the machine form of "why this reading was found", rendered by the translation catalogs.

Every :class:`bot.search.types.Reason` carries one of these codes and the arguments named in its
template. Arguments hold text as the relative or the reading wrote it, never internal keys. The English
templates here are the reference wording for the ru/kk/en catalogs; keep the set small and stable.
"""

from __future__ import annotations

__all__ = ["NEGATIVE_CODES", "REASON_CODES"]

REASON_CODES: dict[str, str] = {
    # surname
    "surname_exact": "surname as given: {found}",
    "surname_spelling": "the same surname in another spelling: {query} = {found}",
    "surname_translit": "{query} is {found} written in Latin letters",
    "surname_kazakh": "{query} is today's Kazakh spelling of {found}",
    "surname_declined": "{query} is a declined form of {found}",
    "surname_phonetic": "surname sounds the same: {query} ≈ {found}",
    "surname_typo": "surname differs by a letter or two: {query} / {found}",
    "surname_wildcard": "the damaged reading {found} fits {query}",
    # first name
    "name_exact": "name as given: {found}",
    "name_variant": "{query} and {found} are forms of the same name",
    "name_initial": "the initial {found} fits {query}",
    "name_similar": "the name is close: {query} / {found}",
    "name_differs": "the name differs: {query} / {found}",
    # patronymic
    "patronymic_match": "patronymic fits: {found}",
    "patronymic_differs": "the patronymic differs: {query} / {found}",
    # birth year
    "year_exact": "born {year}, as given",
    "year_near": "born {found}, close to the given {query}",
    "year_pattern": "the damaged year {found} fits {query}",
    "year_differs": "born {found}, not {query}",
    # places and family
    "place_same": "the same place: {place}",
    "place_historical": "{old} is today's {new}",
    "place_within": "{place} is in {found}",
    "place_region": "in the same region: {place} and {found}",
    "place_differs": "another place: {found}",
    "relative_same": "the same relative: {found}",
    "family_place_same": "the family lived in the same place: {place}",
}

# Codes that speak against the match (the app may show them in another colour, or not at all).
NEGATIVE_CODES: frozenset[str] = frozenset(
    {"name_differs", "patronymic_differs", "year_differs", "place_differs"}
)
