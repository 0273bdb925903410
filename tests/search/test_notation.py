"""The reading notation: every form volunteers write, and the parser never raising."""

from hypothesis import given
from hypothesis import strategies as st

from bot.search import FieldReading, parse_field, parse_year


def test_lost_letter_is_kept_as_question_mark() -> None:
    reading = parse_field("Легкод?мов")
    assert reading is not None
    assert reading.alternatives == ("Легкод?мов",)
    assert reading.has_wildcard
    assert not reading.initial


def test_unreadable_run_becomes_star() -> None:
    assert parse_field("Ем...").alternatives == ("Ем*",)  # type: ignore[union-attr]
    assert parse_field("...енко").alternatives == ("*енко",)  # type: ignore[union-attr]
    assert parse_field("Легко…мов").alternatives == ("Легко*мов",)  # type: ignore[union-attr]


def test_alternatives_in_parentheses_and_after_slash() -> None:
    paren = parse_field("Легкодымов (Лехкодымов)")
    slash = parse_field("Кусаинов / Кусайнов")
    assert paren is not None and paren.alternatives == ("Легкодымов", "Лехкодымов")
    assert slash is not None and slash.alternatives == ("Кусаинов", "Кусайнов")
    assert paren.raw == "Легкодымов (Лехкодымов)"


def test_initial_with_and_without_dot() -> None:
    for raw in ("Е.", "Е", "E."):
        reading = parse_field(raw)
        assert reading is not None and reading.initial, raw
        assert len(reading.alternatives[0]) == 1


def test_abbreviation_means_the_rest_was_not_written() -> None:
    reading = parse_field("Ив.")
    assert reading is not None and reading.alternatives == ("Ив*",) and not reading.initial


def test_blank_and_punctuation_only_are_none() -> None:
    for raw in (None, "", "   ", "...", "…", "-", "?", "()", " / "):
        assert parse_field(raw) is None, raw


def test_field_reading_round_trips_through_json() -> None:
    reading = parse_field("Легкодымов (Лехкод?мов)")
    assert reading is not None
    assert FieldReading.from_json(reading.to_json()) == reading


@given(st.text())
def test_parse_field_never_raises(text: str) -> None:
    reading = parse_field(text)
    if reading is not None:
        assert reading.alternatives
        assert all(a == a.strip() and a for a in reading.alternatives)


def test_year_exact_pattern_range_and_approximate() -> None:
    exact = parse_year("1904")
    assert exact is not None and (exact.low, exact.high, exact.pattern) == (1904, 1904, None)
    lost = parse_year("19?4")
    assert lost is not None and (lost.low, lost.high, lost.pattern) == (1904, 1994, "19?4")
    assert lost.allows(1914) and not lost.allows(1905)
    ranged = parse_year("1903-1905")
    assert ranged is not None and (ranged.low, ranged.high) == (1903, 1905)
    for raw in ("около 1904", "ок. 1904", "~1904", "about 1904"):
        approx = parse_year(raw)
        assert approx is not None and (approx.low, approx.high) == (1902, 1906), raw


def test_year_integer_suffixes_and_dates() -> None:
    assert parse_year(1904).low == 1904  # type: ignore[union-attr]
    assert parse_year("1904 г.р.").low == 1904  # type: ignore[union-attr]
    assert parse_year("12.03.1904").high == 1904  # type: ignore[union-attr]
    decade = parse_year("190?")
    assert decade is not None and (decade.low, decade.high) == (1900, 1909)


def test_year_garbage_has_no_bounds() -> None:
    assert parse_year(None) is None
    assert parse_year("  ") is None
    for raw in ("garbage", "3000", 3000, "абв?"):
        reading = parse_year(raw)
        assert reading is not None and reading.low is None and reading.high is None, raw


def test_year_distance_honours_the_pattern() -> None:
    lost = parse_year("19?4")
    assert lost is not None
    assert lost.distance(1914, 1914) == 0
    assert lost.distance(1905, 1905) == 1


@given(st.one_of(st.text(), st.integers(), st.none()))
def test_parse_year_never_raises(value: str | int | None) -> None:
    reading = parse_year(value)
    if reading is not None and reading.low is not None:
        assert reading.high is not None and reading.low <= reading.high
