"""The encoding of a registry file is decided on evidence and reported; no file is stored garbled."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from bot.services.registry_import import ImportFailure, import_file
from models import Database, Reading

HEADER = b"reading_id,surname,name,birth_year\n"


async def surnames(db: Database) -> dict[str, str]:
    async with db.session() as session:
        rows = await session.execute(select(Reading.reading_id, Reading.surname))
        return {reading_id: surname for reading_id, surname in rows}


@pytest.mark.parametrize("parallel", [False, True], ids=["here", "workers"])
async def test_a_utf8_file_with_one_bad_byte_is_utf8_and_that_line_is_rejected(
    db: Database, tmp_path: Path, parallel: bool
) -> None:
    rows = [f"P{n},Петров,Иван,1910\n".encode() for n in range(3000)]
    rows.insert(1500, b"BAD,\xffetrov,Ivan,1910\n")
    path = tmp_path / "registry.csv"
    path.write_bytes(HEADER + b"".join(rows))
    report = await import_file(db, path, parallel=parallel, batch_size=500)
    assert report.encoding == "utf-8"
    assert "3000 lines are UTF-8 text, 1 not" in report.encoding_evidence
    assert [(r.line, r.reason) for r in report.rejected] == [(1502, "not UTF-8 text (byte 0xFF)")]
    stored = await surnames(db)
    assert len(stored) == 3000 and set(stored.values()) == {"Петров"}


async def test_a_bad_byte_after_the_first_megabyte_of_a_large_file_is_one_rejected_line(
    db: Database, tmp_path: Path
) -> None:
    # The workers begin on the encoding of the file's head (clean UTF-8); the whole file says otherwise.
    rows = b"".join(f"P{n},Петров,Иван,1910,{'примечание ' * 10}\n".encode() for n in range(9000))
    path = tmp_path / "large.csv"
    path.write_bytes(b"reading_id,surname,name,birth_year,notes\n" + rows + b"BAD,Ivanov\xc3,Ivan,1910,\n")
    assert path.stat().st_size > 1 << 20
    report = await import_file(db, path, parallel=True)
    assert [(r.line, r.reason) for r in report.rejected] == [(9002, "not UTF-8 text (byte 0xC3)")]
    assert report.inserted == 9000


async def test_latin_1_text_is_read_as_latin_not_as_cyrillic(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "volksbund.csv"
    path.write_bytes(HEADER + "M1,Müller,Hans,1910\nS2,Schröder,Jürgen,1912\n".encode("latin-1"))
    report = await import_file(db, path)
    assert report.encoding == "cp1252" and "Latin-alphabet words" in report.encoding_evidence
    assert await surnames(db) == {"M1": "Müller", "S2": "Schröder"}


async def test_a_latin_1_line_in_a_windows_1251_file_is_rejected_not_garbled(
    db: Database, tmp_path: Path
) -> None:
    russian = "".join(f"R{n},Легкодымов,Емельян,1904\n" for n in range(20)).encode("cp1251")
    path = tmp_path / "excel.csv"
    path.write_bytes(HEADER + russian + "M1,Müller,Hans,1910\n".encode("latin-1"))
    report = await import_file(db, path)
    assert report.encoding == "cp1251" and "read as Russian or Kazakh" in report.encoding_evidence
    assert [(r.line, r.reason) for r in report.rejected] == [
        (22, "reads as garbled text in Windows-1251 ('Mьller'): is the file in one encoding?")
    ]
    stored = await surnames(db)
    assert len(stored) == 20 and set(stored.values()) == {"Легкодымов"}


async def test_bytes_that_read_as_no_language_are_refused(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "noise.csv"
    path.write_bytes(HEADER + "X1,ÏåòðîâÜ Ñ€Ðµ,Hans,1910\n".encode("cp1252"))  # UTF-8 read twice, say
    with pytest.raises(ImportFailure, match="neither UTF-8 nor Windows-1251 text in Russian or Kazakh"):
        await import_file(db, path)
    assert await surnames(db) == {}
