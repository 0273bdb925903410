"""The broadcast shares the bot's sending budget: a relative who writes while an appeal goes out at the
default pace is answered at once, before the broadcast is over, and Telegram's flood limits (the
stand-in's, at Telegram's numbers) never answer 429.
"""

from __future__ import annotations

from appeal_scenario import appeal_to_all, bot_settings, received, too_many_requests, until, users

from bot.services.broadcast import appeal_progress, send_appeal
from bot.services.people import give_consent
from botapi_standin import BotApiStandIn, FloodLimits
from models import AppealStatus, Database
from tests.running_bot import RunningBot

RELATIVE = 7401
AUDIENCE = 300  # twelve seconds at the default 25 per second


async def test_a_relative_is_answered_while_an_appeal_goes_out_at_the_default_pace(
    db: Database, sqlite_url: str
) -> None:
    async with BotApiStandIn(flood_limits=FloodLimits()) as api:
        everyone = await users(api, db, 88_000, AUDIENCE)
        appeal_id = await appeal_to_all(db)
        await send_appeal(db, appeal_id)
        relative = api.user(RELATIVE, "Айгүл", language_code="ru")
        await give_consent(db, RELATIVE, "ru")  # after the audience was fixed: not one of its recipients
        bot = RunningBot(api, db, bot_settings(sqlite_url))  # broadcast.rate_per_second: the default
        await bot.start()
        try:

            async def in_full_swing() -> bool:
                return sum(received(api, everyone).values()) >= 50

            await until(in_full_swing, "the broadcast is under way")
            await api.send_text(relative, "/help")
            [answer] = await api.wait_for_messages(RELATIVE)
            progress = await appeal_progress(db, appeal_id)
            assert progress.left > 0  # answered while the broadcast still had people to reach
            assert "/search" in answer.text  # the help

            async def done() -> bool:
                return (await appeal_progress(db, appeal_id)).status == AppealStatus.DONE

            await until(done, "the broadcast is over", guard=120)
        finally:
            await bot.stop()
        assert set(received(api, everyone).values()) == {1}
        assert too_many_requests(api) == 0
