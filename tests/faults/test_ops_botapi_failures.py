"""The Bot API answers 500s: nothing the relative typed is lost, and nothing is half-done.

(A time-out reaches the bot as PTB's ``TimedOut``, a ``NetworkError`` like a 500's, and takes the
same path through the error handler.)
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.dialogue.dialogue_harness import Chat


@pytest.fixture
async def chat(sqlite_url: str) -> AsyncIterator[Chat]:
    harness = Chat(sqlite_url)
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()


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
