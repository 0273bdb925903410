"""The reading notation volunteers write inside a registry field.

A medallion insert is read by hand, and what could not be read is marked:

* ``?`` — one unreadable character (``Легкод?мов``, ``19?4``);
* ``...`` or ``…`` — an unreadable run of unknown length (``Ем...``, ``...енко``);
* alternative readings in parentheses or after a slash (``Легкодымов (Лехкодымов)``,
  ``Кусаинов / Кусайнов``);
* ``Е.`` — an initial.

:func:`parse_field` turns such text into a :class:`FieldReading` (alternatives with ``*`` for an
unreadable run and ``?`` for a lost character); :func:`parse_year` turns a year reading into inclusive
bounds plus a digit pattern. Both never raise: bad input yields ``None`` or empty bounds.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

__all__ = ["FieldReading", "YearReading", "parse_field", "parse_year"]

# An unreadable run: an ellipsis character or two or more dots (volunteers type "..", "...", "....").
_RUN = re.compile(r"…|\.{2,}")
# Characters that carry no reading at all; a field made of these only is empty.
_MEANINGFUL = re.compile(r"[^\W_]|\?|\*", re.UNICODE)
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
_SPACES = re.compile(r"\s+")
_ALT_SPLIT = re.compile(r"\s*[/|;,]\s*|\s+или\s+|\s+or\s+", re.IGNORECASE)
_PAREN = re.compile(r"[(\[]([^)\]]*)[)\]]?")
_QUOTES = str.maketrans({c: "" for c in "\"'«»“”„`´"})
_DASHES = str.maketrans({c: "-" for c in "‐‑‒–—―"})


@dataclass(frozen=True)
class FieldReading:
    """One field of a reading (a surname, a name, a patronymic) as the notation describes it."""

    raw: str
    alternatives: tuple[str, ...]
    initial: bool

    @property
    def has_wildcard(self) -> bool:
        """True when some alternative holds a lost character (``?``) or a lost run (``*``)."""
        return any("?" in a or "*" in a for a in self.alternatives)

    def to_json(self) -> dict[str, Any]:
        """A JSON-able form that :meth:`from_json` reads back."""
        return {"raw": self.raw, "alternatives": list(self.alternatives), "initial": self.initial}

    @staticmethod
    def from_json(d: dict[str, Any]) -> FieldReading:
        """Reads the form written by :meth:`to_json`."""
        return FieldReading(
            raw=str(d["raw"]),
            alternatives=tuple(str(a) for a in d["alternatives"]),
            initial=bool(d.get("initial", False)),
        )


def _clean_alternative(text: str) -> str:
    """Trims one alternative and rewrites an unreadable run as ``*``."""
    text = _RUN.sub("*", text)
    text = _SPACES.sub(" ", text).strip(" \t-.,:;")
    text = re.sub(r"\*+", "*", text)
    text = re.sub(r"\s*\*\s*", "*", text)
    return text


def _is_initial(text: str) -> bool:
    return len(text) == 1 and bool(_LETTER.match(text))


@lru_cache(maxsize=200_000)  # a registry repeats its names: the importer and the engine share this
def parse_field(raw: str | None) -> FieldReading | None:
    """Parses a field written in the reading notation; ``None`` for blank or meaningless text."""
    if raw is None:
        return None
    try:
        raw_text = str(raw)
        text = unicodedata.normalize("NFC", raw_text).translate(_QUOTES).translate(_DASHES)
        text = _SPACES.sub(" ", text).strip()
        if not text or not _MEANINGFUL.search(_RUN.sub("", text)):
            return None
        pieces: list[str] = []
        # Alternatives in parentheses: "Легкодымов (Лехкодымов)".
        inner = [m.group(1) for m in _PAREN.finditer(text)]
        outer = _PAREN.sub(" / ", text)
        for chunk in [outer, *inner]:
            pieces.extend(_ALT_SPLIT.split(chunk))
        alternatives: list[str] = []
        abbreviated = False
        for piece in pieces:
            stripped = piece.strip()
            # "Ив." (an abbreviation longer than one letter) means the rest of the word was not written.
            is_abbreviation = (
                stripped.endswith(".")
                and not stripped.endswith("..")
                and len(stripped.rstrip(".")) >= 2
                and " " not in stripped
            )
            alternative = _clean_alternative(stripped)
            if not alternative or (not _LETTER.search(alternative) and not re.search(r"\d", alternative)):
                continue
            if is_abbreviation and not alternative.endswith("*") and "?" not in alternative:
                alternative += "*"
                abbreviated = True
            if alternative not in alternatives:
                alternatives.append(alternative)
        if not alternatives:
            return None
        initial = len(alternatives) == 1 and _is_initial(alternatives[0]) and not abbreviated
        return FieldReading(raw=raw_text, alternatives=tuple(alternatives), initial=initial)
    except Exception:  # the notation parser must never break an import or a search
        return None


@dataclass(frozen=True)
class YearReading:
    """A birth-year reading: inclusive bounds of the years it allows, and the pattern of lost digits."""

    raw: str
    low: int | None
    high: int | None
    pattern: str | None

    @property
    def known(self) -> bool:
        """True when the reading gave usable bounds."""
        return self.low is not None and self.high is not None

    def allows(self, year: int) -> bool:
        """True when ``year`` fits the bounds and the digit pattern."""
        if self.low is None or self.high is None:
            return False
        if not self.low <= year <= self.high:
            return False
        if self.pattern is None:
            return True
        return all(p in ("?", d) for p, d in zip(self.pattern, f"{year:04d}", strict=True))

    def distance(self, low: int, high: int) -> int | None:
        """Years between this reading and ``low..high`` (0 when they overlap and fit the pattern)."""
        if self.low is None or self.high is None:
            return None
        if self.pattern is not None:
            if any(self.allows(y) for y in range(low, high + 1)):
                return 0
            return min(abs(y - x) for y in _pattern_years(self.pattern) for x in (low, high))
        if high < self.low:
            return self.low - high
        if low > self.high:
            return low - self.high
        return 0


_APPROX = re.compile(
    r"^(?:около|ок\.?|примерно|прибл\.?|приблизительно|~|≈|about|approx\.?|approximately|circa|ca\.?|c\.|"
    r"шамамен|шамасы)\s*",
    re.IGNORECASE,
)
_YEAR_SUFFIX = re.compile(r"\s*(?:г\.?\s*р\.?|гг?\.?|года?|жыл[ыы]?|ж\.?|year|yr\.?)\s*$", re.IGNORECASE)
_RANGE = re.compile(r"^(\d{4})\s*(?:-|–|—|\.\.|/|или|or)\s*(\d{2,4})$")
_PATTERN = re.compile(r"^[\d?]{4}$")
_DATE = re.compile(r"(?:^|\D)\d{1,2}[./-]\d{1,2}[./-](\d{4})(?:\D|$)")
_MIN_YEAR = 1850
_MAX_YEAR = 1950
_APPROX_SPREAD = 2


def _pattern_years(pattern: str) -> list[int]:
    years: list[int] = []
    for year in range(_MIN_YEAR, _MAX_YEAR + 1):
        if all(p in ("?", d) for p, d in zip(pattern, f"{year:04d}", strict=True)):
            years.append(year)
    return years


def _plausible(year: int) -> bool:
    return _MIN_YEAR <= year <= _MAX_YEAR


def parse_year(raw: str | int | None) -> YearReading | None:
    """Parses a birth-year reading; ``None`` for blank input, empty bounds for text that is not a year."""
    if raw is None:
        return None
    try:
        if isinstance(raw, bool):
            return YearReading(raw=str(raw), low=None, high=None, pattern=None)
        if isinstance(raw, int):
            if _plausible(raw):
                return YearReading(raw=str(raw), low=raw, high=raw, pattern=None)
            return YearReading(raw=str(raw), low=None, high=None, pattern=None)
        raw_text = str(raw)
        text = unicodedata.normalize("NFKC", raw_text).translate(_DASHES).strip()
        if not text:
            return None
        return _parse_year_text(raw_text, text)
    except Exception:  # never raise on a reading
        return YearReading(raw=str(raw), low=None, high=None, pattern=None)


_YEAR_ALTERNATIVES = re.compile(r"^(.+?)\s*\((.+)\)$|^([\d?]{4})\s*/\s*([\d?]{4})$")


def _parse_year_text(raw_text: str, text: str) -> YearReading:
    alternatives = _YEAR_ALTERNATIVES.match(text)
    if alternatives:  # "1904 (1903)", "1903/1904": the reading allows either year
        parts = [part for part in alternatives.groups() if part]
        readings = [_parse_year_text(raw_text, part.strip()) for part in parts]
        if all(reading.low is not None and reading.high is not None for reading in readings):
            return YearReading(
                raw=raw_text,
                low=min(reading.low for reading in readings if reading.low is not None),
                high=max(reading.high for reading in readings if reading.high is not None),
                pattern=None,
            )
    empty = YearReading(raw=raw_text, low=None, high=None, pattern=None)
    text = _SPACES.sub(" ", text.lower())
    approximate = False
    match = _APPROX.match(text)
    if match:
        approximate = True
        text = text[match.end() :]
    text = _YEAR_SUFFIX.sub("", text).strip()
    if text.endswith("?") and re.fullmatch(r"\d{4}\?", text):
        approximate, text = True, text[:-1]
    date = _DATE.search(text)
    if date:
        text = date.group(1)
    text = _RUN.sub("??", text)
    text = text.replace("*", "?").replace("_", "?").replace(" ", "")
    if re.fullmatch(r"\d{2}\?{2,}", text):
        text = text[:2] + "??"
    ranged = _RANGE.match(text)
    if ranged:
        first, second = ranged.group(1), ranged.group(2)
        low = int(first)
        high = int(first[: 4 - len(second)] + second)
        low, high = min(low, high), max(low, high)
        if _plausible(low) and _plausible(high):
            return YearReading(raw=raw_text, low=low, high=high, pattern=None)
        return empty
    if re.fullmatch(r"\d{4}", text):
        year = int(text)
        if not _plausible(year):
            return empty
        if approximate:
            return YearReading(
                raw=raw_text, low=year - _APPROX_SPREAD, high=year + _APPROX_SPREAD, pattern=None
            )
        return YearReading(raw=raw_text, low=year, high=year, pattern=None)
    if _PATTERN.match(text) and "?" in text:
        low = int(text.replace("?", "0"))
        high = int(text.replace("?", "9"))
        if high < _MIN_YEAR or low > _MAX_YEAR or text.count("?") > 2:
            return empty
        return YearReading(raw=raw_text, low=low, high=high, pattern=text)
    if re.fullmatch(r"\d{2}", text):
        # "04" on an insert of men born 1895-1926 means 1904; "98" means 1898.
        short = int(text)
        year = 1800 + short if short >= 80 else 1900 + short
        if approximate:
            return YearReading(
                raw=raw_text, low=year - _APPROX_SPREAD, high=year + _APPROX_SPREAD, pattern=None
            )
        return YearReading(raw=raw_text, low=year, high=year, pattern=None)
    return empty
