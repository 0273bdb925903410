"""The harness of the case tests: the real bot over real HTTP against a BotApiStandIn, with the people
a case involves — a relative, two volunteers (in the configuration), a stranger, and the volunteers' group.

``await desk.act(desk.api.press(...))`` queues an update, waits until the Application has handled it (it
reports each handled update, so nothing sleeps), and returns what the bot wrote to each chat meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable
from typing import Final

from bot.app import AmanatApplication, build_application
from bot.config import Settings
from botapi_standin import BotApiStandIn, SentMessage, SimChat, SimUser
from models import Database

RELATIVE: Final = 1001
ERZHAN: Final = 7001  # volunteer, Russian
OLGA: Final = 7002  # volunteer, English
STRANGER: Final = 9001
GROUP: Final = -100500


class Desk:
    """The bot, the stand-in and the people of a case."""

    def __init__(self, url: str, *, group: bool = True, volunteers: bool = True) -> None:
        self.url = url
        self.with_group = group
        self.with_volunteers = volunteers
        self.api = BotApiStandIn()
        self.db: Database | None = None
        self.app: AmanatApplication | None = None
        self._handled: set[int] = set()
        self._changed = asyncio.Event()
        self.relative = self.api.user(RELATIVE, "Алия", language_code="ru", username="aliya_private")
        self.erzhan = self.api.user(ERZHAN, "Ержан", language_code="ru", username="erzhan_v")
        self.olga = self.api.user(OLGA, "Olga", language_code="en", username="olga_v")
        self.stranger = self.api.user(STRANGER, "Someone", language_code="en")
        self.group: SimChat = self.api.group(
            GROUP, "Volunteers", members=[self.erzhan, self.olga, self.stranger]
        )

    def settings(self) -> Settings:
        roles = {
            "volunteers": [ERZHAN, OLGA] if self.with_volunteers else [],
            "volunteer_chat_id": GROUP if self.with_group else 0,
        }
        return Settings(database={"url": self.url}, roles=roles)  # type: ignore[arg-type]

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

    async def handled(self, update_ids: Iterable[int], timeout: float = 15.0) -> None:
        wanted = set(update_ids)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not wanted <= self._handled:
            self._changed.clear()
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"updates {wanted - self._handled} were not handled")
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                continue

    def chats(self) -> list[int]:
        return [RELATIVE, ERZHAN, OLGA, STRANGER, GROUP]

    async def act(self, *updates: Awaitable[int]) -> dict[int, list[SentMessage]]:
        """Queue the updates (all before any is handled), wait for them; the bot's messages per chat."""
        for chat in self.chats():
            self.api.new_messages(chat)
        ids = [await update for update in updates]
        await self.handled(ids)
        return {chat: self.api.new_messages(chat) for chat in self.chats()}

    async def say(self, user: SimUser, text: str, **kwargs: object) -> dict[int, list[SentMessage]]:
        return await self.act(self.api.send_text(user, text, **kwargs))  # type: ignore[arg-type]

    async def press(self, user: SimUser, message: SentMessage, caption: str) -> dict[int, list[SentMessage]]:
        return await self.act(self.api.press(user, message, caption))

    async def consented(self, user: SimUser) -> None:
        greeting = (await self.say(user, "/start"))[user.id][-1]
        await self.press(user, greeting, greeting.button_texts()[0])

    def toast(self, user: SimUser) -> str | None:
        toasts = self.api.toasts(user.id) + self.api.toasts(GROUP)
        mine = [t for t in toasts if t.user_id == user.id]
        return mine[-1].text if mine else None

    def failed_calls(self) -> list[str]:
        """Rejected Bot API calls (an edit that changes nothing is harmless: a card already up to date)."""
        return [
            f"{c.method}: {c.description}"
            for c in self.api.calls
            if not c.ok and c.method != "getUpdates" and "not modified" not in str(c.description)
        ]
