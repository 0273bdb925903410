"""Free-text requests and typed answers: parsing "ищу Легкодымова Емельяна 1904 г.р." and validation."""

from __future__ import annotations

import pytest

from bot.services.query_text import (
    InputError,
    YearError,
    YearRange,
    check_name,
    check_place,
    parse_birth_year,
    parse_query_text,
)


@pytest.mark.parametrize(
    "text,surname,name,patronymic,years",
    [
        ("Легкодымов Емельян 1904", "Легкодымов", "Емельян", None, (1904, 1904)),
        ("ищу Легкодымова Емельяна 1904 г.р.", "Легкодымов", "Емельян", None, (1904, 1904)),
        ("Емельян Легкодымов около 1904", "Легкодымов", "Емельян", None, (1902, 1906)),
        ("Легкодымова Емельяна Ивановича", "Легкодымов", "Емельян", "Иванович", None),
        ("Жумабаев Касым Ахметович 1915", "Жумабаев", "Касым", "Ахметович", (1915, 1915)),
        ("Lekhkodymov Emelyan 1904", "Lekhkodymov", "Emelyan", None, (1904, 1904)),
        ("Құсайынов Нұрлан 1903-1905", "Құсайынов", "Нұрлан", None, (1903, 1905)),
    ],
)
def test_free_text_is_split_into_fields_in_any_order_and_case(
    text: str, surname: str, name: str | None, patronymic: str | None, years: tuple[int, int] | None
) -> None:
    parsed = parse_query_text(text)
    assert (parsed.surname, parsed.name, parsed.patronymic) == (surname, name, patronymic)
    assert ((parsed.birth_year, parsed.birth_year_to) if years else (None, None)) == (years or (None, None))
    assert parsed.raw == text


def test_alternative_readings_and_birthplace_are_kept_as_typed() -> None:
    parsed = parse_query_text("Легкодымов (Лехкодымов) Емельян 1904 Южно-Казахстанская обл.")
    assert parsed.surname == "Легкодымов (Лехкодымов)"
    assert parsed.birthplace == "Южно-Казахстанская обл."


def test_an_impossible_year_is_reported_not_used() -> None:
    parsed = parse_query_text("Иванов Иван 1990")
    assert parsed.birth_year is None and parsed.year_error == "1990"


@pytest.mark.parametrize(
    "text,expected",
    [
        ("1904", YearRange(1904, 1904)),
        ("около 1904", YearRange(1902, 1906)),
        ("~1904", YearRange(1902, 1906)),
        ("шамамен 1904", YearRange(1902, 1906)),
        ("about 1904", YearRange(1902, 1906)),
        ("1903-1905", YearRange(1903, 1905)),
        ("1903–05", YearRange(1903, 1905)),
        ("1904 г.р.", YearRange(1904, 1904)),
        ("1860", YearRange(1860, 1860)),
        ("1930", YearRange(1930, 1930)),
    ],
)
def test_birth_years(text: str, expected: YearRange) -> None:
    assert parse_birth_year(text) == expected


@pytest.mark.parametrize(
    "text,code",
    [("1950", "range"), ("1859", "range"), ("около 1935", "range"), ("1905-1903", "order"),
     ("1880-1930", "order"), ("девятьсот четвёртый", "format"), ("19?4", "format"), ("", "format")],
)  # fmt: skip
def test_impossible_birth_years_say_why(text: str, code: str) -> None:
    with pytest.raises(YearError) as error:
        parse_birth_year(text)
    assert error.value.code == code


@pytest.mark.parametrize(
    "text",
    ["Легкодымов", "Легкод?мов", "Ем...", "Е.", "Кусаинов / Кусайнов", "Д'Артаньян", "Құсайынов", "O'Neil"],
)
def test_names_in_any_alphabet_and_reading_notation_are_accepted(text: str) -> None:
    assert check_name(f"  {text}  ") == text


@pytest.mark.parametrize(
    "text,code",
    [("", "empty"), ("   ", "empty"), ("Ж" * 81, "too_long"), ("<b>Иван</b>", "markup"), ("*Иван*", "markup"),
     ("Иван_", "markup"), ("[Иван](http://x)", "markup"), ("Иван2", "digits"), ("🙏🙏", "no_letters"),
     ("...", "no_letters"), ("Иван 🙏", "symbols")],
)  # fmt: skip
def test_bad_names_say_why(text: str, code: str) -> None:
    with pytest.raises(InputError) as error:
        check_name(text)
    assert error.value.code == code


def test_places_allow_digits_and_punctuation_but_not_markup() -> None:
    assert check_place("Алма-Атинская обл., 2-й аул «Карабулак»") == "Алма-Атинская обл., 2-й аул «Карабулак»"
    with pytest.raises(InputError):
        check_place("<script>")
    with pytest.raises(InputError):
        check_place("12345")
