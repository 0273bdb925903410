"""Spelling folds and the phonetic skeleton: examples, and properties on any Unicode text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.search import (
    Query,
    QueryScorer,
    Record,
    derive,
    fold,
    fold_variants,
    name_group,
    nominative_forms,
    patronymic_stem,
    place_profile,
    query_keys,
    query_profile,
    record_profile,
    skeleton,
)
from bot.search.spelling import wildcard_fits, wildcard_pattern


def test_transliteration_schemes_fold_together() -> None:
    assert fold("Legkodymov") == fold("Легкодымов")
    assert fold("Qusaiynov") == fold("Kussainov") == fold("Кусаинов") == fold("Құсайынов")
    assert fold("Zhumabayev") == fold("Жұмабаев") == fold("Джумабаев")
    assert fold("Šäripov") == fold("Шарипов")
    assert fold("Emelʹi͡an") in fold_variants("Yemelyan") or fold("Yemelyan") in fold_variants("Emelʹi͡an")


def test_spelling_by_ear_shares_the_skeleton() -> None:
    assert skeleton(fold("Лехкодымов")) == skeleton(fold("Легкодымов"))
    assert skeleton(fold("Нурмаганбетов")) == skeleton(fold("Нурмагамбетов"))
    assert skeleton(fold("Кусайнов")) == skeleton(fold("Кусаинов"))


def test_declined_forms_return_to_the_nominative() -> None:
    assert "легкодымов" in nominative_forms("легкодымова")
    assert "емельян" in nominative_forms("емельяна")
    assert nominative_forms("легкодымов") == ()


def test_name_table_and_patronymics() -> None:
    assert name_group(fold("Омельян")) == name_group(fold("Емельян"))
    assert name_group(fold("Иоанн")) == name_group(fold("Иван"))
    assert name_group(fold("Иаков")) == name_group(fold("Яков"))
    assert name_group(fold("Магомед")) == name_group(fold("Мухаммед")) == name_group(fold("Мухамед"))
    assert name_group(fold("Джумабай")) == name_group(fold("Жұмабай"))
    assert patronymic_stem(fold("Емельянович")) == name_group(fold("Емельян"))
    assert patronymic_stem(fold("Жумабай улы")) == name_group(fold("Жумабай"))


def test_gazetteer_joins_historical_and_todays_names() -> None:
    pairs = [
        ("Южно-Казахстанская обл.", "Туркестанская обл."),
        ("Чимкентская обл.", "Түркістан облысы"),
        ("Гурьевская обл.", "Атырау облысы"),
        ("Калининская обл.", "Тверская обл."),
        ("Алма-Атинская обл.", "Алматинская обл."),
        ("Акмолинская обл.", "Целиноградская обл."),
        ("Куйбышевская обл.", "Самарская обл."),
        ("Горьковская обл.", "Нижегородская обл."),
        ("Сталинградская обл.", "Волгоградская обл."),
    ]
    for old, new in pairs:
        old_regions = {r for r, _ in place_profile(old).regions}
        new_regions = {r for r, _ in place_profile(new).regions}
        assert old_regions and old_regions == new_regions, (old, new)
    assert (
        place_profile("Калининградская обл.").regions[0][0] != place_profile("Калининская обл.").regions[0][0]
    )


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_fold_never_crashes_and_is_idempotent(text: str) -> None:
    folded = fold(text)
    assert fold(folded) == folded
    assert skeleton(folded) == skeleton(fold(folded))
    place_profile(text)


@settings(max_examples=150, deadline=None)
@given(
    st.text(max_size=40),
    st.one_of(st.none(), st.text(max_size=20)),
    st.one_of(st.none(), st.text(max_size=8)),
)
def test_derive_and_query_keys_never_crash(surname: str, name: str | None, year: str | None) -> None:
    derived = derive(Record("x", surname, name, None, year, name, None, name, name))
    assert len(derived.keys) <= 60
    query_keys(Query(surname, name, birthplace=name))


def _surname_category(typed: str, written: str) -> str:
    """The agreement category of a surname a relative types against the one a reading has."""
    q = query_profile(Query(typed))
    r = record_profile(Record("r", written))
    assert q is not None and r is not None
    return QueryScorer(q).surname(r.surname).category


@pytest.mark.parametrize(
    ("typed", "written"),
    [
        ("Xoʻjayev", "Ходжаев"),  # Uzbek Latin: x = х, oʻ (any apostrophe)
        ("Yoʻlchiyev", "Юлчиев"),
        ("Roʻziyev", "Рузиев"),
        ("Gʻulomov", "Гуломов"),
    ],
)
def test_uzbek_latin_folds_to_the_russified_spelling(typed: str, written: str) -> None:
    assert _surname_category(typed, written) == "exact"


@pytest.mark.parametrize(
    ("typed", "written"),
    [
        ("Annaýew", "Аннаев"),
        ("Berdiýew", "Бердиев"),
        ("Nyýazow", "Ниязов"),
        ("Döwletňazarow", "Довлетназаров"),
    ],
)
def test_turkmen_latin_folds_to_the_russified_spelling(typed: str, written: str) -> None:
    assert _surname_category(typed, written) == "exact"


@pytest.mark.parametrize(
    ("typed", "written"),
    [
        ("Раҳимзода", "Рахимзаде"),  # -зода for the registry's -заде
        ("Раҳимзода", "Рахимов"),  # -зода for the -ов it replaced
        ("Rahimzoda", "Рахимов"),
        ("Раҳмон", "Рахмонов"),  # -ов dropped
        ("Нуралӣ", "Нуралиев"),
        ("Ҷӯраев", "Джураев"),
    ],
)
def test_tajik_surnames_of_today_meet_the_registrys(typed: str, written: str) -> None:
    assert _surname_category(typed, written) == "exact"


def test_kyrgyz_cyrillic_letters_fold() -> None:
    assert fold("Өмүров") == fold("Омуров") and fold("Меңдибаев") == fold("Мендибаев")
    assert _surname_category("Үсөнов", "Усенов") in {"exact", "phonetic"}


@settings(max_examples=500, deadline=None)
@given(
    reading=st.text(alphabet="абв?*", min_size=1, max_size=8),
    query=st.text(alphabet="абв", max_size=8),
)
def test_a_damaged_reading_fits_a_query_exactly_when_its_pattern_matches(reading: str, query: str) -> None:
    """The quick checks before the regular expression (the letters before the first and after the last
    wildcard, the length) never turn away a query that the pattern would match, nor let one through."""
    pattern = wildcard_pattern(reading)
    assert wildcard_fits(reading, query) == (pattern is not None and pattern.fullmatch(query) is not None)
