"""The Bot API answers 500s or never answers: nothing the relative typed is lost, nothing is half-done.

A time-out is made by a small proxy between the bot and the stand-in that swallows one sendMessage
and never answers it, until the bot's HTTP client gives up (PTB's read time-out, 5 s by default).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from botapi_standin import BotApiStandIn
from tests.amanat_process import free_port
from tests.dialogue.dialogue_harness import Chat


@pytest.fixture
async def chat(sqlite_url: str) -> AsyncIterator[Chat]:
    async with Chat(sqlite_url) as harness:
        yield harness


async def test_a_reply_hit_by_one_500_still_arrives_and_the_answer_is_taken_once(chat: Chat) -> None:
    user = chat.user(5201, "en")
    await chat.consented(user)
    await chat.say(user, "/search")
    chat.only(await chat.say(user, "Legkodymov"))

    chat.api.fail_next(user.id, 500, methods={"sendMessage", "editMessageText"})
    asked = chat.only(await chat.say(user, "Emelyan"))  # the question is sent again, once
    assert "Question 3 of 6" in asked.text
    assert chat.failed_calls() == ["sendMessage: Internal Server Error"]
    asked = chat.only(await chat.say(user, "Timofeevich"))  # and the dialogue goes on from there
    assert "Question 4 of 6" in asked.text


async def test_a_reply_that_cannot_be_sent_is_not_followed_by_try_again(chat: Chat) -> None:
    user = chat.user(5203, "ru")
    await chat.consented(user)
    await chat.say(user, "/search")
    chat.only(await chat.say(user, "Легкодымов"))

    chat.api.fail_next(user.id, 500, times=2, methods={"sendMessage", "editMessageText"})
    told = chat.only(await chat.say(user, "Емельян"))
    # The name was stored (the step is written before replies): "try again" would make the relative
    # type it once more, and it would be taken as the patronymic.
    assert told.text == (
        "Ваш ответ получен, но мой ответ до вас не дошёл. "
        "Следующее ваше сообщение будет ответом на следующий вопрос."
    )
    asked = chat.only(await chat.say(user, "Тимофеевич"))
    assert "Вопрос 4 из 6" in asked.text


async def test_updates_are_not_lost_while_getupdates_fails(chat: Chat) -> None:
    user = chat.user(5202, "en")
    chat.api.fail_next(None, 500, times=2, methods={"getUpdates"})
    greeting = chat.only(await chat.say(user, "/start"))  # sent while polling fails: delivered after
    assert greeting.text.startswith("Hello! I am Amanat.")
    assert len([c for c in chat.api.calls_of("getUpdates") if c.status == 500]) == 2


class SwallowingProxy:
    """Forwards Bot API calls to the stand-in, but swallows sendMessage calls while ``swallowed`` is
    below ``swallow`` (raise it by one to take the next): never forwarded, never answered, so the
    request times out in the bot and nothing was delivered."""

    def __init__(self, target: str, swallow: int = 0) -> None:
        self.target = target
        self.swallow = swallow
        self.swallowed = 0
        self.port = free_port()
        self._never = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._client: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{path:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        self._client = aiohttp.ClientSession()

    async def stop(self) -> None:
        self._never.set()
        if self._client is not None:
            await self._client.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        if request.path.endswith("/sendMessage") and self.swallowed < self.swallow:
            self.swallowed += 1
            await self._never.wait()  # no answer: the bot's read time-out fires
            return web.Response(status=504)
        assert self._client is not None
        headers = {"Content-Type": request.headers.get("Content-Type", "application/json")}
        async with self._client.request(
            request.method, self.target + request.path_qs, data=body, headers=headers
        ) as response:
            return web.Response(
                status=response.status, body=await response.read(), content_type="application/json"
            )


class StandInBehindProxy(BotApiStandIn):
    """The stand-in, with the bot pointed at the proxy in front of it."""

    proxy_port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.proxy_port}/bot"


async def test_a_reply_that_times_out_is_sent_again_and_the_answer_taken_once(sqlite_url: str) -> None:
    chat = Chat(sqlite_url)
    api = StandInBehindProxy()
    chat.api = api
    await api.start()
    proxy = SwallowingProxy(f"http://127.0.0.1:{api.port}")
    api.proxy_port = proxy.port
    await proxy.start()
    try:
        await chat.start()
        user = chat.user(5204, "en")
        await chat.consented(user)
        await chat.say(user, "/search")
        chat.only(await chat.say(user, "Legkodymov"))
        proxy.swallow += 1  # the next sendMessage never gets an answer
        asked = chat.only(await chat.say(user, "Emelyan"))
        assert proxy.swallowed == 1
        assert "Question 3 of 6" in asked.text
        assert "Question 4 of 6" in chat.only(await chat.say(user, "Timofeevich")).text
    finally:
        await chat.stop()
        await proxy.stop()
