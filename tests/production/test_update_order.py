"""Concurrency across chats, order within a chat (handlers/update_order.py), over HTTP on PostgreSQL.

A relative's step is made slow the way production makes it slow: a second database connection holds a lock
on their dialogue's row, so writing their step waits. Meanwhile another person's /start must be answered,
and the slow relative's next message must wait for the first (and see the state it left).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from tests.dialogue.dialogue_harness import Chat


@pytest.fixture
async def pg_chat(postgres_url: str) -> AsyncIterator[Chat]:
    harness = Chat(postgres_url)
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()


async def lock_waiters(connection: AsyncConnection) -> int:
    """Sessions of this database waiting for a lock (the slow relative's step, once it reached the lock)."""
    result = await connection.execute(
        text(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
    )
    return int(result.scalar_one())


async def until_a_step_waits_for_the_lock(connection: AsyncConnection) -> None:
    for _ in range(600):  # a guard against a hang, not a timing: the condition is what is awaited
        if await lock_waiters(connection) > 0:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the slow relative's step never reached the held lock")


async def test_a_locked_relative_holds_up_only_their_own_chat(pg_chat: Chat, postgres_url: str) -> None:
    chat = pg_chat
    slow, other = chat.user(7001, "ru"), chat.user(7002, "ru")
    await chat.consented(slow)
    assert "Вопрос 1 из 6" in chat.only(await chat.say(slow, "/search")).text

    engine = create_async_engine(postgres_url)
    try:
        async with engine.connect() as locker, engine.connect() as observer:
            await locker.execute(
                text("SELECT 1 FROM dialogue_states WHERE user_id = :user FOR UPDATE"), {"user": slow.id}
            )
            await chat.api.send_text(slow, "Кусаинов")  # writing this step waits for the lock
            await chat.api.send_text(slow, "Ахмет")  # must wait for the step before it
            await until_a_step_waits_for_the_lock(observer)

            await chat.api.send_text(other, "/start")
            greeting = (await chat.api.wait_for_messages(other.id, timeout=30))[0]
            assert greeting.button_texts()  # the consent question, answered while the lock is still held
            assert chat.api.new_messages(slow.id) == []  # the slow relative's step is still waiting

            await locker.rollback()  # the lock is gone: the slow relative's two steps go on, in order
        first, second = await chat.api.wait_for_messages(slow.id, count=2, timeout=30)
    finally:
        await engine.dispose()
    assert "Вопрос 2 из 6" in first.text  # the surname was taken
    assert "Вопрос 3 из 6" in second.text  # the name came after it, on the state the surname left
    assert not chat.failed_calls()
