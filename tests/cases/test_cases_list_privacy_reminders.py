"""/cases for volunteers (paged, with open / claim / release / close), /forget with an open case, a relative
who blocks the bot, and the reminder job, over HTTP against the stand-in."""

from __future__ import annotations

from datetime import timedelta

from cases_harness import ERZHAN, GROUP, OLGA, RELATIVE, STRANGER, Desk
from sqlalchemy import select, update

from bot.services import cases
from handlers.cases import send_reminders
from handlers.turn import AmanatContext
from models import Case, CaseEvent, CaseMessage, CaseStatus
from models.base import utcnow


async def ask(desk: Desk, text: str) -> int:
    """The relative opens a case with /ask; its number."""
    seen = await desk.say(desk.relative, f"/ask {text}")
    assert desk.db is not None
    newest = (await cases.list_cases(desk.db, 0, limit=100))[0]
    assert "обращение №" in seen[RELATIVE][-1].text
    return max(case.id for case in newest)


async def test_cases_lists_pages_and_acts(desk: Desk) -> None:
    await desk.consented(desk.relative)
    await desk.say(desk.relative, "/search Легкодымов Емельян 1904")
    for number in range(7):
        await ask(desk, f"Вопрос {number}")

    refused = await desk.say(desk.stranger, "/cases")
    assert refused[STRANGER][-1].text == "Only volunteers can do this."

    first = (await desk.say(desk.erzhan, "/cases"))[ERZHAN][-1]
    assert first.text.startswith("7 открытых обращений")
    assert "№1" in first.text and "№5" in first.text and "№6" not in first.text
    assert "Страница 1 из 2" in first.text
    second = (await desk.press(desk.erzhan, first, "Дальше ▶️"))[ERZHAN][-1]
    assert second.message_id == first.message_id and "№6" in second.text and "№7" in second.text

    seen = await desk.press(desk.erzhan, second, "✋ Взять №6")
    assert seen[GROUP][-1].text.startswith("✅ Обращение №6 взял(а) Ержан")
    mine = (await desk.say(desk.erzhan, "/cases"))[ERZHAN][-1]
    assert mine.button_texts()[:3] == ["📂 №6", "↩️ Вернуть №6", "✔️ Закрыть №6"]  # their own first
    opened = (await desk.press(desk.erzhan, mine, "📂 №6"))[ERZHAN][-1]
    assert "Вопрос 5" in opened.text and "Легкодымов" in opened.text

    note = (await desk.press(desk.erzhan, mine, "✔️ Закрыть №6"))[ERZHAN][-1]
    seen = await desk.press(desk.erzhan, note, "✔️ Закрыть без заметки")
    assert "Обращение №6 закрыто" in seen[ERZHAN][-1].text
    after = (await desk.say(desk.erzhan, "/cases"))[ERZHAN][-1]
    assert after.text.startswith("6 открытых обращений") and "№6 " not in after.text


async def test_forget_with_an_open_case_withdraws_it(desk: Desk) -> None:
    await desk.consented(desk.relative)
    card = (await desk.say(desk.relative, "/ask Мой дед Кусаинов, помогите"))[GROUP][-1]
    desk_card = (await desk.press(desk.erzhan, card, "✋ Взять"))[ERZHAN][-1]
    answer = (await desk.say(desk.erzhan, "Расскажите больше", reply_to=desk_card))[RELATIVE][-1]
    relayed = (await desk.say(desk.relative, "Он родился в Чимкенте, тайна семьи", reply_to=answer))[ERZHAN][
        -1
    ]
    assert "тайна семьи" in relayed.text

    confirm = (await desk.say(desk.relative, "/forget"))[RELATIVE][-1]
    seen = await desk.press(desk.relative, confirm, confirm.button_texts()[0])
    assert any("отозвал обращение" in m.text for m in seen[ERZHAN])
    assert not any("тайна семьи" in m.text for m in desk.api.messages(ERZHAN))  # the copy is deleted
    assert desk.api.messages(GROUP)[-1].text.startswith("☑️ Обращение №1 закрыто")
    assert "Алия" not in desk.api.messages(ERZHAN)[0].text  # the working copy no longer names her

    assert desk.db is not None
    async with desk.db.session() as session:
        assert (await session.execute(select(Case))).scalars().all() == []
        assert (await session.execute(select(CaseMessage))).scalars().all() == []
        trail = (await session.execute(select(CaseEvent).order_by(CaseEvent.id))).scalars().all()
    assert [(e.from_status, e.to_status, e.note) for e in trail][-1] == ("claimed", "closed", "withdrawn")
    assert RELATIVE not in {e.actor_id for e in trail}


async def test_a_relative_blocking_the_bot_is_told_to_the_claimer(desk: Desk) -> None:
    await desk.consented(desk.relative)
    card = (await desk.say(desk.relative, "/ask Помогите"))[GROUP][-1]
    await desk.press(desk.olga, card, "✋ Взять")
    seen = await desk.act(desk.api.block(desk.relative))  # type: ignore[arg-type]
    assert "blocked the bot" in seen[OLGA][-1].text
    assert desk.db is not None
    stored = await cases.get_case(desk.db, 1)
    assert stored is not None and not stored.relative_active


async def backdate(desk: Desk, case_id: int, hours: float) -> None:
    assert desk.db is not None
    async with desk.db.session() as session:
        await session.execute(
            update(Case).where(Case.id == case_id).values(waiting_since=utcnow() - timedelta(hours=hours))
        )


async def test_a_reminder_fires_once_per_period(desk: Desk) -> None:
    assert desk.app is not None
    context = AmanatContext(desk.app)  # what the JobQueue passes to the job
    await desk.consented(desk.relative)
    await desk.say(desk.relative, "/ask Никто не берёт?")
    card = desk.api.messages(GROUP)[-1]
    second = (await desk.say(desk.relative, "/ask Второй вопрос"))[GROUP][-1]
    desk_card = (await desk.press(desk.erzhan, second, "✋ Взять"))[ERZHAN][-1]
    answer = (await desk.say(desk.erzhan, "Уточните год", reply_to=desk_card))[RELATIVE][-1]
    await desk.say(desk.relative, "1915", reply_to=answer)  # now waiting for Ержан's answer
    desk.api.new_messages(GROUP), desk.api.new_messages(ERZHAN)

    assert await send_reminders(context) == 0  # nothing has waited a day yet
    await backdate(desk, 1, 25)
    await backdate(desk, 2, 25)
    assert await send_reminders(context) == 2
    assert await send_reminders(context) == 0  # once per period, never flooded
    reposted = desk.api.new_messages(GROUP)
    assert len(reposted) == 1 and reposted[0].text.startswith("⏰ Всё ещё ждёт волонтёра")
    assert reposted[0].message_id != card.message_id and reposted[0].button_texts() == ["✋ Взять"]
    [reminder] = desk.api.new_messages(ERZHAN)
    assert "Обращение №2 ждёт вашего ответа" in reminder.text

    assert desk.db is not None  # a period later it may remind again, once
    async with desk.db.session() as session:
        await session.execute(
            update(Case).where(Case.id == 1).values(reminded_at=utcnow() - timedelta(hours=25))
        )
    assert await send_reminders(context) == 1
    stored = await cases.get_case(desk.db, 1)
    assert stored is not None and stored.status == CaseStatus.NEW


async def test_a_card_that_failed_to_post_reaches_the_volunteers_later_and_once(desk: Desk) -> None:
    """Telegram fails while the case opens: the relative still gets its number (and does not ask twice),
    and the cases job posts the card a minute later, once, even when it runs again."""
    assert desk.app is not None and desk.db is not None
    context = AmanatContext(desk.app)
    await desk.consented(desk.relative)
    desk.api.fail_next(GROUP, 500)
    seen = await desk.say(desk.relative, "/ask Ищу деда, помогите")
    assert "обращение №1" in seen[RELATIVE][-1].text
    assert not seen.get(GROUP)

    assert await send_reminders(context) == 0  # a case opening right now is not "unposted" yet
    async with desk.db.session() as session:
        await session.execute(
            update(Case).where(Case.id == 1).values(created_at=utcnow() - timedelta(minutes=2))
        )
    assert await send_reminders(context) == 1
    [card] = desk.api.new_messages(GROUP)
    assert "№1" in card.text and card.button_texts() == ["✋ Взять"]
    assert not card.text.startswith("⏰")  # its first posting, not a reminder
    assert await send_reminders(context) == 0
    assert desk.api.new_messages(GROUP) == []
    taken = await desk.press(desk.erzhan, card, "✋ Взять")
    assert "Ержан" in taken[GROUP][-1].text
