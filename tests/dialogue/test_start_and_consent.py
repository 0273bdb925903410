"""/start in the user's language (or a choice), the consent before anything is stored, /language, /help."""

from __future__ import annotations

from dialogue_harness import Chat

from botapi_standin import BotApiStandIn
from models import DialogueState, Person


async def test_start_greets_in_russian_and_stores_nothing_before_consent(chat: Chat) -> None:
    alia = chat.user(1001, "ru")
    greeting = chat.only(await chat.say(alia, "/start"))
    assert greeting.text.startswith("Здравствуйте! Я — Аманат.")
    assert "пропавших без вести" in greeting.text
    assert "/forget удаляет всё" in greeting.text
    assert greeting.button_texts() == ["Согласен(на)", "Нет, спасибо", "🌐 Язык"]
    await chat.say(alia, "/search Иванов")  # not allowed yet: the greeting again
    await chat.say(alia, "Иванов Иван")
    assert await chat.count(Person) == 0
    assert await chat.count(DialogueState) == 0

    thanks, results = await chat.press(alia, greeting, "Согласен(на)")
    assert thanks.text.startswith("Спасибо.")
    assert "Иванов" in results.text  # what was asked before consent goes on now (kept in memory only)
    assert await chat.count(Person) == 1
    assert not chat.failed_calls()


async def test_start_in_kazakh_and_english(chat: Chat) -> None:
    aigul = chat.user(1002, "kk")
    greeting = chat.only(await chat.say(aigul, "/start"))
    assert greeting.text.startswith("Сәлеметсіз бе! Мен — Аманат.")
    assert "хабарсыз кеткен" in greeting.text
    assert greeting.button_texts()[0] == "Келісемін"
    john = chat.user(1003, "en-GB")
    greeting = chat.only(await chat.say(john, "/start"))
    assert greeting.text.startswith("Hello! I am Amanat.")
    assert greeting.button_texts() == ["I agree", "No, thanks", "🌐 Language"]


async def test_unknown_language_gets_a_choice_and_the_choice_is_kept_in_the_consent_button(
    chat: Chat,
) -> None:
    hans = chat.user(1004, "de")
    choice = chat.only(await chat.say(hans, "/start"))
    assert choice.text.splitlines() == ["Выберите язык", "Тілді таңдаңыз", "Choose your language"]
    assert choice.button_texts() == ["Русский", "Қазақша", "English"]
    greeting = chat.only(await chat.press(hans, choice, "Қазақша"))
    assert greeting.text.startswith("Сәлеметсіз бе!")
    assert await chat.count(Person) == 0
    thanks = chat.only(await chat.press(hans, greeting, "Келісемін"))
    assert thanks.text.startswith("Рақмет.")
    ask = chat.only(await chat.say(hans, "/search"))
    assert "Тегі?" in ask.text


async def test_declining_stores_nothing_and_offers_to_agree_later(chat: Chat) -> None:
    alia = chat.user(1005, "ru")
    greeting = chat.only(await chat.say(alia, "/start"))
    declined = chat.only(await chat.press(alia, greeting, "Нет, спасибо"))
    assert "ничего не сохранил" in declined.text
    assert declined.button_texts() == ["Согласен(на)"]
    assert await chat.count(Person) == 0
    thanks = chat.only(await chat.press(alia, declined, "Согласен(на)"))
    assert thanks.text.startswith("Спасибо.")


async def test_language_switch_mid_dialogue_repeats_the_question_in_the_new_language(chat: Chat) -> None:
    alia = chat.user(1006, "ru")
    await chat.consented(alia)
    await chat.say(alia, "/search")
    await chat.say(alia, "Легкодымов")
    choice = chat.only(await chat.say(alia, "/language"))
    replies = await chat.press(alia, choice, "English")
    assert [m.text.splitlines()[0] for m in replies] == ["I will speak English now.", "Question 2 of 6"]
    assert "First name?" in replies[1].text
    assert replies[1].button_texts() == ["Skip ➡", "⬅ Back", "✖ Cancel"]
    nxt = chat.only(await chat.say(alia, "Емельян"))
    assert "Patronymic" in nxt.text  # the dialogue went on, in English
    again = chat.only(await chat.say(alia, "/start"))
    assert again.text.startswith("Welcome back to Amanat.")


async def test_help_in_each_language(chat: Chat) -> None:
    for user_id, lang, title in [
        (1011, "ru", "Что я умею"),
        (1012, "kk", "Мен не істей аламын"),
        (1013, "en", "What I can do"),
    ]:
        user = chat.user(user_id, lang)
        await chat.consented(user)
        text = chat.only(await chat.say(user, "/help")).text
        assert text.startswith(title)
        for command in ("/search", "/my", "/language", "/forget", "/cancel"):
            assert command in text


async def test_command_menus_are_set_per_language(chat: Chat) -> None:
    api: BotApiStandIn = chat.api
    scope = {"type": "all_private_chats"}
    russian = {c["command"]: c["description"] for c in api.commands(scope, "ru")}
    kazakh = {c["command"]: c["description"] for c in api.commands(scope, "kk")}
    english = {c["command"]: c["description"] for c in api.commands(scope, "en")}
    assert russian["search"] == "Найти солдата"
    assert kazakh["search"] == "Жауынгерді іздеу"
    assert english["forget"] == "Erase my data"
    assert (
        set(russian)
        == set(kazakh)
        == set(english)
        == {"search", "my", "language", "help", "forget", "cancel", "start"}
    )
    assert api.commands(scope, "")  # the default menu for other languages
