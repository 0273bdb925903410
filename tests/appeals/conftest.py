"""Fixtures of the appeals suite: the running bot (bot.app with its jobs) on the stand-in and a database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from appeal_scenario import CONFIG_VOLUNTEER, VOLUNTEERS, bot_settings

from botapi_standin import BotApiStandIn
from models import Database
from tests.running_bot import RunningBot


@pytest.fixture
async def running(db: Database, sqlite_url: str) -> AsyncIterator[RunningBot]:
    """The bot polling a fresh stand-in: ADMIN administers, CONFIG_VOLUNTEER volunteers (configuration),
    cases go to the VOLUNTEERS group, appeals go out at Telegram's 30/s."""
    async with BotApiStandIn() as api:
        api.group(VOLUNTEERS, "Волонтёры")
        settings = bot_settings(
            sqlite_url,
            broadcast={"rate_per_second": 30},
            roles={"admins": [900], "volunteers": [CONFIG_VOLUNTEER], "volunteer_chat_id": VOLUNTEERS},
        )
        bot = RunningBot(api, db, settings)
        await bot.start()
        try:
            yield bot
        finally:
            await bot.stop()
