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
