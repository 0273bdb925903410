"""/appeal in the chat: an administrator's guided form to a sent appeal; everyone else is refused.

The real Application polls the Bot API stand-in over HTTP; the form's state is in the database.
"""

from __future__ import annotations

from pathlib import Path

from appeal_scenario import (
    ADMIN,
    FOUND,
    appeal_to_all,
    delivery_states,
    import_registry,
    received,
    until,
    users,
)

from bot.services.broadcast import appeal_progress, send_appeal
from bot.services.people import give_consent
from bot.services.saved_searches import SearchFields, save_request
from botapi_standin import BotApiStandIn, SentMessage
from models import AppealStatus
from tests.running_bot import RunningBot


async def reply(api: BotApiStandIn, chat_id: int, count: int = 1) -> list[SentMessage]:
    return await api.wait_for_messages(chat_id, count)


async def test_an_administrator_fills_the_form_and_the_appeal_goes_to_the_chosen_language(
    running: RunningBot,
) -> None:
    api, db = running.api, running.db
    admin = api.user(ADMIN, "Админ", language_code="en")
    everyone = await users(api, db, 90_000, 9)  # ru, kk, en in turn
    kazakh = everyone[1::3]

    await api.send_text(admin, "/appeal")
    [ask] = await reply(api, ADMIN)
    assert ask.text.startswith("📣 A new appeal. Whom do we seek?")
    await api.send_text(admin, "Легкодымов Емельян, 1904, Южно-Казахстанская обл.")
    [ask] = await reply(api, ADMIN)
    assert ask.text.startswith("The appeal's text (up to 1000 characters)")
    await api.send_text(admin, "я" * 1001)
    [refused] = await reply(api, ADMIN)
    assert refused.text == "The text has 1001 characters; at most 1000, please shorten it."
    await api.send_text(admin, "Найден в 2019 году в Калужской области, Мосальский район.")
    [ask] = await reply(api, ADMIN)
    assert ask.button_texts() == ["Skip", "✖️ Cancel"]
    await api.press(admin, ask, "Skip")
    [ask] = await reply(api, ADMIN)
    assert ask.text == "Whom should the appeal go to?"
    await api.press(admin, ask, "Kazakh")

    preview, confirm = await reply(api, ADMIN, 2)
    assert preview.text.startswith(
        "👁 As readers of Kazakh will see it (3)\n\n🕯 Іздеушілер жауынгердің туыстарын"
    )
    assert "Легкодымов Емельян, 1904 ж. т., Южно-Казахстанская обл." in preview.text
    assert confirm.text == "Appeal #1: 3 recipients. Send it?"
    assert sum(received(api, everyone).values()) == 0  # nothing is sent before Send
    await api.press(admin, confirm, "📣 Send")

    async def done() -> bool:
        return (await appeal_progress(db, 1)).status == AppealStatus.DONE

    await until(done, "the appeal was sent")
    counts = received(api, everyone)
    assert [counts[person_id] for person_id in everyone] == [0, 1, 0] * 3
    assert all(counts[person_id] == 1 for person_id in kazakh)

    async def progress_done() -> bool:
        return "done" in api.messages(ADMIN)[-1].text.split("\n")[0]

    await until(progress_done, "the confirmation became the final progress message")
    final = api.messages(ADMIN)[-1]
    assert final.message_id == confirm.message_id
    assert "Sent 3, blocked the bot 0, failed 0, left 0 of 3" in final.text


async def test_the_soldier_comes_from_the_registry_record(running: RunningBot, tmp_path: Path) -> None:
    api, db = running.api, running.db
    admin = api.user(ADMIN, "Админ", language_code="ru")
    await give_consent(db, ADMIN, "ru")
    await import_registry(db, tmp_path / "found.csv", FOUND)

    await api.send_text(admin, "/appeal KZ-2019-0001")
    found, ask = await reply(api, ADMIN, 2)
    assert (
        found.text
        == "Солдат из реестра: Легкодымов (Лехкодымов) Емельян Тимофеевич, 1904 г. р., Южно-Казахстанская обл."
    )
    assert ask.text.startswith("Текст обращения (до 1000 знаков)")
    await api.press(admin, ask, "✖️ Отменить")
    [cancelled] = await reply(api, ADMIN)
    assert cancelled.text == "Обращение отменено, ничего не отправлено."
    await api.send_text(admin, "Лехкодымов")  # the form is closed: this is a relative's search again
    [answer] = await reply(api, ADMIN)
    assert not answer.text.startswith("Текст обращения")


async def test_a_non_administrator_is_refused_and_forged_appeal_buttons_change_nothing(
    running: RunningBot,
) -> None:
    api, db = running.api, running.db
    stranger = api.user(555, "Чужой", language_code="ru")
    await give_consent(db, 555, "ru")
    await users(api, db, 95_000, 3)
    appeal_id = await appeal_to_all(db)

    await api.send_text(stranger, "/appeal")
    [refused] = await reply(api, 555)
    assert refused.text == "Это доступно только администраторам."
    for forged in (f"aps:{appeal_id}:y", "apf:all", f"apc:{appeal_id}:cancel"):
        await api.press_data(stranger, refused.message_id, forged)

    async def answered() -> bool:
        return len(api.toasts(555)) == 3

    await until(answered, "every press was answered")
    assert {toast.text for toast in api.toasts(555)} == {"Это доступно только администраторам."}
    assert (await appeal_progress(db, appeal_id)).status == AppealStatus.DRAFT
    assert await delivery_states(db, appeal_id) == {}


async def test_the_form_takes_a_region_and_the_previews_cancel_sends_nothing(running: RunningBot) -> None:
    api, db = running.api, running.db
    admin = api.user(ADMIN, "Админ", language_code="en")
    south, elsewhere = await users(api, db, 93_000, 2)
    await save_request(db, south, SearchFields(surname="Кусаинов", birthplace="Южно-Казахстанская обл."))
    await save_request(db, elsewhere, SearchFields(surname="Иванов", birthplace="Тверская губ."))

    await api.send_text(admin, "/appeal")
    await reply(api, ADMIN)
    await api.send_text(admin, "Кусаинов Жумабай, 1914")
    await reply(api, ADMIN)
    await api.send_text(admin, "Ищем родных.")
    [ask] = await reply(api, ADMIN)
    await api.press(admin, ask, "Skip")
    [ask] = await reply(api, ADMIN)
    await api.press(admin, ask, "By region…")
    [ask] = await reply(api, ADMIN)
    assert ask.text.startswith("Write the region, as in 1941 or as today")
    await api.send_text(admin, "Атлантида")
    [refused] = await reply(api, ADMIN)
    assert refused.text == "I do not know the region Атлантида. Please write it another way."
    await api.send_text(admin, "Туркестанская")  # today's name of the region the search gives as of 1941
    preview, confirm = await reply(api, ADMIN, 2)
    assert preview.text.startswith("👁 As readers of Russian will see it (1)")
    assert confirm.text == "Appeal #1: 1 recipients. Send it?"

    await api.press(admin, confirm, "✖️ Cancel")
    [cancelled] = await reply(api, ADMIN)
    assert (cancelled.message_id, cancelled.text) == (
        confirm.message_id,
        "The appeal is cancelled; nothing was sent.",
    )
    assert (await appeal_progress(db, 1)).status == AppealStatus.CANCELLED
    assert await delivery_states(db, 1) == {}
    assert sum(received(api, [south, elsewhere]).values()) == 0


async def test_cancel_on_the_progress_message_stops_the_broadcast(running: RunningBot) -> None:
    api, db = running.api, running.db
    admin = api.user(ADMIN, "Админ", language_code="ru")  # the appeal's author reads the default language
    everyone = await users(api, db, 94_000, 300)  # 10 s at 30/s: the press comes long before the end
    appeal_id = await appeal_to_all(db)
    await send_appeal(db, appeal_id)

    async def shown() -> bool:
        return any(m.text.startswith("📣") for m in api.messages(ADMIN))

    await until(shown, "the progress message appeared")
    [progress] = [m for m in api.messages(ADMIN) if m.text.startswith("📣")]
    await api.press(admin, progress, "✖️ Отменить")

    async def cancelled() -> bool:
        [latest] = [m for m in api.messages(ADMIN) if m.text.startswith("📣")]
        return "отменено" in latest.text.split("\n")[0]

    await until(cancelled, "the progress message says cancelled")
    assert api.toasts(ADMIN)[-1].text == "Рассылка отменена."
    [final] = [m for m in api.messages(ADMIN) if m.text.startswith("📣")]
    assert final.button_texts() == []

    async def settled() -> bool:  # the one delivery in flight at the press may still be finishing
        return "sending" not in await delivery_states(db, appeal_id)

    await until(settled, "the delivery in flight at the cancel was recorded")
    states = await delivery_states(db, appeal_id)
    assert states["cancelled"] > 0 and set(states) <= {"sent", "cancelled"}
    await running.app.job_queue.get_jobs_by_name("broadcast")[0].run(running.app)  # one more tick
    assert sum(received(api, everyone).values()) == states["sent"]  # nothing after the cancel
