"""The real Application (bot.app) with its scheduled jobs, long-polling the Bot API stand-in over HTTP, on a
real database: the bot as `amanat run` builds it, inside the test's event loop."""

from __future__ import annotations

from typing import Any

from bot.app import build_application
from bot.config import Settings
from bot.jobs import FIRST_MATCHING_DELAY, register_jobs
from botapi_standin import BotApiStandIn
from models import Database


class RunningBot:
    """``first_matching``: seconds until the first matching pass."""

    def __init__(
        self,
        api: BotApiStandIn,
        db: Database,
        settings: Settings,
        *,
        first_matching: float = FIRST_MATCHING_DELAY,
    ) -> None:
        self.api, self.db, self.settings = api, db, settings
        self.first_matching = first_matching
        self.app: Any = None

    async def start(self) -> None:
        app = build_application(
            self.settings,
            self.db,
            token=self.api.token,
            base_url=self.api.base_url,
            base_file_url=self.api.base_file_url,
        )
        register_jobs(app, self.settings, self.db, first_matching=self.first_matching)
        await app.initialize()
        await app.start()
        await app.updater.start_polling(poll_interval=0, timeout=1)
        self.app = app

    async def stop(self) -> None:
        if self.app is not None:
            await self.app.updater.stop()
            await self.app.stop()
            await self.app.shutdown()
