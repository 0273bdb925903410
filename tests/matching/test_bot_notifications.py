"""The running bot: its JobQueue matches and delivers; the buttons under a notification; /my; /stats.

The real Application from bot.app polls the Bot API stand-in over HTTP and works on a real database.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from matching_scenario import LEGKODYMOV, import_rows, outbox, saved_search

from bot.config import Settings
from bot.services.people import give_consent
from botapi_standin import BotApiStandIn, SimUser
from models import Database, OutboxState, RequestStatus, SearchRequest
from tests.running_bot import RunningBot

ADMIN = 900


@pytest.fixture
async def bot(db: Database, sqlite_url: str) -> AsyncIterator[RunningBot]:
    api = BotApiStandIn()
    await api.start()
    settings = Settings(  # type: ignore[arg-type]
        database={"url": sqlite_url}, roles={"admins": [ADMIN]}, matching={"interval_seconds": 3600}
    )
    running = RunningBot(api, db, settings, first_matching=0.1)
    try:
        yield running
    finally:
        await running.stop()
        await api.stop()


async def _states(db: Database) -> list[OutboxState]:
    return [message.state for message in await outbox(db)]


async def _eventually(read: Callable[[], Awaitable[Any]], expected: Any, timeout: float = 30.0) -> None:
    """Wait until `read()` gives `expected` (the bot's jobs write concurrently with the test)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (value := await read()) != expected:
        assert loop.time() < deadline, f"still {value!r}, expected {expected!r}"
        await asyncio.sleep(0.02)


async def _relative(bot: RunningBot, user_id: int, language: str) -> SimUser:
    user = bot.api.user(user_id, "Айгүл", language_code=language)
    await give_consent(bot.db, user_id, language)
    return user


async def test_the_bots_jobs_match_and_deliver_and_the_buttons_work(bot: RunningBot, tmp_path: Path) -> None:
    api = bot.api
    user = await _relative(bot, 601, "ru")
    request_id = await saved_search(bot.db, 601)
    await import_rows(bot.db, tmp_path / "new.csv", LEGKODYMOV)

    await bot.start()  # the matching job runs at once; the outbox job delivers within its interval
    [notification] = await api.wait_for_messages(user.id, 1, timeout=90)
    assert notification.text.startswith("🔔 Новая запись в реестре по вашему поиску")
    await _eventually(lambda: _states(bot.db), [OutboxState.SENT])  # marked sent right after the send

    await api.press(user, notification, "📄 Показать запись")
    [record] = await api.wait_for_messages(user.id, 1)
    assert record.text.startswith("📄 Запись KZ-2019-0142")
    assert "Фамилия: Легкодымов (Лехкодымов)" in record.text
    assert "Место захоронения: д. Людиново, братская могила" in record.text

    await api.press(user, notification, "⏸ Приостановить этот поиск")
    [paused] = await api.wait_for_messages(user.id, 1)
    assert paused.text.startswith("Поиск приостановлен")
    async with bot.db.session() as session:
        stored = await session.get(SearchRequest, request_id)
        assert stored is not None and stored.status == RequestStatus.PAUSED

    await api.send_text(user, "/my")
    [my] = await api.wait_for_messages(user.id, 1)
    assert "(приостановлен)" in my.text
    assert "▶️ Возобновить 1" in my.button_texts()
    await api.press(user, my, "▶️ Возобновить 1")
    [redrawn] = await api.wait_for_messages(user.id, 1)
    assert redrawn.edited and redrawn.message_id == my.message_id
    assert "(приостановлен)" not in redrawn.text and "⏸ Приостановить 1" in redrawn.button_texts()
    assert api.toasts(user.id)[-1].text is not None
    async with bot.db.session() as session:
        stored = await session.get(SearchRequest, request_id)
        assert stored is not None and stored.status == RequestStatus.ACTIVE


async def test_forged_buttons_reach_nobody_elses_searches(bot: RunningBot, tmp_path: Path) -> None:
    api = bot.api
    owner = await _relative(bot, 602, "en")
    request_id = await saved_search(bot.db, 602)
    stranger = await _relative(bot, 603, "en")
    await import_rows(bot.db, tmp_path / "new.csv", LEGKODYMOV)
    await bot.start()
    [notification] = await api.wait_for_messages(owner.id, 1, timeout=90)
    match_data = notification.button("📄 See the record").callback_data
    assert match_data is not None and match_data.startswith("nrec:")

    await api.send_text(stranger, "/my")
    [their_my] = await api.wait_for_messages(stranger.id, 1)
    for forged in (match_data, f"pause:{request_id}", "nrec:999999"):
        await api.press_data(stranger, their_my.message_id, forged)
    assert [t.text for t in await api.wait_for_toasts(stranger.id, 3)] == [
        "This search or this reading is no longer available."
    ] * 3
    await api.expect_no_messages(stranger.id, within=0.2)
    async with bot.db.session() as session:
        stored = await session.get(SearchRequest, request_id)
        assert stored is not None and stored.status == RequestStatus.ACTIVE


async def test_stats_is_for_admins_and_shows_delivery(bot: RunningBot, tmp_path: Path) -> None:
    api = bot.api
    await _relative(bot, 604, "ru")
    await saved_search(bot.db, 604)
    await import_rows(bot.db, tmp_path / "new.csv", LEGKODYMOV)
    api.fail_next(604, 500, methods={"sendMessage"})
    admin = await _relative(bot, ADMIN, "en")
    relative = api.user(604, "Айгүл")
    await bot.start()

    async def first_try() -> list[tuple[OutboxState, int]]:
        return [(message.state, message.attempts) for message in await outbox(bot.db)]

    await _eventually(first_try, [(OutboxState.PENDING, 1)])  # the first delivery failed with 500

    await api.send_text(relative, "/stats")
    [refused] = await api.wait_for_messages(relative.id, 1)
    assert refused.text == "Эта команда только для администраторов."

    await api.send_text(admin, "/stats")
    [stats] = await api.wait_for_messages(admin.id, 1)
    assert "Saved searches: 1 active, 0 paused" in stats.text
    assert "Matches: 1 (1 very likely); 1 notified" in stats.text
    assert "Notifications: 1 waiting" in stats.text
    assert "Latest delivery errors:" in stats.text and "Internal Server Error" in stats.text
