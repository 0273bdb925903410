"""The database goes away while the bot runs: the relative is asked to try again shortly, in their
language, nothing claims a save, and the bot recovers by itself when the database is back.

On PostgreSQL the database is taken away for real: new connections are refused
(``ALLOW_CONNECTIONS false``) and the bot's open connections are terminated, as a restart or fail-over
of the server does. Then connections are allowed again, and the same bot (no restart) goes on.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from tests.dialogue.dialogue_harness import Chat

TRY_AGAIN = {
    "ru": "Сейчас я не могу ничего сохранить. Попробуйте ещё раз чуть позже",
    "kk": "Қазір ештеңені сақтай алмаймын. Сәл кейінірек қайталап көріңіз",
    "en": "I cannot save anything right now. Please try again shortly",
}
SAVE_CLAIMS = ("сохранен", "сақтал", "saved")


@pytest.fixture
async def chat(postgres_url: str) -> AsyncIterator[Chat]:
    async with Chat(postgres_url) as harness:
        yield harness


async def set_database_away(url: str, away: bool) -> None:
    """Refuse (or allow again) connections to the database of ``url``, and end the open ones."""
    name = make_url(url).database
    admin = create_async_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.execute(
                text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {"false" if away else "true"}')
            )
            if away:
                await connection.execute(
                    text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"),
                    {"name": name},
                )
    finally:
        await admin.dispose()


@pytest.mark.parametrize("lang", ["ru", "kk", "en"])
async def test_the_database_away_then_back(chat: Chat, lang: str) -> None:
    user = chat.user(5101, lang)
    await chat.consented(user)
    await chat.say(user, "/search")
    second = chat.only(await chat.say(user, "Легкодымов"))  # question 2: the surname is stored

    await set_database_away(chat.url, True)
    try:
        for attempt in ("Емельян", "/my"):
            sorry = chat.only(await chat.say(user, attempt))
            assert sorry.text.startswith(TRY_AGAIN[lang]), sorry.text
        pressed = await chat.press(user, second, second.button_texts()[0])  # a button, too
        assert [m.text[: len(TRY_AGAIN[lang])] for m in pressed] == [TRY_AGAIN[lang]]
        assert chat.api.unanswered_callbacks() == []
    finally:
        await set_database_away(chat.url, False)

    # Back, without a restart: the dialogue is where it was before the outage (the name not taken).
    third = chat.only(await chat.say(user, "Емельян"))
    assert third.text != second.text and "3" in third.text
    everything = [m.text.lower() for m in chat.api.messages(user.id)]
    claims = [text for text in everything if any(claim in text for claim in SAVE_CLAIMS)]
    assert not any("ответы" in text or "жауаптар" in text or "answers" in text for text in claims)
