"""/search step by step (Skip, Back, the summary and its edits), free text at once, and the results,
in Russian, Kazakh and English, through the real Application and the Bot API stand-in."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from dialogue_harness import Chat
from sqlalchemy import select

from bot.i18n import translator
from models import SearchRequest


@dataclass(frozen=True)
class Words:
    """What the user sees in one language (the catalogs' wording for the asserted bits)."""

    lang: str
    agree: str
    steps: tuple[str, ...]
    skip: str
    back: str
    cancel: str
    search: str
    summary_title: str
    year_error: str
    results_header: str
    found: str
    unit: str
    buried: str
    record: str
    record_title: str
    save: str
    saved: str
    nothing_fits: str
    nothing_fits_text: str
    new_search: str
    edit_year: str


RU = Words(
    "ru", "Согласен(на)",
    ("Фамилия?", "Имя?", "Отчество?", "Год рождения?", "Место рождения?", "Военкомат?"),
    "Пропустить ➡", "⬅ Назад", "✖ Отмена", "🔎 Искать", "Что известно о солдате:",
    "Солдаты той войны родились между 1860 и 1930 годами", "запись может быть о нём",
    "Найден: Калужская обл.", "Поисковый отряд: «Долг»",
    "Похоронен: перезахоронен в братской могиле", "📄 Запись 1", "Полная запись 1",
    "🔔 Сохранить поиск", "Сохранено.", "Это не он", "Мне жаль.", "Новый поиск", "✏ Год рождения",
)  # fmt: skip
KK = Words(
    "kk", "Келісемін",
    ("Тегі?", "Аты?", "Әкесінің аты?", "Туған жылы?", "Туған жері?", "Әскери комиссариат?"),
    "Өткізу ➡", "⬅ Артқа", "✖ Болдырмау", "🔎 Іздеу", "Жауынгер туралы белгілі мәліметтер:",
    "Сол соғыстың жауынгерлері 1860 және 1930 жылдар аралығында туған", "жазба, ең ықтималы",
    "Табылған жері: Калужская обл.", "Іздеу отряды: «Долг»",
    "Жерленген жері: перезахоронен в братской могиле", "📄 Жазба 1", "Толық жазба 1",
    "🔔 Іздеуді сақтау", "Сақталды.", "Ешқайсысы ол емес", "Өкінішті.", "Жаңа іздеу", "✏ Туған жылы",
)  # fmt: skip
EN = Words(
    "en", "I agree",
    ("Surname?", "First name?", "Patronymic", "Year of birth?", "Birthplace?", "Draft office?"),
    "Skip ➡", "⬅ Back", "✖ Cancel", "🔎 Search", "What we know about the soldier:",
    "Soldiers of that war were born between 1860 and 1930", "reading may be about him",
    "Found: Калужская обл.", "Search unit: «Долг»",
    "Buried: перезахоронен в братской могиле", "📄 Record 1", "Full record 1",
    "🔔 Save this search", "Saved.", "None of these is him", "I am sorry.", "New search", "✏ Year of birth",
)  # fmt: skip


LIKELIHOODS = {
    lang: {
        translator(lang).plain(f"likelihood.{band}")
        for band in ("very_likely", "likely", "possible", "unlikely")
    }
    for lang in ("ru", "kk", "en")
}


def likelihood_of_first(html: str, lang: str) -> str:
    """The score in words of the first result (the engine's exact verdict is the engine's business)."""
    match = re.search(r" — <i>([^<]+)</i>", html)
    assert match, html
    return match.group(1)


@pytest.mark.parametrize("words", [RU, KK, EN], ids=lambda w: w.lang)
async def test_whole_step_by_step_dialogue(chat: Chat, words: Words) -> None:
    user = chat.user(2000 + len(words.lang) + ord(words.lang[0]), words.lang)
    await chat.consented(user, words.agree)

    ask = chat.only(await chat.say(user, "/search"))
    assert words.steps[0] in ask.text and "1" in ask.text
    assert ask.button_texts() == [words.cancel]  # the surname cannot be skipped, there is nothing before it

    ask = chat.only(await chat.say(user, "Легкодымов"))
    assert words.steps[1] in ask.text
    assert ask.button_texts() == [words.skip, words.back, words.cancel]
    ask = chat.only(await chat.press(user, ask, words.back))  # Back to the surname…
    assert words.steps[0] in ask.text
    assert "<i>Легкодымов</i>" in ask.html  # the earlier answer is shown as the current value
    ask = chat.only(await chat.say(user, "Легкодымов"))  # …and forward again
    ask = chat.only(await chat.say(user, "Емельян"))
    assert words.steps[2] in ask.text
    ask = chat.only(await chat.press(user, ask, words.skip))  # no patronymic
    assert words.steps[3] in ask.text

    error = chat.only(await chat.say(user, "1950"))  # impossible year: explained, asked again
    assert words.year_error in error.text
    assert words.steps[3] in error.text
    ask = chat.only(await chat.say(user, "1903-1905"))
    assert words.steps[4] in ask.text
    ask = chat.only(await chat.press(user, ask, words.skip))
    assert words.steps[5] in ask.text
    summary = chat.only(await chat.press(user, ask, words.skip))

    assert words.summary_title in summary.text
    assert "Легкодымов" in summary.text and "Емельян" in summary.text and "1903–1905" in summary.text
    assert summary.button_texts()[0] == words.search
    assert words.cancel in summary.button_texts()

    ask = chat.only(await chat.press(user, summary, words.edit_year))  # edit one field from the summary
    assert words.steps[3] in ask.text and "1903–1905" in ask.text
    summary = chat.only(await chat.say(user, "1904"))
    assert words.summary_title in summary.text and "1904" in summary.text and "1903–1905" not in summary.text

    results = chat.only(await chat.press(user, summary, words.search))
    text = results.text
    assert words.results_header in text
    assert "1. Легкодымов (Лехкодымов) Емельян Тимофеевич" in text
    assert likelihood_of_first(results.html, words.lang) in LIKELIHOODS[words.lang]
    for expected in (words.found, "2019", words.unit, words.buried):
        assert expected in text
    assert "• " in text  # the reasons, one per line
    assert results.button_texts()[0] == words.record
    assert {words.nothing_fits, words.save, words.new_search} <= set(results.button_texts())
    assert not any("volunteer" in b.lower() or "волонт" in b.lower() for b in results.button_texts())

    record = chat.only(await chat.press(user, results, words.record))
    assert words.record_title in record.text and "KZ-2019-0142" in record.text
    assert "Сайрамский РВК" in record.text and "жена Легкодымова Мария Ивановна" in record.text

    sorry = chat.only(await chat.press(user, results, words.nothing_fits))
    assert words.nothing_fits_text in sorry.text
    saved = chat.only(await chat.press(user, sorry, words.save))
    assert words.saved in saved.text and "Легкодымов" in saved.text
    assert not chat.failed_calls()

    assert chat.db is not None
    async with chat.db.session() as session:
        [request] = (
            await session.scalars(select(SearchRequest).where(SearchRequest.person_id == user.id))
        ).all()
    assert (request.surname, request.name, request.birth_year, request.birth_year_to) == (
        "Легкодымов",
        "Емельян",
        1904,
        1904,
    )

    assert await chat.press(user, results, words.save) == []  # the same search again: only a toast
    toast = chat.last_toast(user)
    assert toast is not None and toast.text


async def test_free_text_search_at_once_in_any_case_form(chat: Chat) -> None:
    alia = chat.user(2101, "ru")
    await chat.consented(alia)
    results = chat.only(await chat.say(alia, "/search ищу Легкодымова Емельяна 1904 г.р."))
    assert "Легкодымов (Лехкодымов) Емельян" in results.text
    assert likelihood_of_first(results.html, "ru") in LIKELIHOODS["ru"]


async def test_free_text_in_latin_letters(chat: Chat) -> None:
    john = chat.user(2102, "en")
    await chat.consented(john)
    results = chat.only(await chat.say(john, "/search Emelyan Lekhkodymov 1904"))
    assert "Легкодымов (Лехкодымов) Емельян" in results.text
    assert "written in Latin letters" in results.text


async def test_free_text_with_an_impossible_year_explains_and_shows_the_summary(chat: Chat) -> None:
    alia = chat.user(2103, "ru")
    await chat.consented(alia)
    summary = chat.only(await chat.say(alia, "/search Легкодымов Емельян 1990"))
    assert "родились между 1860 и 1930" in summary.text
    assert "Что известно о солдате:" in summary.text and "Легкодымов" in summary.text


async def test_free_text_without_a_surname_goes_step_by_step(chat: Chat) -> None:
    alia = chat.user(2104, "ru")
    await chat.consented(alia)
    ask = chat.only(await chat.say(alia, "/search 1904"))
    assert "не нашёл фамилию" in ask.text and "Фамилия?" in ask.text


async def test_more_results_and_records_of_every_page(chat: Chat) -> None:
    alia = chat.user(2105, "ru")
    await chat.consented(alia)
    first = chat.only(await chat.say(alia, "/search Иванов"))
    assert first.text.count("\n\n") >= 2  # three results on the first page
    assert "Ещё результаты" in first.button_texts()
    second = chat.only(await chat.press(alia, first, "Ещё результаты"))
    assert second.text.startswith("Ещё результаты:")
    assert "4. " in second.text
    assert "📄 Запись 4" in second.button_texts()
    record = chat.only(await chat.press(alia, second, "📄 Запись 4"))
    assert record.text.startswith("Полная запись 4")
    record = chat.only(await chat.press(alia, first, "📄 Запись 1"))  # the first page's buttons still work
    assert record.text.startswith("Полная запись 1")


async def test_the_list_ends_where_the_evidence_ends(chat: Chat) -> None:
    """ "More" shows only readings with something in common, then says these are all and what to do next."""
    alia = chat.user(2108, "ru")
    await chat.consented(alia)
    first = chat.only(await chat.say(alia, "/search Құсайынов"))
    assert "Это все записи" not in first.text
    second = chat.only(await chat.press(alia, first, "Ещё результаты"))
    assert "4. Кусаин" in second.text
    assert "5. " not in second.text  # the sample holds four of them; nobody else pads the list
    assert "Это все записи, которые могут быть о нём." in second.text
    assert "Сохраните поиск — я сообщу, когда появится новая подходящая запись." in second.text
    assert "Ещё результаты" not in second.button_texts()
    assert "🔔 Сохранить поиск" in second.button_texts()


async def test_nothing_found_offers_to_save(chat: Chat) -> None:
    alia = chat.user(2106, "ru")
    await chat.consented(alia)
    none = chat.only(await chat.say(alia, "/search Ъыъыъыъ"))
    assert none.text.startswith("В реестре пока нет похожей записи.")
    assert none.button_texts() == ["🔔 Сохранить поиск", "Новый поиск"]
    saved = chat.only(await chat.press(alia, none, "🔔 Сохранить поиск"))
    assert saved.text.startswith("Сохранено.")
    ask = chat.only(await chat.press(alia, none, "Новый поиск"))  # not stale: same step
    assert "Фамилия?" in ask.text


async def test_cancel_leaves_any_step(chat: Chat) -> None:
    alia = chat.user(2107, "ru")
    await chat.consented(alia)
    await chat.say(alia, "/search")
    await chat.say(alia, "Легкодымов")
    done = chat.only(await chat.say(alia, "/cancel"))
    assert done.text.startswith("Отменено.")
    hint = chat.only(await chat.say(alia, "Емельян"))  # no longer inside the dialogue
    assert "/search" in hint.text
    nothing = chat.only(await chat.say(alia, "/cancel"))
    assert nothing.text.startswith("Отменять нечего.")
    ask = chat.only(await chat.say(alia, "/search"))
    summary_cancel = chat.only(await chat.press(alia, ask, "✖ Отмена"))
    assert summary_cancel.text.startswith("Отменено.")
