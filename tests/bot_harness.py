"""The base of the case and memory-book harnesses: the real bot (bot.app) long-polling a BotApiStandIn
over real HTTP on a real database, with each handled update reported, so a test waits for exactly the
updates it sent and never sleeps.

A subclass says which ``settings()`` the bot runs with and which ``chats()`` the test watches;
``await harness.act(harness.api.press(...))`` queues updates, waits until they are handled, and returns
what the bot wrote to each watched chat meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable

from bot.app import AmanatApplication, build_application
from bot.config import Settings
from botapi_standin import BotApiStandIn, SentMessage, SimUser
from models import Database


class BotHarness:
    handled_timeout = 15.0

    def __init__(self, url: str) -> None:
        self.url = url
        self.api = BotApiStandIn()
        self.db: Database | None = None
        self.app: AmanatApplication | None = None
        self._handled: set[int] = set()
        self._changed = asyncio.Event()

    def settings(self) -> Settings:
        raise NotImplementedError

    def chats(self) -> list[int]:
        raise NotImplementedError

    async def start(self) -> None:
        await self.api.start()
        self.db = Database(self.url)
        app = build_application(
            self.settings(),
            self.db,
            token=self.api.token,
            base_url=self.api.base_url,
            base_file_url=self.api.base_file_url,
        )
        app.update_listeners.append(self._on_handled)
        await app.begin_polling(poll_interval=0, timeout=1)
        self.app = app

    async def stop(self) -> None:
        if self.app is not None:
            await self.app.end_polling()
        if self.db is not None:
            await self.db.dispose()
        await self.api.stop()

    def _on_handled(self, update: object) -> None:
        update_id = getattr(update, "update_id", None)
        if isinstance(update_id, int):
            self._handled.add(update_id)
            self._changed.set()

    async def handled(self, update_ids: Iterable[int], timeout: float | None = None) -> None:
        wanted = set(update_ids)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (self.handled_timeout if timeout is None else timeout)
        while not wanted <= self._handled:
            self._changed.clear()
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"updates {wanted - self._handled} were not handled")
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                continue

    async def act(self, *updates: Awaitable[int]) -> dict[int, list[SentMessage]]:
        """Queue the updates (all before any is handled), wait for them; the bot's messages per chat."""
        for chat in self.chats():
            self.api.new_messages(chat)
        ids = [await update for update in updates]
        await self.handled(ids)
        return {chat: self.api.new_messages(chat) for chat in self.chats()}

    async def press(self, user: SimUser, message: SentMessage, caption: str) -> dict[int, list[SentMessage]]:
        return await self.act(self.api.press(user, message, caption))
