"""Telegram's limits belong to the bot token: two bots (two processes' worth: own connections, own limiter)
share one sending budget through PostgreSQL or Redis, and together never trip the stand-in's flood control
(30 messages a second, Telegram's published limit). Replies go before background sends."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio
from telegram.ext import ExtBot

from bot.services.send_budget import DatabaseBudget, Priority, RedisBudget, SendBudget
from botapi_standin import BotApiStandIn, FloodLimits
from handlers.rate_limiter import BACKGROUND, REPLY, SharedRateLimiter
from models import Database

REDIS_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture
async def api() -> AsyncIterator[BotApiStandIn]:
    async with BotApiStandIn(flood_limits=FloodLimits()) as stand_in:
        yield stand_in


async def redis_reachable() -> bool:
    client = redis.asyncio.Redis.from_url(REDIS_URL)
    try:
        return bool(await asyncio.wait_for(client.ping(), 2))
    except Exception:
        return False
    finally:
        await client.aclose()


@pytest.fixture(params=["postgresql", "redis"])
async def budgets(request: pytest.FixtureRequest, postgres_url: str) -> AsyncIterator[list[SendBudget]]:
    """Two budgets with one shared state, as two processes would open them (each its own connections)."""
    if request.param == "redis":
        if not await redis_reachable():
            pytest.skip(f"no Redis at {REDIS_URL}")
        name = f"test-{uuid.uuid4().hex}"
        yield [RedisBudget(REDIS_URL, 20, 30, 5, name=name) for _ in range(2)]
        return
    databases = [Database(postgres_url), Database(postgres_url)]
    try:
        yield [DatabaseBudget(db, 20, 30, 5) for db in databases]
    finally:
        for db in databases:
            await db.dispose()


def bot_on(api: BotApiStandIn, budget: SendBudget) -> ExtBot[None]:
    return ExtBot(api.token, base_url=api.base_url, rate_limiter=SharedRateLimiter(budget, max_retries=0))


async def send_all(bot: ExtBot[None], chat_ids: list[int], text: str, priority: Priority) -> None:
    await asyncio.gather(*(bot.send_message(chat_id, text, rate_limit_args=priority) for chat_id in chat_ids))


async def test_two_processes_share_one_budget_and_never_see_a_429(
    api: BotApiStandIn, budgets: list[SendBudget]
) -> None:
    chats = [api.user(9000 + n, f"user{n}").id for n in range(150)]
    first, second = (bot_on(api, budget) for budget in budgets)
    async with first, second:
        await asyncio.gather(
            send_all(first, chats[:75], "from the first process", BACKGROUND),
            send_all(second, chats[75:], "from the second process", REPLY),
        )
    rejected = [call for call in api.calls if not call.ok]
    assert rejected == [], [call.description for call in rejected[:3]]
    assert all(len(api.messages(chat_id)) == 1 for chat_id in chats)


async def test_replies_go_before_background_sends(api: BotApiStandIn, budgets: list[SendBudget]) -> None:
    chats = [api.user(9500 + n, f"user{n}").id for n in range(80)]
    background, replies = chats[:70], chats[70:]
    first, second = (bot_on(api, budget) for budget in budgets)
    async with first, second:
        await asyncio.gather(
            send_all(first, background, "a notification", BACKGROUND),
            send_all(second, replies, "a reply", REPLY),
        )
    sent = [
        call.params.get("chat_id") for call in api.calls if call.method.lower() == "sendmessage" and call.ok
    ]
    last_reply = max(sent.index(chat_id) for chat_id in replies)
    last_background = max(sent.index(chat_id) for chat_id in background)
    assert last_reply < last_background  # the replies did not queue behind 70 notifications
    assert [call for call in api.calls if not call.ok] == []
