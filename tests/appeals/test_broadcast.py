"""The broadcaster over HTTP: a real `telegram.Bot` talks to the Bot API stand-in, a real database records.

A thousand users, some of whom blocked the bot and one the bot never met, are each served once; at the
default pace with Telegram's flood limits on, nothing is refused with 429; a 429, a network error and a
pause are handled as the issue says.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
from appeal_scenario import (
    ADMIN,
    LEGKODYMOV,
    appeal_to_all,
    delivery_states,
    received,
    too_many_requests,
    users,
)
from sqlalchemy import select
from telegram import Bot

from bot.services.broadcast import (
    AppealStatus,
    Audience,
    Broadcaster,
    appeal_progress,
    change_appeal,
    create_appeal,
    get_appeal,
    send_appeal,
)
from botapi_standin import BotApiStandIn, FloodLimits
from handlers.broadcast import BotApiAppealSender
from models import Database, Person


@pytest.fixture
async def bot(api: BotApiStandIn) -> AsyncIterator[Bot]:
    async with Bot(api.token, base_url=api.base_url, base_file_url=api.base_file_url) as telegram_bot:
        yield telegram_bot


async def no_wait(_seconds: float) -> None:
    """The pace's sleeps skipped: the stand-in answers at once, so the test does not wait 40 s."""


async def test_an_appeal_to_a_thousand_users_serves_every_active_user_once(
    api: BotApiStandIn, bot: Bot, any_db: Database
) -> None:
    everyone = await users(api, any_db, 10_000, 1000)
    blocked = everyone[::50]  # 20 blocked the bot since they last wrote
    for person_id in blocked:
        await api.block(api.user(person_id), notify=False)
    stranger = (await users(None, any_db, 20_000, 1))[0]  # in the database, unknown to Telegram
    appeal_id = await appeal_to_all(any_db)

    assert await send_appeal(any_db, appeal_id) == 1001
    report = await Broadcaster(any_db, BotApiAppealSender(bot), sleep=no_wait).run(appeal_id)

    assert report.finished
    counts = received(api, everyone)
    served = [person_id for person_id in everyone if person_id not in blocked]
    assert all(counts[person_id] == 1 for person_id in served)
    assert all(counts[person_id] == 0 for person_id in blocked)
    assert await delivery_states(any_db, appeal_id) == {"sent": 980, "blocked": 20, "failed": 1}
    async with any_db.session() as session:
        inactive = set(await session.scalars(select(Person.id).where(Person.active.is_(False))))
    assert inactive == {*blocked, stranger}  # "chat not found" is final, and they are unreachable
    appeal = await get_appeal(any_db, appeal_id)
    assert appeal is not None and appeal.status == AppealStatus.DONE
    assert stranger in {call.chat_id for call in api.calls_of("sendMessage") if call.status == 400}

    kk = api.history(everyone[1])[0]  # the second user reads Kazakh
    assert kk.text.startswith("🕯 Іздеушілер жауынгердің туыстарын іздейді")
    assert "Легкодымов (Лехкодымов) Емельян, 1904 ж. т., Южно-Казахстанская обл." in kk.text
    assert "<b>не разметка</b> & co" in kk.text  # the administrator's text is shown, never parsed

    again = await Broadcaster(any_db, BotApiAppealSender(bot), sleep=no_wait).run(appeal_id)
    assert again.sent == 0 and sum(received(api, everyone).values()) == 980


async def test_chat_not_found_and_a_deleted_account_are_final_and_mark_the_person_inactive(
    api: BotApiStandIn, bot: Bot, any_db: Database
) -> None:
    everyone = await users(api, any_db, 15_000, 6)
    deleted, lost = everyone[1], everyone[4]
    api.deactivate(api.user(deleted))  # 403 "Forbidden: user is deactivated"
    api.lose_chat(lost)  # 400 "Bad Request: chat not found"
    appeal_id = await appeal_to_all(any_db)
    await send_appeal(any_db, appeal_id)

    report = await Broadcaster(any_db, BotApiAppealSender(bot), sleep=no_wait).run(appeal_id)

    assert report.finished and report.retried == 0
    assert await delivery_states(any_db, appeal_id) == {"sent": 4, "blocked": 1, "failed": 1}
    tried = Counter(call.chat_id for call in api.calls_of("sendMessage"))
    assert tried[deleted] == tried[lost] == 1  # never retried
    assert [c.description for c in api.calls_of("sendMessage") if c.chat_id in (deleted, lost)] == [
        "Forbidden: user is deactivated",
        "Bad Request: chat not found",
    ]
    async with any_db.session() as session:
        inactive = set(await session.scalars(select(Person.id).where(Person.active.is_(False))))
    assert inactive == {deleted, lost}
    later = await appeal_to_all(any_db)  # the next appeal leaves them out
    assert await send_appeal(any_db, later) == 4


async def test_at_the_default_pace_telegram_never_answers_429(
    api: BotApiStandIn, bot: Bot, any_db: Database
) -> None:
    api.flood_limits = FloodLimits()  # Telegram's: 30 per second overall
    everyone = await users(api, any_db, 30_000, 120)
    appeal_id = await appeal_to_all(any_db)
    await send_appeal(any_db, appeal_id)

    report = await Broadcaster(any_db, BotApiAppealSender(bot), rate=25).run(appeal_id)

    assert report.finished and report.rate_limited == 0
    assert too_many_requests(api) == 0
    assert set(received(api, everyone).values()) == {1}
    progress = await appeal_progress(any_db, appeal_id)
    assert progress.sent == 120 and progress.left == 0
    assert progress.rate <= 25 * 1.1  # never faster than the pace (the first send is not waited for)


async def test_a_429_is_waited_out_and_the_pace_slows_down(
    api: BotApiStandIn, bot: Bot, any_db: Database
) -> None:
    everyone = await users(api, any_db, 40_000, 10)
    appeal_id = await appeal_to_all(any_db)
    await send_appeal(any_db, appeal_id)
    api.fail_next(everyone[3], 429, retry_after=1, methods={"sendMessage"})
    waited: list[float] = []

    async def record_wait(seconds: float) -> None:
        waited.append(seconds)

    broadcaster = Broadcaster(any_db, BotApiAppealSender(bot), rate=25, sleep=record_wait)
    report = await broadcaster.run(appeal_id)

    assert report.finished and report.rate_limited == 1 and 1.0 in waited
    assert [c.status for c in api.calls_of("sendMessage") if c.chat_id == everyone[3]] == [429, 200]
    assert set(received(api, everyone).values()) == {1}


async def test_a_network_error_is_retried_after_a_back_off(
    api: BotApiStandIn, bot: Bot, any_db: Database
) -> None:
    everyone = await users(api, any_db, 50_000, 5)
    appeal_id = await appeal_to_all(any_db)
    await send_appeal(any_db, appeal_id)
    api.fail_next(everyone[2], 502, methods={"sendMessage"})
    broadcaster = Broadcaster(any_db, BotApiAppealSender(bot))  # real waits: a 2 s back-off
    first = await broadcaster.run(appeal_id)
    assert first.retried == 1 and first.finished
    assert [c.status for c in api.calls_of("sendMessage") if c.chat_id == everyone[2]] == [502, 200]
    assert set(received(api, everyone).values()) == {1}


async def test_a_paused_appeal_stops_sending_and_resumes_where_it_was(
    api: BotApiStandIn, bot: Bot, any_db: Database
) -> None:
    everyone = await users(api, any_db, 60_000, 30)
    appeal_id = await appeal_to_all(any_db)
    await send_appeal(any_db, appeal_id)
    sent = 0

    class PausingSender(BotApiAppealSender):
        async def send_appeal(self, appeal: Any, chat_id: int, language: str) -> None:
            nonlocal sent
            await super().send_appeal(appeal, chat_id, language)
            sent += 1
            if sent == 10:
                await change_appeal(any_db, appeal_id, "pause")

    clock = [0.0]

    async def advance(seconds: float) -> None:
        clock[0] += seconds + 1.0  # every wait also lets the status check come due

    paused = await Broadcaster(any_db, PausingSender(bot), sleep=advance, clock=lambda: clock[0]).run(
        appeal_id
    )
    assert not paused.finished and 10 <= paused.sent < 30
    assert (await appeal_progress(any_db, appeal_id)).status == AppealStatus.PAUSED
    nothing = await Broadcaster(any_db, BotApiAppealSender(bot), sleep=no_wait).run(appeal_id)
    assert nothing.sent == 0  # paused: the job leaves it alone

    await change_appeal(any_db, appeal_id, "resume")
    rest = await Broadcaster(any_db, BotApiAppealSender(bot), sleep=no_wait).run(appeal_id)
    assert rest.finished and paused.sent + rest.sent == 30
    assert set(received(api, everyone).values()) == {1}


async def test_a_photo_and_a_long_text_count_as_two_messages_for_the_pace(
    api: BotApiStandIn, bot: Bot, db: Database
) -> None:
    api.flood_limits = FloodLimits()  # Telegram's: 30 per second overall
    everyone = await users(api, db, 35_000, 60)
    uploaded = await bot.send_photo(everyone[0], b"\xff\xd8medallion")  # a file id the stand-in issued
    appeal_id = await create_appeal(
        db,
        created_by=ADMIN,
        soldier=LEGKODYMOV,
        text="Найден в Калужской области. " * 35,  # longer than a caption may be
        audience=Audience(),
        photo_file_id=uploaded.photo[-1].file_id,
    )
    await send_appeal(db, appeal_id)

    report = await Broadcaster(db, BotApiAppealSender(bot), rate=25).run(appeal_id)

    assert report.finished and report.rate_limited == 0
    assert too_many_requests(api) == 0 and not [c for c in api.calls_of("sendPhoto") if c.status == 429]
    for person_id in everyone:
        *_, photo, text = api.history(person_id)
        assert (photo.method, text.method) == ("sendPhoto", "sendMessage") and text.buttons
    assert (await appeal_progress(db, appeal_id)).rate <= 12.5 * 1.1  # deliveries: half the message pace
