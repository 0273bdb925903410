"""Free-text search requests: "/search Легкодымов Емельян 1904", "ищу Легкодымова Емельяна 1904 г.р.".

:func:`parse_query_text` splits one message into surname, first name, patronymic, birth year (or range)
and birthplace, in any field order and any grammatical case, and keeps the raw text. pymorphy3 tags
Russian names (Surn / Name / Patr) and brings declined forms back to the nominative; suffix rules cover
what it does not know (Kazakh and Latin-script names). Unclear words fill the slots in the order a form
uses: surname, name, patronymic. The search engine itself also tolerates declined forms and spellings,
so a guess here that is slightly off still finds the man.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any, Final

YEAR_MIN: Final = 1860
YEAR_MAX: Final = 1930
APPROXIMATE_SPAN: Final = 2  # "около 1904" means 1902–1906
MAX_RANGE: Final = 30

_APPROX_WORDS: Final = frozenset(
    {
        "около",
        "примерно",
        "приблизительно",
        "ок",
        "ок.",
        "~",
        "about",
        "around",
        "circa",
        "ca",
        "ca.",
        "c.",
        "approx",
        "approx.",
        "approximately",
        "шамамен",
        "шамасы",
        "шамалап",
    }
)
_FILLER_WORDS: Final = frozenset(
    {
        "ищу",
        "ищем",
        "разыскиваю",
        "разыскиваем",
        "найти",
        "найдите",
        "поиск",
        "искать",
        "помогите",
        "пожалуйста",
        "деда",
        "дедушку",
        "прадеда",
        "прадедушку",
        "дед",
        "дедушка",
        "прадед",
        "прадедушка",
        "солдата",
        "солдат",
        "бойца",
        "боец",
        "г.р.",
        "г.р",
        "гр",
        "гр.",
        "г.",
        "г",
        "год",
        "года",
        "году",
        "рождения",
        "рожд.",
        "р.",
        "родился",
        "search",
        "for",
        "find",
        "looking",
        "i",
        "am",
        "my",
        "grandfather",
        "great-grandfather",
        "soldier",
        "born",
        "b.",
        "year",
        "in",
        "іздеймін",
        "іздеп",
        "жүрмін",
        "атам",
        "атамды",
        "үлкен",
        "жылы",
        "туған",
        "ж.",
        "ж.т.",
        "жыл",
        "и",
        "and",
        "мен",
        "және",
    }
)
_PLACE_WORDS: Final = frozenset(
    {
        "обл",
        "обл.",
        "область",
        "области",
        "р-н",
        "р-н.",
        "район",
        "района",
        "край",
        "края",
        "губ",
        "губ.",
        "губерния",
        "губернии",
        "уезд",
        "уезда",
        "у.",
        "аул",
        "аула",
        "село",
        "села",
        "с.",
        "город",
        "города",
        "гор.",
        "пос.",
        "поселок",
        "посёлок",
        "облысы",
        "ауданы",
        "ауылы",
        "ауыл",
        "қаласы",
        "region",
        "oblast",
        "district",
        "village",
        "town",
        "ssr",
        "сср",
        "асср",
        "кассср",
        "казахстан",
        "kazakhstan",
        "қазақстан",
    }
)
_PLACE_LEADS: Final = frozenset({"из", "родом", "уроженец", "from", "native", "of", "в", "во"})
_SEARCH_VERBS: Final = frozenset({"ищу", "ищем", "разыскиваю", "разыскиваем", "найти", "найдите", "искать"})

_PATRONYMIC_END: Final = re.compile(
    r"(ович|евич|ьич|ич|овна|евна|ична|инична|ұлы|улы|қызы|кызы|ovich|evich|ovna|evna|ichna|uly|ulu|kyzy|qyzy)$"
)
_SURNAME_END: Final = re.compile(
    r"(ов|ев|ёв|ин|ын|ский|цкий|ской|енко|ук|юк|чук|ко|швили|дзе|ян|ова|ева|ёва|ина|ына|ская|цкая|"
    r"ov|ev|yov|in|yn|sky|skiy|skii|enko|uk|yuk|chuk|ova|eva|ina|skaya)$"
)
_YEAR_RANGE: Final = re.compile(r"^(1[89]\d\d)\s*[-–—/]\s*(1[89]\d\d|\d\d)$")
_YEAR: Final = re.compile(r"^(\d{4})$")
_ANY_NUMBER: Final = re.compile(r"\d")
_TOKEN: Final = re.compile(r"\d{4}\s*[-–—]\s*\d{2,4}|[^\s,;]+")
_WORD_STRIP: Final = "\"'«»“”„()[]{}.:!?"


@dataclass(frozen=True)
class ParsedQuery:
    """What one free-text message says about the soldier; ``raw`` is the message as typed."""

    raw: str
    surname: str | None = None
    name: str | None = None
    patronymic: str | None = None
    birth_year: int | None = None
    birth_year_to: int | None = None
    birthplace: str | None = None
    year_error: str | None = None  # the year text that was not a birth year of the war's soldiers


@dataclass(frozen=True)
class YearRange:
    """A birth year or range, both ends inclusive."""

    start: int
    end: int

    @property
    def exact(self) -> bool:
        return self.start == self.end


class YearError(ValueError):
    """The text is not a usable birth year; ``code`` says why (``format``, ``range``, ``order``)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def parse_birth_year(text: str) -> YearRange:
    """Parse "1904", "около 1904", "~1904", "1903-1905", "1903–05", "1904 г.р." into a checked range."""
    cleaned = text.strip().lower()
    cleaned = re.sub(
        r"\s*(г\.?\s*р\.?|года рождения|год рождения|г\.|года|год|жылы|ж\.|born)\s*$", "", cleaned
    )
    approximate = False
    words = cleaned.split()
    while words and words[0] in _APPROX_WORDS:
        approximate = True
        words = words[1:]
    cleaned = " ".join(words)
    if cleaned.startswith("~"):
        approximate = True
        cleaned = cleaned[1:].strip()
    match = _YEAR_RANGE.match(cleaned)
    if match:
        start = int(match.group(1))
        end_text = match.group(2)
        end = int(end_text) if len(end_text) == 4 else start // 100 * 100 + int(end_text)
        result = YearRange(start, end)
    else:
        match = _YEAR.match(cleaned)
        if not match:
            raise YearError("format")
        year = int(match.group(1))
        result = (
            YearRange(year - APPROXIMATE_SPAN, year + APPROXIMATE_SPAN)
            if approximate
            else YearRange(year, year)
        )
    if result.start > result.end or result.end - result.start > MAX_RANGE:
        raise YearError("order")
    low, high = result.start, result.end
    if approximate:
        low, high = low + APPROXIMATE_SPAN, high - APPROXIMATE_SPAN
    if low < YEAR_MIN or high > YEAR_MAX:
        raise YearError("range")
    return result


@cache
def _morph() -> Any:
    import pymorphy3

    return pymorphy3.MorphAnalyzer()


_NAME_TAGS: Final = ("Surn", "Name", "Patr")


def _parses(word: str) -> list[Any]:
    """pymorphy3's parses of ``word``; none when it cannot analyse the word.

    pymorphy3 raises on characters Python's Unicode database has no name for (e.g. "𗀀", a Tangut
    ideograph); such a word is simply not a known name or place word.
    """
    try:
        return list(_morph().parse(word))
    except (ValueError, KeyError):
        return []


def _name_parses(word: str) -> list[Any]:
    """pymorphy3 parses of ``word`` as a man's surname, first name or patronymic (singular)."""
    if not re.search(r"[а-яё]", word.lower()):
        return []
    return [
        p
        for p in _parses(word)
        if any(tag in p.tag for tag in _NAME_TAGS) and "sing" in p.tag and "femn" not in p.tag
    ]


def _is_oblique(word: str) -> bool:
    """True when ``word`` is a man's first name or patronymic that cannot be in the nominative."""
    parses = [p for p in _name_parses(word) if "Name" in p.tag or "Patr" in p.tag]
    return bool(parses) and all("nomn" not in p.tag for p in parses)


def _nominative(word: str) -> str:
    """The nominative of a declined man's name ("Легкодымова" → "Легкодымов"), keeping the capital."""
    for parse in _name_parses(word):
        if parse.tag.case in ("gent", "accs"):
            lemma = str(parse.normal_form)
            return _like(word, lemma)
    lowered = word.lower()
    for ending in ("ова", "ева", "ёва", "ина", "ына"):
        if lowered.endswith(ending):
            return word[:-1]
    return word


def _like(original: str, lemma: str) -> str:
    """``lemma`` with the capitalisation of ``original`` (parts of a hyphenated name each capitalised)."""
    if original.isupper() and len(original) > 1:
        return lemma.upper()
    return "-".join(part[:1].upper() + part[1:] for part in lemma.split("-"))


def _role(word: str) -> str | None:
    """ "patronymic", "surname", "name", or None when the word could be anything."""
    lowered = word.lower()
    parses = _name_parses(word)
    if _PATRONYMIC_END.search(lowered) or any("Patr" in p.tag for p in parses[:1]):
        return "patronymic"
    if any("Surn" in p.tag for p in parses[:1]):
        return "surname"
    if parses and "Name" in parses[0].tag:
        return "name"
    if _SURNAME_END.search(lowered) and len(lowered) > 4:
        return "surname"
    if any("Name" in p.tag for p in parses):
        return "name"
    return None


def _is_place_word(word: str) -> bool:
    lowered = word.lower()
    if lowered in _PLACE_WORDS:
        return True
    if not re.search(r"[а-яё]", lowered):
        return False
    parses = _parses(word)
    return bool(parses) and ("ADJF" in parses[0].tag or "Geox" in parses[0].tag)


def _join_alternatives(tokens: list[str]) -> list[str]:
    """Keep "Легкодымов (Лехкодымов)" and "Кусаинов / Кусайнов" together as one word."""
    joined: list[str] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if joined and token.startswith("(") and not _ANY_NUMBER.search(token):
            joined[-1] += " " + token
        elif joined and token == "/" and index + 1 < len(tokens):
            joined[-1] += " / " + tokens[index + 1]
            index += 1
        else:
            joined.append(token)
        index += 1
    return joined


def parse_query_text(text: str) -> ParsedQuery:
    """Split a free-text request into fields; see the module docstring."""
    raw = text.strip()
    tokens = _join_alternatives([match.group(0) for match in _TOKEN.finditer(raw)])
    year: YearRange | None = None
    year_error: str | None = None
    words: list[str] = []
    approximate = False
    for token in tokens:
        lowered = token.lower()
        if lowered in _APPROX_WORDS or lowered == "~":
            approximate = True
            continue
        if _ANY_NUMBER.search(token):
            candidate = ("около " if approximate else "") + token.strip(_WORD_STRIP.replace(".", ""))
            candidate = re.sub(r"(г\.?р\.?|г\.?|гг\.?)$", "", candidate)
            try:
                year = year or parse_birth_year(candidate)
            except YearError:
                year_error = year_error or token
            approximate = False
            continue
        words.append(token)
    oblique = any(word.lower() in _SEARCH_VERBS for word in words) or any(_is_oblique(word) for word in words)

    slots: dict[str, str] = {}
    unclear: list[str] = []
    place: list[str] = []
    in_place = False
    for token in words:
        word = (
            token.strip(_WORD_STRIP) if not token.endswith(("..", "…")) else token.strip("\"'«»“”„()[]{}:!")
        )
        lowered = word.lower()
        if not word:
            continue
        if lowered in _PLACE_LEADS:
            in_place = True
            continue
        if lowered in _FILLER_WORDS or token.lower() in _FILLER_WORDS:
            continue
        if in_place or _is_place_word(token if token.endswith(".") else word):
            in_place = True
            place.append(token)
            continue
        if "(" in token or "/" in token:  # alternative readings "Легкодымов (Лехкодымов)": keep as typed
            word = token
        role = _role(word)
        value = _nominative(word) if oblique and "(" not in word else word
        if role is not None and role not in slots:
            slots[role] = value
        else:
            unclear.append(value)
    for value in unclear:
        for role in ("surname", "name", "patronymic"):
            if role not in slots:
                slots[role] = value
                break
    return ParsedQuery(
        raw=raw,
        surname=slots.get("surname"),
        name=slots.get("name"),
        patronymic=slots.get("patronymic"),
        birth_year=year.start if year else None,
        birth_year_to=year.end if year else None,
        birthplace=" ".join(place) or None,
        year_error=None if year else year_error,
    )


MAX_NAME_LENGTH: Final = 80
MAX_PLACE_LENGTH: Final = 200
_MARKUP: Final = re.compile(r"[<>&*_`\[\]{}|~#\\=+@$^]")
_NAME_ALLOWED_PUNCTUATION: Final = frozenset(" -'’.?…()/,")


class InputError(ValueError):
    """A typed answer that cannot be used; ``code`` names the reason for a localized explanation.

    Codes: ``empty``, ``too_long``, ``markup`` (HTML / Markdown characters), ``digits`` (a name with
    digits), ``no_letters`` (emoji or punctuation only), ``symbols`` (other characters in a name).
    """

    def __init__(self, code: str, limit: int | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.limit = limit


def _collapse(text: str) -> str:
    return " ".join(text.split())


def check_name(text: str) -> str:
    """A surname, first name or patronymic as typed (spaces tidied), or InputError saying what is wrong.

    Letters of any alphabet, hyphens, apostrophes, and the reading notation (``?``, ``...``, ``(…)``,
    ``/``, an initial ``Е.``) are accepted; digits, markup and emoji are not.
    """
    value = _collapse(text)
    if not value:
        raise InputError("empty")
    if len(value) > MAX_NAME_LENGTH:
        raise InputError("too_long", MAX_NAME_LENGTH)
    if _MARKUP.search(value):
        raise InputError("markup")
    if _ANY_NUMBER.search(value):
        raise InputError("digits")
    if not any(char.isalpha() for char in value):
        raise InputError("no_letters")
    if any(not char.isalpha() and char not in _NAME_ALLOWED_PUNCTUATION for char in value):
        raise InputError("symbols")
    return value


def check_place(text: str) -> str:
    """A birthplace or draft office as typed (spaces tidied), or InputError saying what is wrong."""
    value = _collapse(text)
    if not value:
        raise InputError("empty")
    if len(value) > MAX_PLACE_LENGTH:
        raise InputError("too_long", MAX_PLACE_LENGTH)
    if _MARKUP.search(value):
        raise InputError("markup")
    if not any(char.isalpha() for char in value):
        raise InputError("no_letters")
    return value
