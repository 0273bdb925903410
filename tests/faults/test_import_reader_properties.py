"""Property-based tests of the registry file reader (CSV and JSON lines): whatever the bytes, no exception
escapes it, and every row it cannot use is rejected with its line number and a reason.

A file that cannot be read at all is refused with `ImportFailure` before any row is read (as documented);
everything else comes out row by row, read from the start (`rows`) or in pieces as the import workers
read it (`rows_between`), then validated and derived (`prepare_batch`).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.services.import_reader import ImportFailure, RegistryFile, Rejected, prepare_batch

HEADER = b"reading_id,surname,name,patronymic,birth_year,birthplace,notes\n"
COLUMNS = ["reading_id", "surname", "name", "patronymic", "birth_year", "birthplace", "Фамилия", "other"]
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Pieces of text a hostile or damaged file holds.
nasty_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        ['"', '""', '"\n', ",", "\r", "\x00", "?", "...", "(", "/", "1904", "19?4", "Легкодымов"]
    ),
    st.builds(lambda n: "ж" * n, st.integers(1990, 2010)),  # just over the length allowed a field
)
nasty_bytes = st.one_of(
    nasty_text.map(lambda text: text.encode("utf-8")),
    st.binary(max_size=20),
    st.sampled_from([b"\xff", b"\xd0", b"\x98", "Müller".encode("latin-1"), "Петров".encode("cp1251")]),
)


def read_everything(path: Path) -> None:
    """Read the file both ways the importer does; every item is a prepared row or a reasoned rejection."""
    try:
        source = RegistryFile(path)
    except ImportFailure as failure:
        assert str(failure)
        return
    items = prepare_batch(list(source.rows()))
    pieces = source.line_ranges(3) or []
    for piece in pieces:
        items += prepare_batch(list(source.rows_between(*piece)))
    for item in items:
        if isinstance(item, Rejected):
            assert isinstance(item.line, int) and item.line >= 1
            assert isinstance(item.reason, str) and item.reason.strip()
        else:
            line, reading_id, digest, _content, keys = item
            assert line >= 1 and reading_id and len(digest) == 64 and isinstance(keys, tuple)


def write_and_read(name: str, data: bytes) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / name
        path.write_bytes(data)
        read_everything(path)


@SETTINGS
@given(st.lists(st.lists(nasty_bytes, max_size=9), max_size=12), st.sampled_from([b"\n", b"\r\n"]))
def test_any_csv_rows_are_read_or_rejected_with_a_reason(rows: list[list[bytes]], newline: bytes) -> None:
    write_and_read("registry.csv", HEADER + newline.join(b",".join(cells) for cells in rows) + newline)


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), nasty_text),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(nasty_text, children, max_size=3),
    max_leaves=8,
)


@st.composite
def json_lines(draw: st.DrawFn) -> bytes:
    lines = []
    for _ in range(draw(st.integers(0, 8))):
        kind = draw(st.integers(0, 5))
        if kind == 0:
            line = json.dumps(draw(st.dictionaries(st.sampled_from(COLUMNS), json_values, max_size=6)))
        elif kind == 1:
            line = json.dumps(draw(json_values))
        elif kind == 2:
            line = draw(st.sampled_from(["[", "{", '{"surname": '])) * draw(st.integers(1, 120_000))
        elif kind == 3:
            line = '{"surname": "Иванов", "birth_year": ' + "9" * draw(st.integers(1, 6000)) + "}"
        elif kind == 4:
            line = '{"surname": "\\ud800Иванов", "name": "\\udfff"}'  # lone surrogates, as JSON allows
        else:
            line = draw(nasty_text)
        lines.append(line.encode("utf-8", "surrogatepass"))
    lines.append(draw(nasty_bytes))
    return b"\n".join(lines) + b"\n"


@SETTINGS
@given(json_lines())
def test_any_json_lines_are_read_or_rejected_with_a_reason(data: bytes) -> None:
    write_and_read("registry.jsonl", data)
