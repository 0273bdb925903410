"""Hostile rows in a registry file: one bad row is one rejected row, with its line and reason, and the
import goes on, read here or by the worker processes of a large file (8 MB and up), and again."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.services.registry_import import PARALLEL_FROM_BYTES, import_file
from models import BatchState, Database, ImportBatch, Reading

HEADER = "reading_id,surname,name,birth_year,notes\n"


def csv_rows(first: int, count: int, notes: int = 0) -> str:
    note = "н" * notes
    return "".join(f"R-{n},Иванов,Иван,1910,{note}\n" for n in range(first, first + count))


def json_rows(first: int, count: int) -> str:
    return "".join(
        f'{{"reading_id": "R-{n}", "surname": "Иванов", "name": "Иван"}}\n'
        for n in range(first, first + count)
    )


async def readings(db: Database) -> int:
    async with db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(Reading)) or 0)


async def states(db: Database) -> list[str]:
    async with db.session() as session:
        return list((await session.scalars(select(ImportBatch.state).order_by(ImportBatch.id))).all())


@pytest.mark.parametrize("parallel", [False, True], ids=["here", "workers"])
async def test_an_oversized_csv_field_is_one_rejected_row(
    db: Database, tmp_path: Path, parallel: bool
) -> None:
    path = tmp_path / "registry.csv"
    path.write_text(
        HEADER + csv_rows(0, 300) + "BIG,Петров,Пётр,1911," + "ж" * 200_000 + "\n" + csv_rows(300, 300),
        encoding="utf-8",
    )
    report = await import_file(db, path, parallel=parallel, batch_size=100)
    assert [(r.line, r.reason) for r in report.rejected] == [
        (302, "a field is longer than 131072 characters")
    ]
    assert report.inserted == 600 and await readings(db) == 600
    assert await states(db) == [BatchState.FINISHED]


@pytest.mark.parametrize("parallel", [False, True], ids=["here", "workers"])
async def test_a_deeply_nested_json_line_is_one_rejected_row(
    db: Database, tmp_path: Path, parallel: bool
) -> None:
    path = tmp_path / "registry.jsonl"
    path.write_text(
        json_rows(0, 250)
        + "[" * 100_000
        + "\n"
        + '{"surname": '
        + "[" * 100_000
        + "\n"
        + json_rows(250, 250),
        encoding="utf-8",
    )
    report = await import_file(db, path, parallel=parallel, batch_size=100)
    assert [(r.line, r.reason) for r in report.rejected] == [
        (251, "not valid JSON (nested too deeply)"),
        (252, "not valid JSON (nested too deeply)"),
    ]
    assert report.inserted == 500 and await readings(db) == 500


async def test_a_large_file_with_an_oversized_field_imports_and_imports_again(
    db: Database, tmp_path: Path
) -> None:
    path = tmp_path / "large.csv"
    with path.open("w", encoding="utf-8") as out:
        out.write(HEADER + csv_rows(0, 2000, notes=1200))
        out.write("BIG,Петров,Пётр,1911," + "ж" * 150_000 + "\n")
        out.write(csv_rows(2000, 2000, notes=1200))
    assert path.stat().st_size > PARALLEL_FROM_BYTES  # the worker processes read it
    for _ in range(2):
        report = await import_file(db, path)
        assert [(r.line, r.reason) for r in report.rejected] == [
            (2002, "a field is longer than 131072 characters")
        ]
        assert report.imported == 4000
    assert await readings(db) == 4000
    assert await states(db) == [BatchState.FINISHED, BatchState.FINISHED]
