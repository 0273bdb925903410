"""A restart mid-dialogue loses nothing; /my lists and deletes saved searches; /forget erases everything."""

from __future__ import annotations

import pytest
from dialogue_harness import Chat
from sqlalchemy import func, select

from models import Case, DialogueState, Person, SearchRequest
from models.base import utcnow


async def rows(chat: Chat, model: type, **where: object) -> int:
    assert chat.db is not None
    query = select(func.count()).select_from(model)
    for column, value in where.items():
        query = query.where(getattr(model, column) == value)
    async with chat.db.session() as session:
        return int(await session.scalar(query) or 0)


async def test_restart_mid_dialogue_continues_at_the_same_step(chat: Chat) -> None:
    user = chat.user(4001, "kk")
    await chat.consented(user)
    await chat.say(user, "/search")
    await chat.say(user, "Легкодымов")
    ask = chat.only(await chat.say(user, "Емельян"))
    assert "Әкесінің аты?" in ask.text

    await chat.restart()  # a new Application on a new connection to the same database

    ask = chat.only(await chat.say(user, "Тимофеевич"))  # taken as the patronymic
    assert "Туған жылы?" in ask.text
    await chat.restart()
    ask = chat.only(await chat.press(user, ask, "Өткізу ➡"))  # a button sent before the restart still works
    assert "Туған жері?" in ask.text
    for _ in range(2):
        summary = chat.only(await chat.press(user, ask, "Өткізу ➡"))
        ask = summary
    assert "Легкодымов" in summary.text and "Тимофеевич" in summary.text
    await chat.restart()
    results = chat.only(await chat.press(user, summary, "🔎 Іздеу"))
    assert "Легкодымов (Лехкодымов) Емельян" in results.text
    await chat.restart()
    record = chat.only(await chat.press(user, results, "📄 Жазба 1"))
    assert "KZ-2019-0142" in record.text
    assert not chat.failed_calls()


async def test_state_is_written_on_every_step_not_at_shutdown(chat: Chat) -> None:
    user = chat.user(4002, "ru")
    await chat.consented(user)
    await chat.say(user, "/search")
    await chat.say(user, "Легкодымов")
    assert chat.db is not None
    async with chat.db.session() as session:  # read while the bot is still running: already there
        state = await session.get(DialogueState, ("relative", user.id, user.id))
    assert state is not None and state.state == "ask_name"
    assert state.data["q"] == {"surname": "Легкодымов"}


async def test_my_lists_saved_searches_and_deletes_one(chat: Chat) -> None:
    user = chat.user(4003, "ru")
    await chat.consented(user)
    empty = chat.only(await chat.say(user, "/my"))
    assert empty.text.startswith("Сохранённых поисков нет.")
    for query in ("/search Легкодымов Емельян 1904", "/search Кусаинов 1912"):
        results = chat.only(await chat.say(user, query))
        chat.only(await chat.press(user, results, "🔔 Сохранить поиск"))
    mine = chat.only(await chat.say(user, "/my"))
    assert mine.text.splitlines()[0] == "У вас 2 сохранённых поиска:"
    assert "1. Легкодымов Емельян, 1904 г. р.\n" in mine.text  # only what is known
    assert "2. Кусаинов, 1912 г. р.\n" in mine.text
    assert {"🗑 Удалить 1", "🗑 Удалить 2"} <= set(mine.button_texts())

    confirm = chat.only(await chat.press(user, mine, "🗑 Удалить 1"))  # asks first
    assert confirm.text.startswith("Удалить этот сохранённый поиск?")
    after = await chat.press(user, confirm, "🗑 Да, удалить")
    edited = chat.only(after)
    assert edited.edited and edited.message_id == mine.message_id  # the list is updated in place
    assert edited.text.splitlines()[0] == "У вас 1 сохранённый поиск:"
    assert "Легкодымов" not in edited.text
    toast = chat.last_toast(user)
    assert toast is not None and toast.text == "Удалено."
    assert await rows(chat, SearchRequest, person_id=user.id) == 1
    await chat.press_data(user, mine.message_id, confirm.button("🗑 Да, удалить").callback_data or "")  # again
    toast = chat.last_toast(user)
    assert toast is not None and toast.text == "Этого поиска уже нет."


async def test_forget_erases_all_personal_data_after_confirmation(chat: Chat) -> None:
    user = chat.user(4004, "en")
    other = chat.user(4005, "en")
    for person in (user, other):
        await chat.consented(person)
        results = chat.only(await chat.say(person, "/search Легкодымов Емельян 1904"))
        await chat.press(person, results, "🔔 Save this search")
    assert chat.db is not None
    async with chat.db.session() as session:
        session.add(Case(person_id=user.id, summary="Легкодымов", created_at=utcnow()))
    await chat.say(user, "/search")  # leave a dialogue half-way

    confirm = chat.only(await chat.say(user, "/forget"))
    assert confirm.text.startswith("Erase everything I keep about you")
    kept = chat.only(await chat.press(user, confirm, "No, keep it"))
    assert kept.text == "Nothing was erased."
    assert await rows(chat, Person, id=user.id) == 1

    confirm = chat.only(await chat.say(user, "/forget"))
    done = chat.only(await chat.press(user, confirm, "Yes, erase everything"))
    assert done.text.startswith("Done: I have erased everything")
    assert await rows(chat, Person, id=user.id) == 0
    assert await rows(chat, SearchRequest, person_id=user.id) == 0
    assert await rows(chat, Case, person_id=user.id) == 0
    assert await rows(chat, DialogueState, user_id=user.id) == 0
    # someone else's data is untouched
    assert await rows(chat, Person, id=other.id) == 1
    assert await rows(chat, SearchRequest, person_id=other.id) == 1

    again = chat.only(await chat.say(user, "/search"))  # a stranger again: consent first
    assert again.text.startswith("Hello! I am Amanat.")
    assert await rows(chat, DialogueState, user_id=user.id) == 0


@pytest.mark.parametrize(
    "lang,title", [("ru", "У вас 1 сохранённый поиск:"), ("kk", "Сізде 1 сақталған іздеу бар:")]
)
async def test_my_in_other_languages(chat: Chat, lang: str, title: str) -> None:
    user = chat.user(4010 + len(title), lang)
    await chat.consented(user)
    results = chat.only(await chat.say(user, "/search Легкодымов Емельян 1904"))
    save = results.button_texts()[-2]
    await chat.press(user, results, save)
    mine = chat.only(await chat.say(user, "/my"))
    assert mine.text.splitlines()[0] == title
