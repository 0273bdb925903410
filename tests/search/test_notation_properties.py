"""Property-based tests of the reading notation (bot.search.notation), as volunteers write it.

Fields and years are built from the notation's own pieces (lost characters, unreadable runs, alternatives
in parentheses or after a slash, initials, approximate years, ranges, digit patterns) mixed with any text.
No exception escapes; a field with a readable letter is never lost; what comes out is well formed.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.search.notation import FieldReading, parse_field, parse_year

LETTERS = "абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЭЮЯәғқңөұүһіӘҒҚҢӨҰҮҺІabcxyzABCXYZ"
WORD = st.text(alphabet=LETTERS, min_size=1, max_size=12)
DAMAGE = st.sampled_from(["?", "??", "...", "..", "…", "-", "'", ".", ""])
DAMAGED_WORD = st.tuples(DAMAGE, WORD, DAMAGE, st.one_of(WORD, st.just("")), DAMAGE).map("".join)
JOINERS = st.sampled_from([" / ", "/", " (", ") ", " или ", " or ", ", ", "; ", " | ", " ", "[", "]"])
FIELD = st.lists(st.tuples(DAMAGED_WORD, JOINERS), min_size=1, max_size=4).map(
    lambda parts: "".join(word + joiner for word, joiner in parts)
)
ANY_FIELD = FIELD | st.text(max_size=60) | st.tuples(FIELD, st.text(max_size=8)).map("".join)

DIGIT = st.sampled_from("0123456789?")
YEAR_CORE = st.one_of(
    st.integers(1800, 1999).map(str),
    st.tuples(st.just("1"), DIGIT, DIGIT, DIGIT).map("".join),
    st.tuples(
        st.integers(1850, 1950), st.sampled_from(["-", "–", "..", "/", " или ", " or "]), st.integers(0, 1999)
    ).map(lambda t: f"{t[0]}{t[1]}{t[2]}"),
    st.integers(0, 99).map(lambda n: f"{n:02d}"),
    st.tuples(st.integers(1, 31), st.integers(1, 12), st.integers(1850, 1950)).map(
        lambda t: f"{t[0]}.{t[1]}.{t[2]}"
    ),
    st.sampled_from(["19..", "19…", "190*", "19_4", "1904 (1903)", "1903/1904"]),
)
YEAR_TEXT = st.tuples(
    st.sampled_from(["", "около ", "ок. ", "~", "≈", "circa ", "шамамен "]),
    YEAR_CORE,
    st.sampled_from(["", " г.р.", " г.", " года", " жылы", "?", " year"]),
).map("".join)
ANY_YEAR = YEAR_TEXT | st.text(max_size=20) | st.integers() | st.none()
RELAXED = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@RELAXED
@given(ANY_FIELD)
def test_a_field_reading_is_well_formed_and_never_lost(text: str) -> None:
    reading = parse_field(text)
    if reading is None:
        assert not any(char in LETTERS for char in text)  # a readable letter is never dropped
        return
    assert reading.raw == text
    assert reading.alternatives and len(set(reading.alternatives)) == len(reading.alternatives)
    for alternative in reading.alternatives:
        assert alternative == alternative.strip() and alternative
        # An unreadable run is "*" ("... ..." may give "**", which means the same to the matcher).
        assert ".." not in alternative and "…" not in alternative
    if reading.initial:
        assert len(reading.alternatives) == 1 and len(reading.alternatives[0]) == 1
    assert FieldReading.from_json(reading.to_json()) == reading


@RELAXED
@given(WORD)
def test_a_plain_word_is_read_as_itself(word: str) -> None:
    reading = parse_field(word)
    assert reading is not None and reading.alternatives == (word,) and not reading.has_wildcard


@RELAXED
@given(WORD, WORD)
def test_both_readings_of_an_alternative_are_kept(first: str, second: str) -> None:
    for text in (f"{first} ({second})", f"{first} / {second}"):
        reading = parse_field(text)
        assert reading is not None and first in reading.alternatives and second in reading.alternatives


@RELAXED
@given(ANY_YEAR)
def test_a_year_reading_is_consistent(value: str | int | None) -> None:
    reading = parse_year(value)
    if reading is None:
        assert value is None or not str(value).strip()
        return
    assert reading.raw == str(value)
    if not reading.known:
        assert reading.low is None and reading.high is None
        return
    assert reading.low is not None and reading.high is not None
    assert reading.low <= reading.high
    if reading.pattern is None:
        # Four-digit years are kept to 1850-1950 (± the approximate spread); a two-digit "61" is read as 1961.
        assert reading.low >= 1848 and reading.high <= 1981
    else:  # a digit pattern ("19??") spans what its digits allow, overlapping the plausible years
        assert len(reading.pattern) == 4 and set(reading.pattern) <= set("0123456789?")
        assert reading.low <= 1950 and reading.high >= 1850
    allowed = [year for year in range(reading.low, reading.high + 1) if reading.allows(year)]
    assert allowed, "a reading that allows no year at all"
    assert all(reading.distance(year, year) == 0 for year in allowed)
    outside = reading.high + 3
    assert (reading.distance(outside, outside) or 0) > 0
