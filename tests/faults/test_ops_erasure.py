"""/forget on SQLite leaves no trace of the erased person in the database file or its write-ahead log."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.dialogue.dialogue_harness import Chat

NAME = "Зульфиягуль"
USERNAME = "zulfiyagul_handle"
SURNAME = "Шарипбаевщиков"
PATRONYMIC = "Кенжебекович"


@pytest.fixture
async def chat(sqlite_url: str) -> AsyncIterator[Chat]:
    async with Chat(sqlite_url) as harness:
        yield harness


def stored_bytes(url: str) -> bytes:
    path = Path(make_url(url).database or "")
    return b"".join(
        candidate.read_bytes()
        for candidate in (path, path.with_name(path.name + "-wal"))
        if candidate.exists()
    )


def traces(data: bytes) -> list[str]:
    words = (NAME, USERNAME)  # (the others searched for the same soldier, so his name stays)
    return [word for word in words for form in {word, word.lower()} if form.encode("utf-8") in data]


async def test_forget_leaves_nothing_in_the_database_file_or_the_wal(chat: Chat) -> None:
    user = chat.api.user(4101, NAME, language_code="en", username=USERNAME)
    others = [chat.api.user(4200 + n, f"Other{n}", language_code="en") for n in range(4)]
    for person in (others[0], others[1], user, others[2], others[3]):  # rows on both sides of hers
        await chat.consented(person)
        results = chat.only(await chat.say(person, f"/search {SURNAME} Емельян {PATRONYMIC} 1904"))
        saved = await chat.press(person, results, results.button_texts()[-2])
        assert any("saved" in message.text.lower() for message in saved), [m.text for m in saved]
    data = stored_bytes(chat.url)
    assert NAME.encode() in data and USERNAME.encode() in data, "stored before /forget"

    confirm = chat.only(await chat.say(user, "/forget"))
    done = chat.only(await chat.press(user, confirm, "Yes, erase everything"))
    assert done.text.startswith("Done: I have erased everything")

    assert traces(stored_bytes(chat.url)) == []
