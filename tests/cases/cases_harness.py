"""The harness of the case tests: the real bot over real HTTP against a BotApiStandIn, with the people
a case involves — a relative, two volunteers (in the configuration), a stranger, and the volunteers' group.

``await desk.act(desk.api.press(...))`` queues an update, waits until the Application has handled it (it
reports each handled update, so nothing sleeps), and returns what the bot wrote to each chat meanwhile.
"""

from __future__ import annotations

from typing import Final

from bot.config import Settings
from botapi_standin import SentMessage, SimChat, SimUser
from tests.bot_harness import BotHarness

RELATIVE: Final = 1001
ERZHAN: Final = 7001  # volunteer, Russian
OLGA: Final = 7002  # volunteer, English
STRANGER: Final = 9001
GROUP: Final = -100500


class Desk(BotHarness):
    """The bot, the stand-in and the people of a case."""

    def __init__(self, url: str, *, group: bool = True, volunteers: bool = True) -> None:
        super().__init__(url)
        self.with_group = group
        self.with_volunteers = volunteers
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

    def chats(self) -> list[int]:
        return [RELATIVE, ERZHAN, OLGA, STRANGER, GROUP]

    async def say(self, user: SimUser, text: str, **kwargs: object) -> dict[int, list[SentMessage]]:
        return await self.act(self.api.send_text(user, text, **kwargs))  # type: ignore[arg-type]

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
