"""A relative asks a person, end to end over HTTP: the case opens from the results, is posted to the
volunteers' group, one of two racing volunteers wins it, the conversation is relayed both ways (texts,
photos, documents) without either side seeing the other's username or id, it is closed with a note,
reopened by the relative, released, and every status change is in the audit trail."""

from __future__ import annotations

import logging

import pytest
from cases_harness import ERZHAN, GROUP, OLGA, RELATIVE, STRANGER, Desk

from bot.services import cases
from models import CaseStatus


async def open_case_from_results(desk: Desk) -> None:
    """The relative searches, presses "ask a volunteer" and writes their question."""
    await desk.consented(desk.relative)
    results = (await desk.say(desk.relative, "/search Легкодымов Емельян 1904"))[RELATIVE][-1]
    assert "🙋 Спросить волонтёра" in results.button_texts()
    prompt = (await desk.press(desk.relative, results, "🙋 Спросить волонтёра"))[RELATIVE][-1]
    assert "Вопрос волонтёрам" in prompt.text and "Легкодымов" in prompt.text


async def test_whole_case_lifecycle(desk: Desk) -> None:
    await open_case_from_results(desk)
    seen = await desk.say(desk.relative, "Это мой прадед, помогите связаться с отрядом")
    [opened] = seen[RELATIVE]
    assert "обращение №1" in opened.text
    [card] = seen[GROUP]
    assert "Обращение №1" in card.text and "Легкодымов Емельян" in card.text and "Алия" in card.text
    assert "помогите связаться" in card.text and "Легкодымов (Лехкодымов) Емельян" in card.text
    assert "aliya_private" not in card.text and str(RELATIVE) not in card.text
    assert card.button_texts() == ["✋ Взять"]

    # Two volunteers press Claim at the same moment: both updates are queued before either is handled.
    seen = await desk.act(
        desk.api.press(desk.erzhan, card, "✋ Взять"), desk.api.press(desk.olga, card, "✋ Взять")
    )
    assert desk.toast(desk.erzhan) == "Обращение №1 — ваше."
    assert desk.toast(desk.olga) == "Already taken by Ержан."
    assert seen[GROUP][-1].text.startswith("✅ Обращение №1 взял(а) Ержан")
    assert seen[GROUP][-1].buttons == ()
    [desk_card] = seen[ERZHAN]
    assert "Переписка" in desk_card.text and "помогите связаться" in desk_card.text
    assert seen[OLGA] == []
    [claimed_note] = seen[RELATIVE]
    assert "Волонтёр взял ваше обращение №1" in claimed_note.text and "Ержан" not in claimed_note.text

    # The volunteer answers by replying to the case message; the relative sees "a volunteer" only.
    seen = await desk.say(desk.erzhan, "Здравствуйте! Отряд «Долг» нашёл его в 2019.", reply_to=desk_card)
    [answer] = seen[RELATIVE]
    assert "Волонтёр" in answer.text and "Отряд «Долг» нашёл его" in answer.text
    assert "Ержан" not in answer.text and "erzhan_v" not in answer.text and str(ERZHAN) not in answer.html
    assert "Отправлено родственнику" in seen[ERZHAN][-1].text

    # The relative replies with a photo (copied, not forwarded) and then with Reply and a text.
    seen = await desk.act(desk.api.send_photo(desk.relative, caption="Его письмо с фронта", reply_to=answer))
    [photo] = seen[ERZHAN]
    assert photo.method == "copyMessage" and "Алия" in photo.text and "письмо с фронта" in photo.text
    assert "Отправлено волонтёру" in seen[RELATIVE][-1].text
    prompt = (await desk.press(desk.relative, answer, "✍️ Ответить"))[RELATIVE][-1]
    assert "Напишите сообщение для волонтёра" in prompt.text
    seen = await desk.say(desk.relative, "Спасибо огромное!")
    assert "Спасибо огромное!" in seen[ERZHAN][-1].text
    seen = await desk.act(
        desk.api.send_document(desk.erzhan, "acts.pdf", b"%PDF", caption="Акт", reply_to=seen[ERZHAN][-1])
    )
    assert seen[RELATIVE][-1].method == "copyMessage" and "Акт" in seen[RELATIVE][-1].text

    # Closed with a note: the card says so, the relative is told, and their reply reopens it.
    ask_note = (await desk.press(desk.erzhan, desk_card, "✔️ Закрыть"))[ERZHAN][-1]
    assert "заметку" in ask_note.text
    seen = await desk.say(desk.erzhan, "родственники нашлись, передали отряду")
    assert "Обращение №1 закрыто" in seen[ERZHAN][-1].text
    assert seen[GROUP][-1].text.startswith("☑️ Обращение №1 закрыто")
    [closed] = seen[RELATIVE]
    assert "закрыто" in closed.text
    seen = await desk.say(desk.relative, "Ещё вопрос про захоронение", reply_to=closed)
    assert "снова открыто" in seen[ERZHAN][-1].text

    # Released: back on the board with Claim.
    release_from = desk.api.messages(ERZHAN)
    fresh_desk = [m for m in release_from if "↩️ Вернуть" in m.button_texts()][-1]
    seen = await desk.press(desk.erzhan, fresh_desk, "↩️ Вернуть")
    assert seen[GROUP][-1].button_texts() == ["✋ Взять"]

    assert desk.db is not None
    trail = await cases.case_events(desk.db, 1)
    assert [(e.from_status, e.to_status) for e in trail] == [
        (None, "new"),
        ("new", "claimed"),
        ("claimed", "answered"),
        ("answered", "claimed"),
        ("claimed", "answered"),
        ("answered", "closed"),
        ("closed", "claimed"),
        ("claimed", "new"),
    ]
    closing = trail[5]
    assert closing.actor_id == ERZHAN and closing.note == "родственники нашлись, передали отряду"
    stored = await cases.get_case(desk.db, 1)
    assert stored is not None and stored.status == CaseStatus.NEW and stored.volunteer_id is None
    assert desk.failed_calls() == []


async def test_strangers_and_forged_buttons_are_refused_and_logged(
    desk: Desk, caplog: pytest.LogCaptureFixture
) -> None:
    await open_case_from_results(desk)
    card = (await desk.say(desk.relative, "Помогите"))[GROUP][-1]
    caplog.set_level(logging.INFO)

    seen = await desk.press(desk.stranger, card, "✋ Взять")
    assert desk.toast(desk.stranger) == "Only volunteers can do this."
    assert seen[GROUP] == [] and seen[STRANGER] == []
    seen = await desk.act(desk.api.press_data(desk.olga, card.message_id, "cs:c:424242", chat=desk.group))
    assert desk.toast(desk.olga) == "This case no longer exists."
    seen = await desk.act(desk.api.press_data(desk.olga, card.message_id, "cs:c:1:x", chat=desk.group))
    assert desk.toast(desk.olga) == "I don't understand this button."
    assert seen[GROUP] == []
    assert desk.db is not None
    stored = await cases.get_case(desk.db, 1)
    assert stored is not None and stored.status == CaseStatus.NEW

    refusals = [
        r.getMessage()
        for r in caplog.records
        if "refused" in r.getMessage() or "unknown case" in r.getMessage()
    ]
    assert any(str(STRANGER) in line for line in refusals), refusals
    assert len(refusals) >= 3
    for record in caplog.records:  # ids only: never a name or a message text
        text = record.getMessage()
        assert "Someone" not in text and "Алия" not in text and "Помогите" not in text


async def test_a_relative_who_blocked_the_bot_is_marked_and_the_volunteer_told(desk: Desk) -> None:
    await open_case_from_results(desk)
    card = (await desk.say(desk.relative, "Помогите"))[GROUP][-1]
    seen = await desk.press(desk.erzhan, card, "✋ Взять")
    desk_card = seen[ERZHAN][-1]
    await desk.api.block(desk.relative, notify=False)
    seen = await desk.say(desk.erzhan, "Нашли!", reply_to=desk_card)
    assert "заблокировал бота" in seen[ERZHAN][-1].text
    assert desk.db is not None
    stored = await cases.get_case(desk.db, 1)
    assert stored is not None and stored.relative_active is False


async def test_without_a_group_each_volunteer_gets_the_case_privately(private_desk: Desk) -> None:
    desk = private_desk
    await desk.consented(desk.relative)
    prompt = (await desk.say(desk.relative, "/ask"))[RELATIVE][-1]
    assert "Вопрос волонтёрам" in prompt.text
    seen = await desk.say(desk.relative, "Ищу деда, Кусаинов")
    [to_erzhan], [to_olga] = seen[ERZHAN], seen[OLGA]
    # The bot does not know a volunteer's language before they used it: the default (Russian) first.
    assert "Обращение №1" in to_erzhan.text and "Обращение №1" in to_olga.text
    assert "Солдат: не указан" in to_olga.text
    seen = await desk.press(desk.olga, to_olga, "✋ Взять")
    assert "взял(а) Olga" in desk.api.messages(ERZHAN)[-1].text
    assert "Conversation" in seen[OLGA][-1].text  # from her first press on, in her language


async def test_a_case_opens_from_my_and_with_ask_text(desk: Desk) -> None:
    await desk.consented(desk.relative)
    results = (await desk.say(desk.relative, "/search Кусаинов 1915"))[RELATIVE][-1]
    await desk.press(desk.relative, results, "🔔 Сохранить поиск")
    await desk.say(desk.relative, "/cancel")
    mine = (await desk.say(desk.relative, "/my"))[RELATIVE][-1]
    prompt = (await desk.press(desk.relative, mine, "🙋 Спросить о 1"))[RELATIVE][-1]
    assert "Кусаинов" in prompt.text
    cancelled = (await desk.press(desk.relative, prompt, "✖️ Отмена"))[RELATIVE][-1]
    assert "ничего не отправлено" in cancelled.text
    seen = await desk.say(desk.relative, "Просто текст")  # not a case any more: the dialogue answers
    assert seen[GROUP] == [] and seen[RELATIVE]

    prompt = (await desk.press(desk.relative, mine, "🙋 Спросить о 1"))[RELATIVE][-1]
    seen = await desk.say(desk.relative, "Есть ли новости?")
    assert "обращение №1" in seen[RELATIVE][-1].text
    assert "Кусаинов" in seen[GROUP][-1].text

    seen = await desk.say(desk.relative, "/ask Помогите прочитать медальон")
    assert "обращение №2" in seen[RELATIVE][-1].text
    assert "Помогите прочитать медальон" in seen[GROUP][-1].text
    assert desk.db is not None
    second = await cases.get_case(desk.db, 2)
    assert second is not None and second.source == "ask" and second.search.get("surname")
    first = await cases.get_case(desk.db, 1)
    assert first is not None and first.source == "my"


async def test_ask_is_offered_only_when_someone_can_answer(desk: Desk, lonely_desk: Desk) -> None:
    scope = {"type": "all_private_chats"}
    assert "ask" in {c["command"] for c in desk.api.commands(scope, "ru")}
    assert "ask" not in {c["command"] for c in lonely_desk.api.commands(scope, "ru")}
    await lonely_desk.consented(lonely_desk.relative)
    results = (await lonely_desk.say(lonely_desk.relative, "/search Легкодымов Емельян 1904"))[RELATIVE][-1]
    assert not any(text.startswith("🙋") for text in results.button_texts())
    answer = (await lonely_desk.say(lonely_desk.relative, "/ask Помогите"))[RELATIVE][-1]
    assert answer.text.startswith("Через этого бота пока не отвечают волонтёры.")
    assert lonely_desk.db is not None
    assert await cases.open_cases_of(lonely_desk.db, RELATIVE) == []
