"""Matching relatives are told first: the appeal's soldier against every saved search, then the broadcast.

A relative saved a search for Лехкодымов Емельян, 1904; an appeal for the registry's Легкодымов
(Лехкодымов) Емельян goes out from the running bot. The relative gets a notification with the reasons
before anyone gets the plain appeal, and not the plain appeal too; a relative whose search is for
someone else gets only the plain appeal.
"""

from __future__ import annotations

from pathlib import Path

from appeal_scenario import (
    appeal_for_the_found_man,
    bot_settings,
    delivery_states,
    received,
    until,
    users,
)

from bot.services.appeal_relatives import start_appeal
from bot.services.people import give_consent
from bot.services.saved_searches import SearchFields, save_request
from botapi_standin import BotApiStandIn, SentMessage
from models import Database
from tests.running_bot import RunningBot

RELATIVE = 501
OTHER = 502


async def test_a_matching_relative_is_told_before_the_broadcast(
    api: BotApiStandIn, db: Database, sqlite_url: str, tmp_path: Path
) -> None:
    for person_id, surname, name, year in (
        (RELATIVE, "Лехкодымов", "Емельян", 1904),
        (OTHER, "Кусаинов", "Жумабай", 1914),
    ):
        api.user(person_id, "Айгүл", language_code="en")
        await give_consent(db, person_id, "en")
        await save_request(db, person_id, SearchFields(surname=surname, name=name, birth_year=year))
    others = await users(api, db, 97_000, 20)
    appeal_id, _reading_pk = await appeal_for_the_found_man(db, tmp_path, "Найден в 2019 году.")

    count, told = await start_appeal(db, appeal_id)

    assert told == 1 and count == 21  # everyone else, and the other relative
    bot = RunningBot(api, db, bot_settings(sqlite_url, broadcast={"rate_per_second": 30}))
    await bot.start()
    try:

        async def done() -> bool:
            return await delivery_states(db, appeal_id) == {"sent": 21}

        await until(done, "the broadcast was sent")
    finally:
        await bot.stop()

    [notice] = api.history(RELATIVE)
    assert notice.text.startswith(
        "🔔 A search unit seeks this soldier's family: he may be the man you are looking for"
    )
    assert "Your search: Лехкодымов Емельян, 1904" in notice.text
    assert "Легкодымов (Лехкодымов) Емельян Тимофеевич, born 1904" in notice.text
    reasons = notice.text.split("Why we think so:\n", 1)[1].split("\n")
    assert reasons and all(line.startswith("• ") for line in reasons)
    assert "Лехкодымов" in reasons[0]  # the strongest reason first: the surname
    sends = [call for call in api.calls_of("sendMessage") if call.ok]
    first_broadcast = min(n for n, call in enumerate(sends) if call.chat_id in set(others) | {OTHER})
    assert [n for n, call in enumerate(sends) if call.chat_id == RELATIVE] == [0] and first_broadcast > 0
    assert [m.text.split("\n")[0] for m in api.history(OTHER)] == [
        "🕯 Search units seek the family of a soldier"
    ]
    assert set(received(api, others).values()) == {1}


async def told_first(
    api: BotApiStandIn, db: Database, sqlite_url: str, tmp_path: Path, photo: str
) -> SentMessage:
    """The relative whose saved search fits the appeal's soldier, and an appeal with `photo` (a file id):
    what the running bot told them."""
    api.user(RELATIVE, "Айгүл", language_code="en")
    await give_consent(db, RELATIVE, "en")
    await save_request(db, RELATIVE, SearchFields(surname="Лехкодымов", name="Емельян", birth_year=1904))
    appeal_id, _reading_pk = await appeal_for_the_found_man(
        db, tmp_path, "Найден в 2019 году.", photo_file_id=photo
    )
    _count, told = await start_appeal(db, appeal_id)
    assert told == 1
    bot = RunningBot(api, db, bot_settings(sqlite_url))
    await bot.start()
    try:

        async def notified() -> bool:
            return bool(api.history(RELATIVE))

        await until(notified, "the relative was told")
    finally:
        await bot.stop()
    [notice] = api.history(RELATIVE)
    return notice


async def test_the_appeals_photo_comes_with_the_matching_relatives_notice(
    api: BotApiStandIn, db: Database, sqlite_url: str, tmp_path: Path
) -> None:
    """The administrator attached the medallion's photo: the relative told first sees it too, with the
    notice as its caption and the "This may be my relative" button under it."""
    medallion = b"\x89PNG medallion"
    notice = await told_first(api, db, sqlite_url, tmp_path, api.upload(medallion))
    assert notice.method == "sendPhoto" and api.photo_of(notice) == medallion
    assert notice.text.startswith("🔔 A search unit seeks this soldier's family")
    assert "Легкодымов (Лехкодымов) Емельян Тимофеевич, born 1904" in notice.text
    assert len(notice.buttons) == 1


async def test_a_photo_telegram_refuses_does_not_keep_the_notice_from_the_relative(
    api: BotApiStandIn, db: Database, sqlite_url: str, tmp_path: Path
) -> None:
    notice = await told_first(api, db, sqlite_url, tmp_path, "a-file-id-telegram-forgot")
    assert notice.method == "sendMessage"
    assert notice.text.startswith("🔔 A search unit seeks this soldier's family")
