"""The harness of the web board's tests: the case tests' bot and people (tests/cases/cases_harness.py)
plus an administrator, and the bot's web server serving the board (``/board/``, ``/api/``) on a free
port, all against the real database and the Bot API stand-in over real HTTP.

``board.init_data(user)`` signs initData for a person as Telegram would for this bot;
``await board.call("GET", "/api/cases", user)`` asks the API as that person.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import aiohttp
from sqlalchemy import select

from bot.board.api import BoardApi
from bot.board.init_data import sign_init_data
from bot.config import Settings
from bot.jobs import register_board_stats
from bot.services.board_stats import refresh_snapshot
from bot.services.people import give_consent
from bot.web import WebServer
from botapi_standin import SimUser
from handlers.web_board import BoardActions
from models import Match, NotificationState, Reading, SearchRequest
from tests.amanat_process import free_port
from tests.cases.cases_harness import RELATIVE, Desk
from tests.stories.stories_harness import PDF, photo_bytes

ADMIN: Final = 8001
PUBLIC_URL: Final = "https://amanat.example.org/board/"


class BoardDesk(Desk):
    """The case desk with an administrator and the web board served."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.admin = self.api.user(ADMIN, "Айгүл", language_code="kk")
        self.web: WebServer | None = None
        self.port = 0
        self._storage = tempfile.TemporaryDirectory(prefix="amanat-board-stories-")
        self.storage = Path(self._storage.name)  # the memory book's files

    def settings(self) -> Settings:
        settings = super().settings()
        settings.roles.admins = [ADMIN]
        settings.web.public_url = PUBLIC_URL
        settings.stories.storage_dir = str(self.storage)
        return settings

    def chats(self) -> list[int]:
        return [*super().chats(), ADMIN]

    async def start(self) -> None:
        await super().start()
        assert self.app is not None and self.db is not None
        self.port = free_port()
        self.web = WebServer("127.0.0.1", self.port, checks={})
        self.web.add_routes(
            BoardApi(self.settings(), self.db, self.api.token, BoardActions(self.app)).install
        )
        assert await self.web.start()

    async def stop(self) -> None:
        if self.web is not None:
            await self.web.stop()
        await super().stop()
        self._storage.cleanup()

    async def refresh_stats(self) -> None:
        """Make the statistics snapshot now, as the bot's background job does (/api/stats serves it)."""
        assert self.db is not None
        assert await refresh_snapshot(self.db) is not None

    def run_stats_job(self, every: float) -> None:
        """Schedule the bot's own statistics job on the running bot, every ``every`` seconds from now."""
        assert self.app is not None and self.db is not None
        settings = self.settings()
        settings.web.stats_refresh_seconds = every
        register_board_stats(self.app, settings, self.db, first=0.0)

    async def stats_when(self, condition: Callable[[dict[str, Any]], bool], timeout: float = 20.0) -> Any:
        """The administrator's /api/stats answer once ``condition`` holds for it (asked again meanwhile)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            status, stats = await self.call("GET", "/api/stats", self.admin)
            assert status == 200
            if condition(stats):
                return stats
            if loop.time() > deadline:
                raise TimeoutError(f"the statistics never met the condition: {stats}")
            await asyncio.sleep(0.05)

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def init_data(self, user: SimUser, *, token: str | None = None, age: float = 0) -> str:
        fields: dict[str, Any] = {
            "query_id": f"q{user.id}",
            "user": {"id": user.id, "first_name": user.first_name, "language_code": user.language_code},
            "auth_date": int(time.time() - age),
        }
        return sign_init_data(fields, token or self.api.token)

    async def call(
        self,
        method: str,
        path: str,
        user: SimUser | None = None,
        *,
        json: Any = None,
        authorization: str | None = None,
    ) -> tuple[int, Any]:
        """(status, the JSON body or the text) of one request to the board's server."""
        headers = {}
        if authorization is not None:
            headers["Authorization"] = authorization
        elif user is not None:
            headers["Authorization"] = f"tma {self.init_data(user)}"
        async with (
            aiohttp.ClientSession() as session,
            session.request(
                method,
                self.web_url + path,
                headers=headers,
                json=json,
                timeout=aiohttp.ClientTimeout(total=30),
            ) as response,
        ):
            text = await response.text()
            if response.content_type == "application/json":
                return response.status, await response.json()
            return response.status, text

    async def fetch(self, path: str, user: SimUser | None) -> tuple[int, str, bytes]:
        """(status, content type, the bytes) of a GET, e.g. a story's file."""
        headers = {"Authorization": f"tma {self.init_data(user)}"} if user is not None else {}
        async with (
            aiohttp.ClientSession() as session,
            session.get(
                self.web_url + path, headers=headers, timeout=aiohttp.ClientTimeout(total=30)
            ) as response,
        ):
            return response.status, response.content_type, await response.read()


async def tell_story(
    board: BoardDesk, text: str = "Мой прадед ушёл на фронт в 1941 году из Туркестана."
) -> None:
    """The relative tells a story in the chat (/story: the text, a photo, a PDF, consent to publish without
    the family's name, Send): it waits for a volunteer, as story №1 for the first."""
    user = board.relative
    await board.consented(user)
    await board.say(user, "/search Легкодымов Емельян 1904")
    await board.say(user, "/story")
    await board.say(user, text)
    await board.act(board.api.send_photo(user, "Прадед в 1940 году", content=photo_bytes()))
    done = (await board.act(board.api.send_document(user, "письмо.pdf", PDF, mime_type="application/pdf")))[
        RELATIVE
    ]
    consent = (await board.press(user, done[-1], "✅ Готово"))[RELATIVE][-1]
    confirm = (await board.press(user, consent, consent.button_texts()[1]))[RELATIVE][-1]  # without the name
    sent = (await board.press(user, confirm, confirm.button_texts()[0]))[RELATIVE][-1]
    assert "№1" in sent.text, sent.text


async def record_matches(board: BoardDesk) -> list[int]:
    """Two recorded, unannounced matches of the relative's saved search (as a matching pass leaves them,
    below the announcing threshold), the likelier second; and one announced already (never reviewed)."""
    assert board.db is not None
    await give_consent(board.db, RELATIVE, "ru", first_name="Алия")
    async with board.db.session() as session:
        request = SearchRequest(person_id=RELATIVE, surname="Лехкодымов", name="Емельян", birth_year=1904)
        session.add(request)
        await session.flush()
        wanted = ["KZ-2019-0142", "KZ-2010-0342", "KZ-2015-6393"]
        readings = {
            r.reading_id: r.id
            for r in (await session.execute(select(Reading).where(Reading.reading_id.in_(wanted)))).scalars()
        }
        ids = []
        for reading_id, score, state in (
            ("KZ-2010-0342", 31.0, NotificationState.SKIPPED),
            ("KZ-2019-0142", 88.5, NotificationState.SKIPPED),
            ("KZ-2015-6393", 99.0, NotificationState.QUEUED),
        ):
            match = Match(
                request_id=request.id,
                reading_pk=readings[reading_id],
                score=score,
                reasons=[],
                notification=state,
            )
            session.add(match)
            await session.flush()
            ids.append(match.id)
    return ids[:2]
