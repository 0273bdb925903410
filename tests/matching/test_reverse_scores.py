"""Reverse scores equal forward scores: a new reading scores against a saved search as the relative's own
search of the whole registry would score it (the registry's counts and competition, not the pass's)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.search import (
    Query,
    Record,
    Registry,
    RegistrySums,
    derive,
    query_keys,
    query_profile,
    rank_profiles,
    sums_are_fresh,
)
from bot.services.matching import ActiveSearch, NewReading, SavedSearchIndex, choose_notifications
from models import Reading

REGISTRY = [
    Record("a", "Легкодымов (Лехкодымов)", "Емельян", "Тимофеевич", "1904", "Южно-Казахстанская обл."),
    Record("b", "Лехкодымов", "Емельян", None, "1905"),
    Record("c", "Легкодумов", "Егор", None, "1911"),
    Record("d", "Кусаинов / Кусайнов", "Жумабай", None, "1914"),
    Record("e", "Кусаинов", "Жумабек", None, "1916"),
    Record("f", "Кусайынов", "Жумабай", None, "19?4"),
    *(Record(f"i{n}", "Иванов", "Иван", None, str(1900 + n)) for n in range(12)),
    Record("p", "Петренко", "Иван", None, "1911"),
]
SEARCHES = [
    Query("Лехкодымов", "Емельян", birth_year=1904),
    Query("Кусаинов", "Жумабай"),
    Query("Иванов", "Иван", birth_year=1905),
    Query("Lekhkodymov", "Emelyan", birth_year=1903, birth_year_to=1905),
]


def active(number: int, q: Query) -> ActiveSearch:
    return ActiveSearch(
        id=number,
        person_id=100 + number,
        surname=q.surname,
        name=q.name,
        patronymic=q.patronymic,
        birth_year=q.birth_year,
        birth_year_to=q.birth_year_to,
        birthplace=q.birthplace,
        draft_office=q.draft_office,
        relative=q.relative,
        family_place=q.family_place,
        created_at=datetime.now(UTC),
        derived={},
    )


def new_readings(records: list[Record]) -> list[NewReading]:
    readings = []
    for pk, record in enumerate(records, start=1):
        derived = derive(record)
        readings.append(NewReading(pk, record.reading_id, Reading(derived=derived.data), derived.keys))
    return readings


def forward(q: Query, registry: Registry) -> dict[str, float]:
    """The forward search as the bot runs it: every reading sharing a key, scored together."""
    keys = query_keys(q)
    candidates = [(r.reading_id, derive(r).profile) for r in REGISTRY if derive(r).keys & keys]
    profile = query_profile(q)
    assert profile is not None
    matches = rank_profiles(
        profile,
        [(rid, p) for rid, p in candidates if p is not None],
        registry.surname_freq,
        len(registry),
        len(candidates),
    )
    return {m.reading_id: m.score for m in matches}


def test_a_new_reading_scores_as_in_a_forward_search_of_the_whole_registry() -> None:
    registry = Registry()
    registry.add(REGISTRY)
    searches = [active(n, q) for n, q in enumerate(SEARCHES, start=1)]
    index = SavedSearchIndex(searches, total=len(registry), registry=registry, upto=len(REGISTRY))
    readings = new_readings(REGISTRY)
    candidates, _ = index.match(readings, total=len(registry))
    assert candidates
    ids = {reading.pk: reading.reading_id for reading in readings}
    expected = {n: forward(q, registry) for n, q in enumerate(SEARCHES)}
    for candidate in candidates:
        want = expected[candidate.search_index][ids[candidate.reading_pk]]
        assert candidate.score == pytest.approx(want, abs=0.15), (candidate, want)
        assert candidate.alone >= candidate.score / 100 - 1e-9
    # every pair the forward search scores at 20 or more is found in reverse
    found = {(c.search_index, ids[c.reading_pk]) for c in candidates}
    for n, scores in expected.items():
        assert {(n, rid) for rid, score in scores.items() if score >= 20} <= found
    # the counts are stored for the next pass and read back unchanged
    stored = index.stale[1]["t"]
    assert RegistrySums.from_json(stored).to_json() == stored


def test_a_near_miss_surname_weighs_by_the_registry_not_by_the_pass() -> None:
    """The old fault: with only the pass's readings as candidates, a one-letter typo weighed like a unique
    surname. Against a registry full of near misses, a lone near miss is not a confident match."""
    registry = Registry()
    near = [Record(f"n{n}", f"Кусаинов{'аеиоу'[n % 5]}", "Жумабай", None, "1914") for n in range(30)]
    registry.add(near)
    search = active(1, Query("Кусаинова", "Жумабай", birth_year=1914))
    index = SavedSearchIndex([search], total=len(registry), registry=registry, upto=len(near))
    candidates, _ = index.match(new_readings(near[:1]), total=len(registry))
    assert all(c.score < 20 for c in candidates)
    # recorded at most for the volunteers' review queue, never announced to the relative
    assert choose_notifications(candidates, lambda i: i) == set()


def test_stored_sums_are_counted_again_when_the_registry_has_grown_by_a_tenth() -> None:
    from bot.search import ENGINE_VERSION, QUERY_VERSION

    stored = {"v": QUERY_VERSION, "k": [], "p": None, "t": [1000, 5, 0, [0] * 6, [0.0] * 6]}
    assert sums_are_fresh(stored, 1000) and sums_are_fresh(stored, 1100)
    assert not sums_are_fresh(stored, 1101)
    assert not sums_are_fresh({**stored, "v": "0.9"}, 1000)
    assert not sums_are_fresh({**stored, "v": ENGINE_VERSION}, 1000)  # stored before the query side changed
    assert not sums_are_fresh({**stored, "t": None}, 1000)
