"""The dialogue on PostgreSQL (production's database): search, save, restart mid-dialogue, /my, /forget.

Skipped, with the reason, when AMANAT_TEST_POSTGRES_URL names no reachable server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from dialogue_harness import Chat

from bot.services.registry_import import import_file
from models import Database

SAMPLE_REGISTRY = Path(__file__).resolve().parents[2] / "bot" / "data" / "sample_registry.csv"


@pytest.fixture
async def pg_chat(postgres_url: str) -> AsyncIterator[Chat]:
    database = Database(postgres_url)
    try:
        await import_file(database, SAMPLE_REGISTRY)
    finally:
        await database.dispose()
    async with Chat(postgres_url) as harness:
        yield harness


async def test_dialogue_survives_a_restart_on_postgresql(pg_chat: Chat) -> None:
    chat = pg_chat
    user = chat.user(6001, "ru")
    await chat.consented(user)
    results = chat.only(await chat.say(user, "/search Легкодымова Емельяна 1904"))
    assert "Легкодымов (Лехкодымов) Емельян" in results.text
    chat.only(await chat.press(user, results, "🔔 Сохранить поиск"))
    await chat.say(user, "/search")
    await chat.say(user, "Кусаинов")
    await chat.restart()
    ask = chat.only(await chat.say(user, "Ахмет"))
    assert "Вопрос 3 из 6" in ask.text
    mine = chat.only(await chat.say(user, "/my"))
    assert mine.text.startswith("У вас 1 сохранённый поиск:")
    confirm = chat.only(await chat.say(user, "/forget"))
    done = chat.only(await chat.press(user, confirm, "Да, удалить всё"))
    assert done.text.startswith("Готово")
    assert not chat.failed_calls()
