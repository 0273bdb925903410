"""The harness of the dialogue tests: the real bot over real HTTP against a BotApiStandIn.

:class:`Chat` starts the stand-in and the real Application from ``bot.app`` on a real database.
``await chat.say(user, "/start")`` sends a message and returns exactly the bot's messages written while
handling it (the Application reports when an update is fully handled, so there are no sleeps);
``await chat.press(user, message, "Skip ➡")`` presses a button; ``await chat.restart()`` stops the
Application and builds a new one on a new connection to the same database (a process restart).
"""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from bot.app import AmanatApplication, RegistryOpener, build_application
from bot.config import Settings
from botapi_standin import BotApiStandIn, SentMessage, SimUser, Toast
from handlers.turn import Features
from models import Database


def make_settings(url: str) -> Settings:
    """Settings for tests: the given database, the defaults for everything else."""
    return Settings(database={"url": url})  # type: ignore[arg-type]


class Chat:
    """Drives the real Application through the stand-in, one update at a time."""

    def __init__(
        self, url: str, features: Features | None = None, open_registry: RegistryOpener | None = None
    ) -> None:
        self.url = url
        self.features = features
        self.open_registry = open_registry  # None: the keys table; open_registry_index: as `amanat run`
        self.api = BotApiStandIn()
        self.db: Database | None = None
        self.app: AmanatApplication | None = None
        self._handled: set[int] = set()
        self._changed = asyncio.Event()

    async def start(self) -> None:
        if not self.api.running:
            await self.api.start()
        await self._start_app()

    async def _start_app(self) -> None:
        self.db = Database(self.url)
        settings = make_settings(self.url)
        app = build_application(
            settings,
            self.db,
            token=self.api.token,
            base_url=self.api.base_url,
            base_file_url=self.api.base_file_url,
            features=self.features,
            open_registry=self.open_registry,
        )
        app.update_listeners.append(self._on_handled)
        await app.begin_polling(poll_interval=0, timeout=1)
        self.app = app

    def _on_handled(self, update: object) -> None:
        update_id = getattr(update, "update_id", None)
        if isinstance(update_id, int):
            self._handled.add(update_id)
            self._changed.set()

    async def _stop_app(self) -> None:
        if self.app is not None:
            await self.app.end_polling()
            self.app = None
        if self.db is not None:
            await self.db.dispose()
            self.db = None

    async def restart(self) -> None:
        """Stop the Application and build a new one on a new connection to the same database."""
        await self._stop_app()
        await self._start_app()

    async def stop(self) -> None:
        await self._stop_app()
        await self.api.stop()

    async def __aenter__(self) -> Chat:
        """`async with Chat(url) as chat:` starts the bot and stops it after the block, however it ends."""
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()

    async def count(self, model: type) -> int:
        """How many rows of `model` the bot has stored (to check what is kept, and what is not)."""
        assert self.db is not None
        async with self.db.session() as session:
            return int(await session.scalar(select(func.count()).select_from(model)) or 0)

    def user(
        self, user_id: int = 1001, language_code: str | None = "ru", first_name: str = "Алия"
    ) -> SimUser:
        return self.api.user(user_id, first_name, language_code=language_code)

    async def handled(self, update_id: int, timeout: float = 10.0) -> None:
        """Wait until the Application has fully handled the update."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while update_id not in self._handled:
            self._changed.clear()
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"update {update_id} was not handled within {timeout}s")
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                continue

    async def say(self, user: SimUser, text: str) -> list[SentMessage]:
        """Send text as ``user``; the bot's messages (and edits) written while handling it."""
        self.api.new_messages(user.id)
        update_id = await self.api.send_text(user, text)
        await self.handled(update_id)
        return self.api.new_messages(user.id)

    async def send(self, user: SimUser, kind: str, **kwargs: object) -> list[SentMessage]:
        """Send a sticker / photo / voice / document as ``user``."""
        self.api.new_messages(user.id)
        sender = getattr(self.api, f"send_{kind}")
        update_id = await sender(user, **kwargs)
        await self.handled(update_id)
        return self.api.new_messages(user.id)

    async def press(self, user: SimUser, message: SentMessage, button: str) -> list[SentMessage]:
        """Press a button (by caption) of one of the bot's messages."""
        self.api.new_messages(user.id)
        update_id = await self.api.press(user, message, button)
        await self.handled(update_id)
        return self.api.new_messages(user.id)

    async def press_data(self, user: SimUser, message_id: int, data: str) -> list[SentMessage]:
        """Send a callback query with arbitrary (forged or stale) data."""
        self.api.new_messages(user.id)
        update_id = await self.api.press_data(user, message_id, data)
        await self.handled(update_id)
        return self.api.new_messages(user.id)

    @staticmethod
    def only(messages: list[SentMessage]) -> SentMessage:
        """The single message of a reply (fails with what came instead)."""
        assert len(messages) == 1, [m.text for m in messages]
        return messages[0]

    async def consented(self, user: SimUser, agree: str | None = None) -> None:
        """/start and agree (in the user's Telegram language) so the dialogue can begin."""
        greeting = self.only(await self.say(user, "/start"))
        await self.press(user, greeting, agree or greeting.button_texts()[0])

    def failed_calls(self) -> list[str]:
        """Bot API calls the stand-in rejected (bad HTML, too long, bad buttons…)."""
        return [
            f"{c.method}: {c.description}" for c in self.api.calls if not c.ok and c.method != "getUpdates"
        ]

    def last_toast(self, user: SimUser) -> Toast | None:
        toasts = self.api.toasts(user.id)
        return toasts[-1] if toasts else None
