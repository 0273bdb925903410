"""The matching tests' scenario: a relative with a saved search, readings imported from CSV, what was stored."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.services.import_reader import COLUMNS
from bot.services.registry_import import import_file
from bot.services.saved_searches import SearchFields, save_request
from models import Database, Match, OutboxMessage, Person
from models.base import utcnow

LEGKODYMOV = {
    "reading_id": "KZ-2019-0142",
    "surname": "Легкодымов (Лехкодымов)",
    "name": "Емельян",
    "patronymic": "Тимофеевич",
    "birth_year": "1904",
    "birthplace": "Южно-Казахстанская обл., Сайрамский р-н",
    "found_place": "Калужская обл., Мосальский р-н",
    "found_date": "2019-08-14",
    "search_unit": "«Поиск»",
    "burial_place": "д. Людиново, братская могила",
}
STRANGER = {"reading_id": "RU-2003-0051", "surname": "Петренко", "name": "Иван", "birth_year": "1911"}


async def relative(db: Database, person_id: int, language: str = "ru") -> None:
    """A person who consented, in `language`."""
    async with db.session() as session:
        session.add(Person(id=person_id, language=language, consent_at=utcnow()))


async def saved_search(db: Database, person_id: int, **fields: Any) -> int:
    """A saved search of the person (Лехкодымов Емельян, 1904 unless told otherwise)."""
    values: dict[str, Any] = {"surname": "Лехкодымов", "name": "Емельян", "birth_year": 1904, **fields}
    return (await save_request(db, person_id, SearchFields(**values))).id


def write_csv(path: Path, *rows: dict[str, str]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(COLUMNS))  # every registry column
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
    return path


async def import_rows(db: Database, path: Path, *rows: dict[str, str]) -> None:
    await import_file(db, write_csv(path, *rows))


async def outbox(db: Database) -> list[OutboxMessage]:
    async with db.session() as session:
        return list((await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all())


async def matches(db: Database) -> list[Match]:
    async with db.session() as session:
        return list((await session.scalars(select(Match).order_by(Match.id))).all())
