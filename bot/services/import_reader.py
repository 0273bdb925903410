"""Reading a registry file: CSV (English or Russian headers) or JSON lines, each row checked, parsed and
derived into what is stored.

Pure file and engine work, no database layer: an import worker process (`bot.services.import_worker`)
imports only this and `bot.services.import_writer`, so it starts in a fraction of the time the database
layer would take.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import itertools
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from operator import itemgetter
from pathlib import Path
from typing import Any, BinaryIO, Final, TextIO

import orjson

from bot.search import ENGINE_VERSION, derive_stored_fields, parse_field, parse_year


def json_text(value: Any) -> str:
    """JSON as the database layer stores it (`models.db.json_text`): compact UTF-8."""
    return orjson.dumps(value).decode("utf-8")


# The registry columns and the Russian headers accepted for them (DESIGN.md, "Registry CSV").
COLUMNS: dict[str, str] = {
    "reading_id": "№",
    "surname": "Фамилия",
    "name": "Имя",
    "patronymic": "Отчество",
    "birth_year": "Год рождения",
    "birthplace": "Место рождения",
    "draft_office": "Военкомат",
    "rank": "Звание",
    "family_address": "Адрес семьи",
    "relative": "Родственник",
    "found_place": "Место обнаружения",
    "found_date": "Дата обнаружения",
    "search_unit": "Поисковый отряд",
    "burial_place": "Место захоронения",
    "source": "Источник",
    "notes": "Примечание",
}
NAME_FIELDS = ("surname", "name", "patronymic")
HEADER_ALIASES: dict[str, str] = {}
for _column, _russian in COLUMNS.items():
    HEADER_ALIASES[_column] = _column
    HEADER_ALIASES[_russian.casefold()] = _column
HEADER_ALIASES["n"] = "reading_id"
HEADER_ALIASES["no"] = "reading_id"

# Field values repeat a great deal in a registry (places, first names, common surnames); readings are
# immutable, so parsing each distinct value once is safe (`parse_field` keeps its own cache).
_parse_year = lru_cache(maxsize=4096)(parse_year)

_pick_columns = itemgetter(*COLUMNS)
_pick_engine_fields = itemgetter(
    "surname", "name", "patronymic", "birth_year", "birthplace", "draft_office", "family_address", "relative"
)

MAX_FIELD_LENGTH = 2000
SOLDIER_BIRTH_YEARS = (1860, 1930)


class ImportFailure(Exception):
    """The file could not be read at all; nothing was imported.

    The message is English (the logs); ``code`` and ``args`` say the same for the command line to word in
    the administrator's language (the catalogs' ``cli.failure.<code>``, with ``path`` among the args).
    """

    def __init__(self, message: str, code: str = "", **args: object) -> None:
        super().__init__(message)
        self.code = code
        self.args_ = args


class ImportStopped(Exception):
    """A large import stopped half-way (a worker process failed): the batches written before it stay."""


# Why a row is rejected: a code and its English words (the report file's and the logs' text; the command
# line words the code in the administrator's language from the catalogs' ``cli.reject.<code>``).
REJECTION_REASONS: Final[dict[str, str]] = {
    "field_too_long": "{column} is longer than {limit} characters",
    "no_surname": "no surname",
    "surname_no_letters": "surname has no letters: {surname}",
    "year_impossible": "birth year {year} is impossible for a soldier of 1941-1945",
    "year_not_a_year": "birth year is not a year: {year}",
    "reading_id_too_long": "reading_id is longer than {limit} characters",
    "not_encoding": "not {encoding} text (byte {byte})",
    "garbled": "reads as garbled text in Windows-1251 ({word}): is the file in one encoding?",
    "json_invalid": "not valid JSON ({error})",
    "json_too_deep": "not valid JSON (nested too deeply)",
    "json_not_object": "a line must be a JSON object",
    "json_half_escape": "not valid JSON text (a \\u escape of half a character)",
    "csv_too_many_fields": "{fields} fields where the header has {header}",
    "csv_field_too_long": "a field is longer than {limit} characters",
    "csv_invalid": "not a CSV row ({error})",
}
Problem = tuple[str, tuple[tuple[str, Any], ...]]  # a rejection's code and arguments


@dataclass(frozen=True)
class Rejected:
    """A row that cannot be imported: its line, why in English, and why as a code with its arguments."""

    line: int
    reason: str
    code: str = ""
    args: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def of(cls, line: int, problem: Problem) -> Rejected:
        code, args = problem
        return cls(line, REJECTION_REASONS[code].format_map(dict(args)), code, args)


def problem(code: str, **args: Any) -> Problem:
    return code, tuple(args.items())


@dataclass(frozen=True)
class ParsedRow:
    """A usable row: its line number and the values to store."""

    line: int
    values: dict[str, Any]


def canonical_header(name: str) -> str | None:
    """The registry column a header names (English or Russian, any case), or None for an unknown column."""
    cleaned = name.strip().lstrip("\ufeff").strip()
    return HEADER_ALIASES.get(cleaned.casefold())


class _CountingReader(io.RawIOBase):
    """Counts the bytes read from a binary file, for the progress bar."""

    def __init__(self, raw: BinaryIO, on_read: Callable[[int], None]) -> None:
        self._raw = raw
        self._on_read = on_read

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        buffer[: len(data)] = data
        if data:
            self._on_read(len(data))
        return len(data)


@dataclass(frozen=True)
class EncodingChoice:
    """How a file's bytes are read: the codec, its error handling (``surrogateescape``: lines with bytes
    the codec cannot read are rejected, one by one) and the evidence, for the import report."""

    name: str
    errors: str = "strict"
    evidence: str = ""


ENCODING_NAMES = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8", "cp1251": "Windows-1251", "cp1252": "Windows-1252"}
_LETTERS = re.compile(r"[^\W\d_]+")
_ESCAPED = re.compile("[\udc80-\udcff]")  # a byte the codec could not read, kept by surrogateescape
_SHARE = 0.9  # of the words with a non-ASCII letter that must read right for a codec to be chosen


def _cyrillic(char: str) -> bool:
    return "\u0400" <= char <= "\u04ff"


def _shaped(word: str) -> bool:
    """Lower case, upper case or capitalized, as words are (mojibake alternates: "РџРµС‚СЂРѕРІ")."""
    return word.islower() or word.isupper() or (word[0].isupper() and word[1:].islower())


_RUSSIAN_KAZAKH = frozenset("абвгдеёжзийклмнопрстуфхцчшщъыьэюяіәғқңөұүһ")
_VOWELS = frozenset("аеёиоуыэюяіәөұү")


def _reads_russian(word: str) -> bool:
    """A Russian or Kazakh word: two letters or more of their alphabets with a vowel among them, shaped
    as words are (a stray Latin look-alike letter allowed)."""
    lower = word.lower()
    latin = sum(char.isascii() for char in word)
    return (
        len(word) >= 2
        and latin <= 1
        and all(char.isascii() or char in _RUSSIAN_KAZAKH for char in lower)
        and not _VOWELS.isdisjoint(lower)
        and _shaped(word)
        and lower[0] not in "ьъы"
    )


def _reads_latin(word: str) -> bool:
    """A word of the Latin alphabet with accents ("Müller"), not Cyrillic read as Latin-1 ("Ïåòðîâ")."""
    return all(char.isascii() or "\u00c0" <= char <= "\u024f" for char in word) and (
        _shaped(word) and any(char.isascii() for char in word)
    )


def garbled_word(text: str) -> str | None:
    """A word of Windows-1251 text that is Latin text read in the wrong codec ("Mьller"), if any."""
    for word in _LETTERS.findall(text):
        if not word.isascii():
            cyrillic = sum(map(_cyrillic, word))
            if cyrillic and sum(char.isascii() for char in word) >= cyrillic:
                return word
    return None


def _non_ascii_words(text: str) -> list[str]:
    return [word for word in _LETTERS.findall(text) if not word.isascii()]


def choose_encoding(path: Path) -> EncodingChoice:
    """How to read the file, decided on evidence.

    UTF-8 (with or without BOM) when the whole file is UTF-8. Otherwise each line with a non-ASCII byte
    is evidence: when most such lines are valid UTF-8, the file is UTF-8 and the others are rejected;
    else Windows-1251 when its words read as Russian or Kazakh words, or Windows-1252 when they read as
    words of the Latin alphabet ("Müller"); anything else cannot be read (`ImportFailure`), rather than
    stored garbled.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as raw:
        head = raw.read(3)
        bom = head == codecs.BOM_UTF8
        chunk = head if not bom else b""
        try:
            while True:
                decoder.decode(chunk)
                chunk = raw.read(1 << 20)
                if not chunk:
                    decoder.decode(b"", final=True)
                    return EncodingChoice("utf-8-sig" if bom else "utf-8")
        except UnicodeDecodeError:
            pass
    utf8 = not_utf8 = 0
    russian = latin = 0
    windows_words = latin_words = 0
    example: tuple[int, str] | None = None
    with path.open("rb") as raw:
        for number, line in enumerate(raw, start=1):
            if line.isascii():
                continue
            try:
                line.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError:
                not_utf8 += 1
            else:
                utf8 += 1
                continue
            for word in _non_ascii_words(line.decode("cp1251", "replace")):
                windows_words += 1
                if _reads_russian(word):
                    russian += 1
                elif example is None:
                    example = (number, word)
            for word in _non_ascii_words(line.decode("cp1252", "replace")):
                latin_words += 1
                latin += _reads_latin(word)
    if utf8 > not_utf8:
        return EncodingChoice(
            "utf-8-sig" if bom else "utf-8",
            "surrogateescape",
            f"{utf8} lines are UTF-8 text, {not_utf8} not (rejected)",
        )
    if windows_words and russian >= _SHARE * windows_words:
        return EncodingChoice(
            "cp1251",
            "surrogateescape",
            f"not UTF-8; {russian} of its {windows_words} non-ASCII words read as Russian or Kazakh in "
            "Windows-1251",
        )
    if latin_words and latin >= _SHARE * latin_words:
        return EncodingChoice(
            "cp1252",
            "surrogateescape",
            f"not UTF-8, nor Russian or Kazakh; {latin} of its {latin_words} non-ASCII words read as "
            "Latin-alphabet words in Windows-1252",
        )
    seen = f" (line {example[0]} would read {example[1]!r})" if example else ""
    raise ImportFailure(
        f"{path}: the file is neither UTF-8 nor Windows-1251 text in Russian or Kazakh{seen}; "
        "save it as CSV UTF-8 and try again",
        "not_text",
        path=path,
        seen=seen,
    )


def detect_encoding(path: Path) -> str:
    """The codec `choose_encoding` reads the file with."""
    return choose_encoding(path).name


def guess_encoding(path: Path) -> str:
    """What `choose_encoding` will find, guessed from the file's first megabyte (almost always right: a
    Windows-1251 text with a Russian letter in it is not UTF-8)."""
    with path.open("rb") as raw:
        head = raw.read(1 << 20)
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head)  # not final: a letter cut at the end is fine
    except UnicodeDecodeError:
        return "cp1251"
    return "utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8"


_SURROGATE = re.compile("[\ud800-\udfff]")


def _has_lone_surrogate(item: dict[str, Any]) -> bool:
    """Whether a JSON object holds half of a UTF-16 pair (`"\\ud800"`): no text can store it."""
    try:
        return _SURROGATE.search(json.dumps(item, ensure_ascii=False)) is not None
    except (RecursionError, ValueError):
        return True


def _is_json_lines(path: Path, first_line: str) -> bool:
    return path.suffix.lower() in {".jsonl", ".ndjson", ".json"} or first_line.lstrip().startswith("{")


def _clean(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).replace("\x00", "").strip()
    return text or None


def stable_reading_id(values: dict[str, Any]) -> str:
    """An id for a row that has none, derived from its content so that a re-import finds the same row."""
    basis = "\x1f".join((values.get(column) or "").casefold() for column in COLUMNS if column != "reading_id")
    return "auto-" + hashlib.sha1(basis.encode("utf-8")).hexdigest()[:16]


def content_hash(values: dict[str, Any], extra: dict[str, Any]) -> str:
    """A digest of everything imported for a reading, to skip unchanged rows on a re-import."""
    # the same JSON array as [values..., [key, value]...] would give
    basis = (*_pick_columns(values), *sorted(extra.items())) if extra else _pick_columns(values)
    return hashlib.sha256(orjson.dumps(basis)).hexdigest()


@lru_cache(maxsize=200_000)
def _name_notation(text: str | None) -> dict[str, Any] | None:
    """The parsed form of a name field, kept only where the notation says more than the raw text."""
    reading = parse_field(text)
    if reading is None or (not reading.initial and reading.alternatives == (text,)):
        return None
    return {"alternatives": list(reading.alternatives), "initial": reading.initial}


@lru_cache(maxsize=200_000)
def _surname_problem(surname: str | None) -> Problem | None:
    if parse_field(surname) is None:
        return problem("no_surname")
    if not any(ch.isalpha() for ch in surname or ""):
        return problem("surname_no_letters", surname=repr(surname))
    return None


@lru_cache(maxsize=4096)
def _year_notation(year: str) -> dict[str, Any] | Problem:
    """The parsed birth year, or why it cannot be a soldier's."""
    parsed_year = _parse_year(year)
    if parsed_year is None or parsed_year.low is None or parsed_year.high is None:
        if re.search(r"\d{4}", year):
            return problem("year_impossible", year=year)
        return problem("year_not_a_year", year=repr(year))
    low, high = SOLDIER_BIRTH_YEARS
    if parsed_year.high < low or parsed_year.low > high:
        return problem("year_impossible", year=year)
    return {"low": parsed_year.low, "high": parsed_year.high, "pattern": parsed_year.pattern}


_NO_VALUES = dict.fromkeys(COLUMNS)


def _clean_values(raw: dict[str, Any]) -> dict[str, Any] | str:
    """Every registry column of a row as clean text or None, or the name of a column that is too long."""
    try:  # the usual row, all text without NUL characters: stripped and measured in C
        stripped = list(map(str.strip, raw.values()))
        clean = "\x00" not in "".join(stripped)
    except TypeError:  # a JSON number, say
        clean = False
    if clean:
        if stripped and max(map(len, stripped)) > MAX_FIELD_LENGTH:
            return next(
                column for column, text in zip(raw, stripped, strict=True) if len(text) > MAX_FIELD_LENGTH
            )
        values = _NO_VALUES.copy()
        values.update(zip(raw, [text or None for text in stripped], strict=True))
        return values
    values = {}
    for column in COLUMNS:
        value = _clean(raw.get(column))
        if value is not None and len(value) > MAX_FIELD_LENGTH:
            return column
        values[column] = value
    return values


def validate_row(line: int, raw: dict[str, Any], extra: dict[str, Any]) -> ParsedRow | Rejected:
    """Check one row and turn it into database values, or say why it cannot be imported."""
    values = _clean_values(raw)
    if isinstance(values, str):
        return Rejected.of(line, problem("field_too_long", column=values, limit=MAX_FIELD_LENGTH))
    surname_problem = _surname_problem(values["surname"])
    if surname_problem is not None:
        return Rejected.of(line, surname_problem)
    # Only name fields whose notation says more than their raw text (alternatives, unreadable letters,
    # an initial) get a parsed form, and the birth year. Places are read by the engine's gazetteer.
    parsed: dict[str, Any] = {}
    year = values["birth_year"]
    if year:
        year_notation = _year_notation(year)
        if isinstance(year_notation, tuple):
            return Rejected.of(line, year_notation)
        parsed["birth_year"] = year_notation
    if values["reading_id"] is None:
        values["reading_id"] = stable_reading_id(values)
    elif len(values["reading_id"]) > 128:
        return Rejected.of(line, problem("reading_id_too_long", limit=128))
    clean_extra: dict[str, Any] = {}
    for key, value in extra.items():
        cleaned = _clean(value)
        if cleaned is not None:
            clean_extra[key] = cleaned
    for column in NAME_FIELDS:
        notation = _name_notation(values[column])
        if notation is not None:
            parsed[column] = notation
    values["extra"] = clean_extra
    values["parsed"] = parsed
    values["content_hash"] = content_hash(values, clean_extra)
    return ParsedRow(line, values)


class RegistryFile:
    """A registry file opened for streaming: checks what can be checked before the first row is read."""

    def __init__(
        self, path: str | Path, encoding: str | EncodingChoice | None = None, *, guess: bool = False
    ) -> None:
        """`encoding` skips reading the whole file to find it (a worker is told it); so does `guess`,
        which takes it from the file's head: `choose_encoding` must confirm it before anything is written.
        """
        self.path = Path(path)
        if not self.path.exists():
            raise ImportFailure(f"{self.path}: no such file", "no_such_file", path=self.path)
        if not self.path.is_file():
            raise ImportFailure(f"{self.path}: not a file", "not_a_file", path=self.path)
        try:
            self.size = self.path.stat().st_size
            if isinstance(encoding, str):
                encoding = EncodingChoice(encoding)
            if encoding is None and guess:
                guessed = guess_encoding(self.path)  # as choose_encoding would read it
                encoding = EncodingChoice(guessed, "surrogateescape" if guessed == "cp1251" else "strict")
            elif encoding is None:
                encoding = choose_encoding(self.path)
        except OSError as error:
            raise ImportFailure(
                f"{self.path}: cannot be read ({error.strerror})",
                "unreadable",
                path=self.path,
                error=error.strerror,
            ) from None
        self.choice = encoding
        self.encoding = encoding.name
        self.errors = encoding.errors
        # Lines are checked one by one where bytes may have been unreadable, or Latin text garbled.
        self._checked = self.errors != "strict" or self.encoding == "cp1251"
        if self.size == 0:
            raise ImportFailure(f"{self.path}: the file is empty", "empty", path=self.path)
        with self.path.open(encoding=self.encoding, errors=self.errors, newline="") as text:
            first = ""
            for first in text:
                if first.strip():
                    break
        if not first.strip():
            raise ImportFailure(f"{self.path}: the file is empty", "empty", path=self.path)
        self.json_lines = _is_json_lines(self.path, first)
        if not self.json_lines:
            header = next(csv.reader([first]))
            self.header = header
            self.columns = [canonical_header(name) for name in header]
            if "surname" not in self.columns:
                found = ", ".join(h.strip() for h in header)
                raise ImportFailure(
                    f"{self.path}: no surname column: the header must name 'surname' (or 'Фамилия'); "
                    f"found {found or 'nothing'}",
                    "no_surname_column",
                    path=self.path,
                    found=found or "—",
                )

    def rows(
        self, on_bytes: Callable[[int], None] = lambda n: None
    ) -> Iterator[tuple[int, dict[str, Any]] | Rejected]:
        """Yield (line number, {column: value, '_extra': {...}}) or a Rejected row, streaming."""
        with self.path.open("rb") as raw:
            reader = io.BufferedReader(_CountingReader(raw, on_bytes), buffer_size=1 << 16)
            text = io.TextIOWrapper(reader, encoding=self.encoding, errors=self.errors, newline="")
            if self.json_lines:
                yield from self._json_rows(text)
            else:
                yield from self._csv_rows(text)

    def rows_between(self, start: int, end: int, first_line: int) -> Iterator[RawItem]:
        """The rows of bytes [start, end) of the file, which begin at line `first_line` (see `line_ranges`)."""
        with self.path.open("rb") as raw:
            raw.seek(start)
            data = raw.read(end - start)
        encoding = "utf-8" if start > 0 and self.encoding == "utf-8-sig" else self.encoding
        text = io.StringIO(data.decode(encoding, self.errors), newline="")
        if self.json_lines:
            yield from self._json_rows(text, first_line)
        else:
            yield from self._csv_rows(text, self.header, first_line)

    def line_ranges(self, lines: int) -> list[tuple[int, int, int]] | None:
        """The data rows cut into pieces of `lines` lines: (start byte, end byte, first line number).

        The first pieces are smaller (an eighth, a quarter, a half of `lines`, two of each), so that
        the writing can begin while the workers prepare the larger ones.

        None when a line of a CSV file has an odd number of quote marks: a quoted field may go on over the
        next line there, so the file can only be read from its start. (Newline and quote are one byte
        each in UTF-8 and in Windows-1251, so the bytes are enough.)
        """
        ranges: list[tuple[int, int, int]] = []
        offset = line_number = 0
        start = first = count = 0
        in_data = self.json_lines  # a CSV file's data begins after its header, its first non-blank line
        with self.path.open("rb") as raw:
            for line in raw:
                line_number += 1
                offset += len(line)
                if not in_data:
                    in_data = bool(line.removeprefix(codecs.BOM_UTF8).strip())
                    start = offset
                    continue
                if count == 0:
                    first = line_number
                if not self.json_lines and line.count(b'"') % 2:
                    return None
                count += 1
                if count >= lines >> max(0, 3 - len(ranges) // 2):
                    ranges.append((start, offset, first))
                    start, count = offset, 0
        if count:
            ranges.append((start, offset, first))
        return ranges

    def _unreadable(self, text: str) -> Problem | None:
        """Why a line's text cannot be imported as read: bytes the codec could not read, or (in
        Windows-1251) a word that is Latin text read in the wrong codec."""
        escaped = _ESCAPED.search(text)
        if escaped is not None:
            byte = ord(escaped.group()) - 0xDC00
            encoding = ENCODING_NAMES.get(self.encoding, self.encoding)
            return problem("not_encoding", encoding=encoding, byte=f"0x{byte:02X}")
        if self.encoding == "cp1251" and (word := garbled_word(text)) is not None:
            return problem("garbled", word=repr(word))
        return None

    def _json_rows(
        self, text: TextIO, first_line: int = 1
    ) -> Iterator[tuple[int, dict[str, Any]] | Rejected]:
        for line_number, line in enumerate(text, start=first_line):
            if not line.strip():
                continue
            if self._checked and (unreadable := self._unreadable(line)) is not None:
                yield Rejected.of(line_number, unreadable)
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as error:
                yield Rejected.of(line_number, problem("json_invalid", error=error.msg))
                continue
            except RecursionError:
                yield Rejected.of(line_number, problem("json_too_deep"))
                continue
            except ValueError as error:  # e.g. a number of more digits than Python converts
                yield Rejected.of(line_number, problem("json_invalid", error=str(error)))
                continue
            if not isinstance(item, dict):
                yield Rejected.of(line_number, problem("json_not_object"))
                continue
            if "\\u" in line and _has_lone_surrogate(item):
                yield Rejected.of(line_number, problem("json_half_escape"))
                continue
            values: dict[str, Any] = {}
            extra: dict[str, Any] = {}
            for key, value in item.items():
                column = canonical_header(str(key))
                if isinstance(value, (dict, list)):
                    value = json.dumps(value, ensure_ascii=False)
                if column is None:
                    extra[str(key)] = value
                else:
                    values[column] = value
            values["_extra"] = extra
            yield line_number, values

    def _csv_rows(
        self, text: TextIO, header: list[str] | None = None, first_line: int = 1
    ) -> Iterator[tuple[int, dict[str, Any]] | Rejected]:
        reader = csv.reader(text)
        columns: list[str | None] = []
        rows: Iterator[list[str]] = reader
        if header is not None:  # a piece of the file after its header: the header row goes first
            rows = itertools.chain([header], reader)
            header = None
        while True:
            try:
                row = next(rows)
            except StopIteration:
                break
            except csv.Error as error:  # e.g. a field over the csv module's limit: this row only
                yield Rejected.of(reader.line_num + first_line - 1, _csv_problem(error))
                continue
            line_number = reader.line_num + first_line - 1
            if header is None:
                if not any(map(str.strip, row)):
                    continue
                header = row
                columns = [canonical_header(name) for name in header]
                known = [(index, column) for index, column in enumerate(columns) if column is not None]
                extras = [
                    (index, header[index].strip() or f"column {index + 1}")
                    for index, column in enumerate(columns)
                    if column is None
                ]
                # The usual file names each column once and fills every field: its rows are picked in C.
                pick_known = itemgetter(*(index for index, _ in known)) if len(known) > 1 else None
                known_names = [column for _, column in known]
                unique = len(set(known_names)) == len(known_names)
                continue
            if not any(map(str.strip, row)):
                continue
            if self._checked and (unreadable := self._unreadable("\x1f".join(row))) is not None:
                yield Rejected.of(line_number, unreadable)
                continue
            if len(row) > len(header):
                yield Rejected.of(
                    line_number, problem("csv_too_many_fields", fields=len(row), header=len(header))
                )
                continue
            values: dict[str, Any]
            extra: dict[str, Any]
            if unique and pick_known is not None and len(row) == len(header):
                values = dict(zip(known_names, pick_known(row), strict=True))
                extra = {name: row[index] for index, name in extras}
            else:
                values, extra = {}, {}
                for index, cell in enumerate(row):
                    column = columns[index]
                    if column is None:
                        extra[header[index].strip() or f"column {index + 1}"] = cell
                    elif column not in values or not values[column]:
                        values[column] = cell
            values["_extra"] = extra
            yield line_number, values


def _csv_problem(error: csv.Error) -> Problem:
    """Why the csv module could not read a row."""
    if "field larger than field limit" in str(error):
        return problem("csv_field_too_long", limit=csv.field_size_limit())
    return problem("csv_invalid", error=str(error))


RawItem = tuple[int, dict[str, Any]] | Rejected

# A row ready to write: (line, reading_id, content_hash, CONTENT_COLUMNS values as the driver takes them,
# blocking keys). Plain text and numbers, so a batch crosses from a worker process cheaply (as JSON
# arrays: the tuples arrive as lists, which the drivers take alike).
Prepared = tuple[int, str, str, tuple[Any, ...], tuple[str, ...]]
CONTENT_COLUMNS = (*COLUMNS, "extra", "parsed", "surname_norm", "derived", "engine_version", "content_hash")
STAMP_COLUMNS = ("changed_batch", "created_at", "updated_at")


@lru_cache(maxsize=100_000)
def _stored_keys(keys: frozenset[str]) -> tuple[str, ...]:
    """Blocking keys as the keys table holds them (at most 96 characters); many readings share a set."""
    return tuple(key if len(key) <= 96 else key[:96] for key in keys)


def prepare_row(line: int, raw: dict[str, Any], extra: dict[str, Any]) -> Prepared | Rejected:
    """Validate one row and derive what the engine stores of it, or say why it cannot be imported."""
    checked = validate_row(line, raw, extra)
    if isinstance(checked, Rejected):
        return checked
    values = checked.values
    stored = derive_stored_fields(*_pick_engine_fields(values))
    content = (
        *_pick_columns(values),
        json_text(values["extra"]) if values["extra"] else "{}",
        json_text(values["parsed"]) if values["parsed"] else "{}",
        stored.surname_norm[:128],
        stored.json,
        ENGINE_VERSION,
        values["content_hash"],
    )
    return line, values["reading_id"], values["content_hash"], content, _stored_keys(stored.keys)


def prepare_batch(items: list[RawItem]) -> list[Prepared | Rejected]:
    """Each row of a batch prepared, or the reason it cannot be imported (pure CPU work)."""
    return [
        item if isinstance(item, Rejected) else prepare_row(item[0], item[1], item[1].pop("_extra", {}))
        for item in items
    ]


def in_batches(items: Iterator[RawItem], size: int) -> Iterator[list[RawItem]]:
    batch: list[RawItem] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
