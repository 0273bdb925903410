"""The appeals suite's scenario: many consented users (known to the Bot API stand-in), an appeal to them.

Users are written in bulk (a thousand `give_consent` calls would be the slow part of every test); what
reached each chat is counted at the stand-in, what was recorded is read from the database.
"""

from __future__ import annotations

import asyncio
import csv
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select

from bot.config import Settings
from bot.services.broadcast import Audience, Soldier, create_appeal, soldier_of_reading
from bot.services.registry_import import import_file
from botapi_standin import BotApiStandIn
from models import AppealDelivery, Database, Person
from models.base import utcnow

ADMIN = 900
CONFIG_VOLUNTEER = 888
VOLUNTEERS = -100555  # the volunteers' group
LEGKODYMOV = Soldier(
    surname="Легкодымов (Лехкодымов)", name="Емельян", born="1904", place="Южно-Казахстанская обл."
)
TEXT = "Найден в 2019 году в Калужской области. Ищем родных. <b>не разметка</b> & co"
LANGS = ("ru", "kk", "en")


async def users(api: BotApiStandIn | None, db: Database, first_id: int, count: int) -> list[int]:
    """`count` consented, active users (languages in turn: ru, kk, en), known to the stand-in if given."""
    ids = list(range(first_id, first_id + count))
    now = utcnow()
    rows = [
        {
            "id": person_id,
            "language": LANGS[n % 3],
            "role": "relative",
            "consent_at": now,
            "active": True,
            "created_at": now,
            "last_seen_at": now,
        }
        for n, person_id in enumerate(ids)
    ]
    async with db.session() as session:
        await session.execute(insert(Person), rows)
    if api is not None:
        for n, person_id in enumerate(ids):
            api.user(person_id, "Айгүл", language_code=LANGS[n % 3])
    return ids


async def appeal_to_all(db: Database, text: str = TEXT) -> int:
    return await create_appeal(db, created_by=ADMIN, soldier=LEGKODYMOV, text=text, audience=Audience())


def received(api: BotApiStandIn, chat_ids: list[int]) -> Counter[int]:
    """How many messages each chat received (sendMessage calls the stand-in accepted)."""
    return Counter(
        {chat_id: sum(1 for m in api.history(chat_id) if m.method == "sendMessage") for chat_id in chat_ids}
    )


async def delivery_states(db: Database, appeal_id: int) -> Counter[str]:
    async with db.session() as session:
        rows = await session.execute(
            select(AppealDelivery.state, func.count())
            .where(AppealDelivery.appeal_id == appeal_id)
            .group_by(AppealDelivery.state)
        )
        return Counter({str(state): int(count) for state, count in rows})


def too_many_requests(api: BotApiStandIn) -> int:
    return sum(1 for call in api.calls_of("sendMessage") if call.status == 429)


def bot_settings(url: str, **sections: Any) -> Settings:
    """Settings for a bot under test: ADMIN administers (unless `roles` says otherwise), matching is out
    of the way."""
    sections.setdefault("roles", {"admins": [ADMIN]})
    return Settings(database={"url": url}, matching={"interval_seconds": 3600}, **sections)  # type: ignore[arg-type]


async def import_registry(db: Database, path: Path, *rows: Sequence[str]) -> None:
    """Import readings (reading_id, surname, name, patronymic, birth_year, birthplace) from a CSV at `path`."""
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["reading_id", "surname", "name", "patronymic", "birth_year", "birthplace"])
        writer.writerows(rows)
    await import_file(db, path)


FOUND = (
    "KZ-2019-0001",
    "Легкодымов (Лехкодымов)",
    "Емельян",
    "Тимофеевич",
    "1904",
    "Южно-Казахстанская обл.",
)


async def until(condition: Callable[[], Awaitable[bool]], what: str, guard: float = 60.0) -> None:
    """Wait until `condition` holds (the guard only stops a hang; nothing is asserted about time)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + guard
    while not await condition():
        assert loop.time() < deadline, f"never: {what}"
        await asyncio.sleep(0.05)


async def appeal_for_the_found_man(
    db: Database, tmp_path: Path, text: str, *, photo_file_id: str | None = None
) -> tuple[int, int]:
    """The registry holds the founding case's reading (FOUND) and another man's; a draft appeal to everyone
    for the man of FOUND, from his registry record. (The appeal's id, the reading's primary key.)"""
    await import_registry(db, tmp_path / "found.csv", FOUND, ("F-1", "Федоров", "Пётр", "", "1911", ""))
    found = await soldier_of_reading(db, FOUND[0])
    assert found is not None
    reading_pk, soldier = found
    appeal_id = await create_appeal(
        db,
        created_by=ADMIN,
        soldier=soldier,
        text=text,
        audience=Audience(),
        reading_pk=reading_pk,
        photo_file_id=photo_file_id,
    )
    return appeal_id, reading_pk
