"""One error handler: a failure inside a step is logged without the token, the user is told in their
language, and the dialogue stays where it was (the state is written only after a step succeeds)."""

from __future__ import annotations

import logging

import pytest
from dialogue_harness import Chat

from bot.services.registry_search import StoredRegistry


async def test_a_failing_search_is_reported_kindly_and_changes_nothing(
    chat: Chat, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    user = chat.user(5001, "kk")
    await chat.consented(user)
    await chat.say(user, "/search")
    await chat.say(user, "Легкодымов")
    ask = chat.api.last_message(user.id)
    for _ in range(5):
        ask = chat.only(await chat.press(user, ask, "Өткізу ➡"))
    summary = ask

    async def broken(*args: object, **kwargs: object) -> list[object]:
        raise RuntimeError(f"database exploded near {chat.api.token}")

    monkeypatch.setattr(StoredRegistry, "search", broken)
    with caplog.at_level(logging.ERROR):
        sorry = chat.only(await chat.press(user, summary, "🔎 Іздеу"))
    assert sorry.text.startswith("Кешіріңіз, менің тарапымда қате шықты.")
    assert "database exploded" in caplog.text
    assert chat.api.token not in caplog.text
    assert chat.api.unanswered_callbacks() == []

    monkeypatch.undo()
    results = chat.only(await chat.press(user, summary, "🔎 Іздеу"))  # the summary's button still works
    assert "Легкодымов (Лехкодымов)" in results.text


async def test_the_error_reply_is_in_the_language_the_person_chose_not_telegrams(
    chat: Chat, caplog: pytest.LogCaptureFixture
) -> None:
    user = chat.user(5002, "en")  # Telegram says English…
    greeting = chat.only(await chat.say(user, "/start"))
    choice = chat.only(await chat.press(user, greeting, "🌐 Language"))
    kazakh = chat.only(await chat.press(user, choice, "Қазақша"))
    await chat.press(user, kazakh, "Келісемін")  # …but they chose Kazakh
    results = await chat.say(user, "/search Легкодымов Емельян 1904")
    assert chat.db is not None
    async with chat.db.engine.begin() as connection:  # the database refuses the next saved search
        await connection.exec_driver_sql(
            "CREATE TRIGGER refuse_saving BEFORE INSERT ON search_requests "
            "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
        )
    with caplog.at_level(logging.ERROR):
        sorry = chat.only(await chat.press(user, results[-1], "🔔 Іздеуді сақтау"))
    assert sorry.text.startswith("Кешіріңіз, менің тарапымда қате шықты.")
    assert "refused by the test" in caplog.text
    assert chat.api.unanswered_callbacks() == []
