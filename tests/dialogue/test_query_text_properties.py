"""Property-based tests of the free-text query parser and the answer checks (bot.services.query_text).

Whatever a person types — any alphabet, emoji, control characters, markup, numbers in any script, the
reading notation — no exception escapes `parse_query_text`, and every answer the checks turn down is
turned down with a reason code that has a message in every language.
"""

from __future__ import annotations

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.i18n import translator
from bot.services.query_text import (
    MAX_NAME_LENGTH,
    MAX_PLACE_LENGTH,
    YEAR_MAX,
    YEAR_MIN,
    InputError,
    YearError,
    check_name,
    check_place,
    parse_birth_year,
    parse_query_text,
)

LANGUAGES = ("ru", "kk", "en")
WORDS = [
    "ищу",
    "Легкодымова",
    "Емельяна",
    "Тимофеевича",
    "Лехкодымов",
    "(Лехкодымов)",
    "Кусаинов",
    "/",
    "Кусайнов",
    "Құсайынов",
    "Lekhkodymov",
    "Emelyan",
    "Жумабай",
    "ұлы",
    "Легкод?мов",
    "Ем...",
    "...енко",
    "Е.",
    "около",
    "~",
    "1904",
    "19?4",
    "1903-1905",
    "1903–05",
    "г.р.",
    "из",
    "Туркестанская",
    "обл.",
    "<b>",
    "*bold*",
    "0",
    "99999999999999999999",
    "١٩٠٤",
    "１９０４",
    "Ⅻ",
    "²",
    "\u0301",
    "\u200b",
    "\x00",
    "🙂",
    "-",
    "(",
    ")",
    "—",
]
SEPARATORS = st.sampled_from([" ", "  ", ", ", ";", "\n", "\t", "", "/", " / "])
PHRASES = st.lists(st.tuples(st.sampled_from(WORDS) | st.text(max_size=12), SEPARATORS), max_size=14).map(
    lambda parts: "".join(word + sep for word, sep in parts)
)
ANY_TEXT = st.text(max_size=400) | PHRASES
RELAXED = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@RELAXED
@given(ANY_TEXT)
@example("𗀀А")  # pymorphy3 raised ValueError on a character Python's Unicode database has no name for
def test_no_message_breaks_the_free_text_parser(text: str) -> None:
    parsed = parse_query_text(text)
    assert parsed.raw == text.strip()
    for value in (parsed.surname, parsed.name, parsed.patronymic, parsed.birthplace):
        assert value is None or value.strip()
    if parsed.birth_year is not None:
        assert parsed.birth_year_to is not None and parsed.birth_year <= parsed.birth_year_to
        assert parsed.birth_year >= YEAR_MIN - 2 and parsed.birth_year_to <= YEAR_MAX + 2
        assert parsed.year_error is None
    else:
        assert parsed.birth_year_to is None


@RELAXED
@given(ANY_TEXT)
def test_a_year_is_accepted_in_range_or_turned_down_with_a_reason(text: str) -> None:
    try:
        years = parse_birth_year(text)
    except YearError as error:
        assert error.code in {"format", "order", "range"}
        for language in LANGUAGES:
            assert translator(language).has(f"error.year_{error.code}")
    else:
        assert years.start <= years.end
        assert years.start >= YEAR_MIN - 2 and years.end <= YEAR_MAX + 2


def _turned_down(error: InputError) -> None:
    assert error.code in {"empty", "too_long", "markup", "digits", "no_letters", "symbols"}
    for language in LANGUAGES:
        assert translator(language).has(f"error.{error.code}")


@RELAXED
@given(ANY_TEXT)
def test_a_name_is_accepted_clean_or_turned_down_with_a_reason(text: str) -> None:
    try:
        value = check_name(text)
    except InputError as error:
        _turned_down(error)
    else:
        assert value and len(value) <= MAX_NAME_LENGTH and value == value.strip()
        assert not any(char in value for char in "<>&*_`[]{}|~#\\=+@$^")


@RELAXED
@given(ANY_TEXT)
def test_a_place_is_accepted_clean_or_turned_down_with_a_reason(text: str) -> None:
    try:
        value = check_place(text)
    except InputError as error:
        _turned_down(error)
    else:
        assert value and len(value) <= MAX_PLACE_LENGTH
        assert not any(char in value for char in "<>&")
