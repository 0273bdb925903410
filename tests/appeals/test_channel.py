"""The public channel: an appeal is posted there once, with a deep link that opens the bot's private chat."""

from __future__ import annotations

from appeal_scenario import appeal_to_all, bot_settings, delivery_states, until, users

from bot.services.broadcast import get_appeal, send_appeal
from botapi_standin import BotApiStandIn
from models import Database
from tests.running_bot import RunningBot

CHANNEL = -1001234


async def test_an_appeal_is_posted_once_in_the_channel_with_a_deep_link(
    db: Database, sqlite_url: str
) -> None:
    async with BotApiStandIn() as api:
        api.group(CHANNEL, "Аманат")
        await users(api, db, 98_000, 3)
        appeal_id = await appeal_to_all(db)
        await send_appeal(db, appeal_id)
        settings = bot_settings(sqlite_url, broadcast={"rate_per_second": 30, "channel_id": CHANNEL})
        bot = RunningBot(api, db, settings)
        await bot.start()
        try:

            async def done() -> bool:
                return await delivery_states(db, appeal_id) == {"sent": 3}

            await until(done, "the appeal was sent")
            await bot.app.job_queue.get_jobs_by_name("broadcast")[0].run(bot.app)  # one more tick
        finally:
            await bot.stop()
        [post] = api.messages(CHANNEL)
        assert post.text.startswith(
            "🕯 Поисковики ищут родных солдата\nЛегкодымов (Лехкодымов) Емельян, 1904 г. р."
        )
        [button] = post.all_buttons()
        assert button.text == "🙋 Это может быть мой родственник"
        assert button.url == f"https://t.me/{api.bot_username}?start=appeal-{appeal_id}"
        appeal = await get_appeal(db, appeal_id)
        assert appeal is not None and appeal.channel_message_id == post.message_id
