"""Per-user flood control (handlers/flood.py) over HTTP: 100 messages at once are slowed, told once, in the
person's language; somebody else writing at the same time notices nothing; the flooder is served again
as soon as they wait for answers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.i18n import translator
from tests.dialogue.dialogue_harness import Chat


@pytest.fixture
async def chat(sqlite_url: str) -> AsyncIterator[Chat]:
    harness = Chat(sqlite_url)
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()


@pytest.mark.parametrize("lang", ["ru", "kk", "en"])
async def test_a_hundred_messages_at_once_are_slowed_and_told_once(chat: Chat, lang: str) -> None:
    flooder, other = chat.user(8001, lang), chat.user(8002, "ru")
    await chat.consented(flooder)
    notice = translator(lang).plain("flood.slow_down")
    chat.api.new_messages(flooder.id)

    last = 0
    for _ in range(100):  # queued before the bot's next getUpdates: they arrive together
        last = await chat.api.send_text(flooder, "Иванов")
    other_start = await chat.api.send_text(other, "/start")
    await chat.handled(last, timeout=60)
    await chat.handled(other_start, timeout=60)

    answers = [message.text for message in chat.api.new_messages(flooder.id)]
    assert answers.count(notice) == 1, answers  # told once, in their language
    assert len(answers) <= 11, answers  # a few answered (the backlog allowed), the rest dropped
    greeting = chat.only(chat.api.new_messages(other.id))
    assert greeting.button_texts()  # the other person got their greeting, and nothing about a flood
    assert translator("ru").plain("flood.slow_down") not in greeting.text

    again = await chat.say(flooder, "/my")  # waiting for answers again: served, no notice
    assert again and all(message.text != notice for message in again)
    assert not chat.failed_calls()
