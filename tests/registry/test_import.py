"""Importing the registry: both header styles, JSON lines, the notation, idempotence and every bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.services.registry_import import ImportFailure, import_file
from models import Database, ImportBatch, Reading, ReadingKey

ENGLISH = (
    "reading_id,surname,name,patronymic,birth_year,birthplace,found_place,found_date,search_unit,shovel\n"
    'KZ-2019-0142,Легкодымов (Лехкодымов),Емельян,Тимофеевич,1904,"Южно-Казахстанская обл., Сайрамский р-н",'
    "Калужская обл.,2019-08-14,«Поиск»,штык\n"
    "RU-2001-0001,Иванов,Иван,,19?4,Калининская обл.,Тверская обл.,2001,«Долг»,\n"
)


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


async def count(db: Database, model: type) -> int:
    async with db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def reading(db: Database, reading_id: str) -> Reading:
    async with db.session() as session:
        found = await session.scalar(select(Reading).where(Reading.reading_id == reading_id))
        assert found is not None, reading_id
        return found


async def test_english_headers_keep_raw_text_and_unknown_columns(any_db: Database, tmp_path: Path) -> None:
    report = await import_file(any_db, write(tmp_path, "en.csv", ENGLISH))
    assert (report.inserted, report.rejected) == (2, [])
    legkodymov = await reading(any_db, "KZ-2019-0142")
    assert legkodymov.surname == "Легкодымов (Лехкодымов)"  # raw text exactly as imported
    assert legkodymov.birthplace == "Южно-Казахстанская обл., Сайрамский р-н"
    assert legkodymov.extra == {"shovel": "штык"}
    assert legkodymov.parsed["surname"]["alternatives"] == ["Легкодымов", "Лехкодымов"]
    assert await count(any_db, ReadingKey) > 0


async def test_russian_headers_in_any_order(db: Database, tmp_path: Path) -> None:
    text = (
        "Год рождения,Имя,Фамилия,№,Отчество,Место рождения,Место обнаружения,Примечание\n"
        "1912,Жумабай,Кусаинов / Кусайнов,KZ-2005-0007,,Гурьевская обл.,Смоленская обл.,вкладыш сохранился плохо\n"
    )
    report = await import_file(db, write(tmp_path, "ru.csv", text))
    assert report.inserted == 1 and not report.rejected
    row = await reading(db, "KZ-2005-0007")
    assert (row.surname, row.name, row.birth_year, row.notes) == (
        "Кусаинов / Кусайнов",
        "Жумабай",
        "1912",
        "вкладыш сохранился плохо",
    )
    assert row.parsed["surname"]["alternatives"] == ["Кусаинов", "Кусайнов"]


async def test_notation_is_parsed_and_raw_text_kept(db: Database, tmp_path: Path) -> None:
    text = "reading_id,surname,name,patronymic,birth_year\nA1,Легкод?мов,Ем...,Т.,19?4\nA2,…енко,Е.,,\nA3,Кусаинов,Касым,,1904 (1903)\n"
    await import_file(db, write(tmp_path, "notation.csv", text))
    first = await reading(db, "A1")
    assert (first.surname, first.name, first.patronymic, first.birth_year) == (
        "Легкод?мов",
        "Ем...",
        "Т.",
        "19?4",
    )
    assert first.parsed["name"]["alternatives"] == ["Ем*"]
    assert first.parsed["patronymic"]["initial"] is True
    assert first.parsed["birth_year"] == {"low": 1904, "high": 1994, "pattern": "19?4"}
    second = await reading(db, "A2")
    assert second.parsed["surname"]["alternatives"] == ["*енко"]
    third = await reading(db, "A3")  # alternative readings of a year are a range, not a rejected row
    assert third.parsed["birth_year"] == {"low": 1903, "high": 1904, "pattern": None}


async def test_json_lines(db: Database, tmp_path: Path) -> None:
    lines = [
        {"reading_id": "J1", "surname": "Нурмаганбетов", "name": "Касым", "birth_year": 1915, "lamp": "нет"},
        {"Фамилия": "Ахметов", "Имя": "Есим", "№": "J2"},
    ]
    path = write(
        tmp_path, "r.jsonl", "\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n{oops\n"
    )
    report = await import_file(db, path)
    assert report.inserted == 2
    assert [(r.line, r.reason.split(" (")[0]) for r in report.rejected] == [(3, "not valid JSON")]
    assert (await reading(db, "J1")).extra == {"lamp": "нет"}
    assert (await reading(db, "J1")).birth_year == "1915"


async def test_reimport_updates_and_never_duplicates(any_db: Database, tmp_path: Path) -> None:
    path = write(tmp_path, "en.csv", ENGLISH)
    await import_file(any_db, path)
    readings, keys = await count(any_db, Reading), await count(any_db, ReadingKey)
    again = await import_file(any_db, path)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)
    assert (await count(any_db, Reading), await count(any_db, ReadingKey)) == (readings, keys)

    changed = write(
        tmp_path, "en2.csv", ENGLISH.replace("Калининская обл.", '"Калининская обл., Ржевский р-н"')
    )
    third = await import_file(any_db, changed)
    assert (third.inserted, third.updated, third.unchanged) == (0, 1, 1)
    assert (await reading(any_db, "RU-2001-0001")).birthplace == "Калининская обл., Ржевский р-н"
    assert await count(any_db, Reading) == readings


async def test_row_without_id_gets_a_stable_id(db: Database, tmp_path: Path) -> None:
    text = "reading_id,surname,name\n,Сейткалиев,Токтар\n"
    path = write(tmp_path, "noid.csv", text)
    await import_file(db, path)
    await import_file(db, path)
    async with db.session() as session:
        ids = (await session.scalars(select(Reading.reading_id))).all()
    assert len(ids) == 1 and ids[0].startswith("auto-")


async def test_rejected_rows_reported_with_line_and_reason_rest_imported(
    db: Database, tmp_path: Path
) -> None:
    text = (
        "reading_id,surname,name,birth_year\n"
        "B1,Иванов,Пётр,1910\n"
        "B2,,Пётр,1910\n"  # no surname
        "B3,12345,Пётр,1910\n"  # digits only
        "B4,Петров,Иван,2025\n"  # impossible year
        "B5,Сидоров,Иван,abc\n"  # not a year
        "B6,Орлов,Иван,1911,extra,cells\n"  # more fields than the header
        "B7,Белов,Иван,1913\n"
    )
    report = await import_file(db, write(tmp_path, "bad.csv", text))
    assert report.inserted == 2
    lines = {rejected.line: rejected.reason for rejected in report.rejected}
    assert sorted(lines) == [3, 4, 5, 6, 7]
    assert "no surname" in lines[3]
    assert "no letters" in lines[4]
    assert "impossible" in lines[5]
    assert "not a year" in lines[6]
    assert "fields" in lines[7]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.csv", b"", "empty"),
        ("blank.csv", b"\n\n  \n", "empty"),
        ("nosurname.csv", "reading_id,name\nX1,Иван\n".encode(), "no surname column"),
        ("binary.csv", bytes([0x98, 0x00, 0x81, 0x98]) * 10, "neither UTF-8 nor Windows-1251"),
    ],
)
async def test_unreadable_files_change_nothing(
    db: Database, tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ImportFailure, match=message):
        await import_file(db, path)
    assert await count(db, Reading) == 0
    assert await count(db, ImportBatch) == 0


async def test_missing_file_changes_nothing(db: Database, tmp_path: Path) -> None:
    with pytest.raises(ImportFailure, match="no such file"):
        await import_file(db, tmp_path / "nowhere.csv")
    assert await count(db, ImportBatch) == 0


async def test_windows_1251_export_is_read(db: Database, tmp_path: Path) -> None:
    text = "№,Фамилия,Имя\nW1,Легкодымов,Емельян\n"
    report = await import_file(db, write(tmp_path, "excel.csv", text, encoding="cp1251"))
    assert report.encoding == "cp1251" and report.inserted == 1
    assert (await reading(db, "W1")).surname == "Легкодымов"


async def test_utf8_with_bom_header_is_recognised(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + "Фамилия,Имя\nКусаинов,Касым\n".encode())
    report = await import_file(db, path)
    assert report.inserted == 1 and not report.rejected
