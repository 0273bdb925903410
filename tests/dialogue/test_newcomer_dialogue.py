"""What a newcomer met in the relative's dialogue (issue 17, items 1–5, 8, 9), made right; the console's
items (6, 7) are tested in test_console.py."""

from __future__ import annotations

from dialogue_harness import Chat

from models import DialogueState, Person

# ------------------------------------------------------------------ 1. a plain message is searched


async def test_a_plain_message_that_reads_as_a_description_is_searched(chat: Chat) -> None:
    user = chat.user(6001, "en")
    await chat.consented(user)
    results = chat.only(await chat.say(user, "Lekhkodymov Emelyan 1904"))
    assert "1. Легкодымов (Лехкодымов) Емельян Тимофеевич" in results.text
    assert "To search, send /search" not in results.text


async def test_a_plain_message_that_may_be_a_description_asks_first(chat: Chat) -> None:
    user = chat.user(6002, "ru")
    await chat.consented(user)
    ask = chat.only(await chat.say(user, "Кусаинов"))
    assert ask.text == "Искать солдата «Кусаинов»?"
    results = chat.only(await chat.press(user, ask, "🔎 Да, искать"))
    assert "Кусаинов" in results.text.splitlines()[2]

    await chat.say(user, "/cancel")
    ask = chat.only(await chat.say(user, "Спасибо"))
    hint = chat.only(await chat.press(user, ask, "Нет"))
    assert hint.text.startswith("Чтобы искать, отправьте /search")


# ------------------------------------------------------------------ 2. what was typed before consent


async def test_the_language_and_the_search_asked_before_consent_go_on_after_it(chat: Chat) -> None:
    user = chat.user(6003, "ru")
    greeting = chat.only(await chat.say(user, "/start"))
    choice = chat.only(await chat.press(user, greeting, "🌐 Язык"))
    chat.only(await chat.press(user, choice, "English"))
    again = chat.only(await chat.say(user, "/search Легкодымов Емельян 1904"))
    assert again.text.startswith("Hello! I am Amanat.")  # the language picked is kept…
    assert await chat.count(Person) == 0  # …in memory: nothing is stored before consent
    assert await chat.count(DialogueState) == 0

    thanks, results = await chat.press(user, again, "I agree")
    assert thanks.text.startswith("Thank you.")
    assert "1. Легкодымов (Лехкодымов) Емельян Тимофеевич" in results.text
    assert "reading may be about him" in results.text  # in English


# ------------------------------------------------------------------ 3. Skip keeps, Clear clears


async def test_skip_while_editing_keeps_the_value_and_clear_empties_it(chat: Chat) -> None:
    user = chat.user(6004, "ru")
    await chat.consented(user)
    await chat.say(user, "/search")
    ask = chat.only(await chat.say(user, "Легкодымов"))
    ask = chat.only(await chat.press(user, ask, "Пропустить ➡"))
    ask = chat.only(await chat.press(user, ask, "Пропустить ➡"))
    ask = chat.only(await chat.say(user, "1903-1905"))
    ask = chat.only(await chat.press(user, ask, "Пропустить ➡"))
    summary = chat.only(await chat.press(user, ask, "Пропустить ➡"))
    assert "1903–1905" in summary.text

    ask = chat.only(await chat.press(user, summary, "✏ Год рождения"))
    assert "1903–1905" in ask.text
    summary = chat.only(await chat.press(user, ask, "Пропустить ➡"))
    assert "1903–1905" in summary.text  # skipped: kept

    ask = chat.only(await chat.press(user, summary, "✏ Год рождения"))
    summary = chat.only(await chat.press(user, ask, "🧹 Очистить"))
    assert "1903–1905" not in summary.text  # cleared: its own button


# ------------------------------------------------------------------ 4. /my


async def test_my_shows_only_what_is_known_and_delete_is_last_and_asks_first(chat: Chat) -> None:
    user = chat.user(6005, "en")
    await chat.consented(user)
    results = chat.only(await chat.say(user, "/search Lekhkodymov Emelyan 1904"))
    await chat.press(user, results, "🔔 Save this search")
    mine = chat.only(await chat.say(user, "/my"))
    assert "1. Lekhkodymov Emelyan, b. 1904\n" in mine.text
    assert "not given" not in mine.text
    assert mine.button_texts()[-1] == "🗑 Delete 1"  # last

    confirm = chat.only(await chat.press(user, mine, "🗑 Delete 1"))
    assert confirm.text.startswith("Delete this saved search?")
    kept = chat.only(await chat.press(user, confirm, "No, keep it"))
    assert "1. Lekhkodymov Emelyan, b. 1904" in kept.text  # nothing deleted without a yes


# ------------------------------------------------------------------ 5. reasons: typed and read


async def test_reasons_say_what_was_typed_and_what_the_medallion_says(chat: Chat) -> None:
    user = chat.user(6006, "en")
    await chat.consented(user)
    latin = chat.only(await chat.say(user, "/search Lekhkodymov Emelyan 1904"))
    assert "name: Emelyan ≈ Емельян" in latin.text
    assert "name as given: Емельян" not in latin.text
    assert "Search unit: «Долг»" in latin.text

    await chat.say(user, "/cancel")
    cyrillic = chat.only(await chat.say(user, "/search Легкодымов Емельян 1904"))
    assert "surname as given: Легкодымов\n" in cyrillic.text  # as typed, not the reading's two spellings
    assert "name as given: Емельян" in cyrillic.text


# ------------------------------------------------------------------ 8. a stale button: said once


async def test_a_stale_button_is_announced_once(chat: Chat) -> None:
    user = chat.user(6008, "en")
    await chat.consented(user)
    first = chat.only(await chat.say(user, "/search"))
    chat.only(await chat.say(user, "Легкодымов"))
    reply = chat.only(await chat.press(user, first, "✖ Cancel"))
    toast = chat.last_toast(user)
    said = [reply.text] + ([toast.text] if toast is not None and toast.text else [])
    assert sum("earlier message" in text for text in said) == 1


# ------------------------------------------------------------------ 9. /language after /my


async def test_language_after_my_does_not_point_to_the_results(chat: Chat) -> None:
    user = chat.user(6009, "ru")
    await chat.consented(user)
    await chat.say(user, "/search Легкодымов Емельян 1904")  # the results: the dialogue is at RESULTS
    await chat.say(user, "/my")
    choice = chat.only(await chat.say(user, "/language"))
    changed = chat.only(await chat.press(user, choice, "English"))
    assert changed.text == "I will speak English now."
    assert "results are above" not in changed.text

    await chat.say(user, "/search Легкодымов Емельян 1904")  # right after the results it still says so
    choice = chat.only(await chat.say(user, "/language"))
    replies = await chat.press(user, choice, "Русский")
    assert any("Результаты" in message.text for message in replies)
