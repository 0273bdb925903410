""" "This may be my relative": from the channel's deep link (a new user consents first) and from the button
under a broadcast appeal, the relative's short message opens a volunteer case linked to the appeal."""

from __future__ import annotations

from appeal_scenario import VOLUNTEERS, appeal_to_all, delivery_states, until, users
from sqlalchemy import select

from bot.services.broadcast import send_appeal
from models import Case, Database
from tests.running_bot import RunningBot


async def cases_of(db: Database, person_id: int) -> list[Case]:
    async with db.session() as session:
        return list(await session.scalars(select(Case).where(Case.person_id == person_id)))


async def test_the_deep_link_opens_the_flow_for_a_new_user_after_consent(running: RunningBot) -> None:
    api, db = running.api, running.db
    appeal_id = await appeal_to_all(db)
    await send_appeal(db, appeal_id)  # nobody in the audience yet: it is done at once
    newcomer = api.user(7001, "Алия", language_code="ru")

    await api.send_text(newcomer, f"/start appeal-{appeal_id}")
    [greeting] = await api.wait_for_messages(7001)
    assert "Согласен(на)" in greeting.button_texts()  # consent comes first; nothing is stored yet
    assert await cases_of(db, 7001) == []
    await api.press(newcomer, greeting, "Согласен(на)")
    replies = await api.wait_for_messages(7001, 2)
    assert "Легкодымов (Лехкодымов)" in replies[-1].text  # the appeal's soldier: write your message
    await api.send_text(newcomer, "Это брат моего деда, он ушёл на фронт из Чимкента.")

    async def opened() -> bool:
        return len(await cases_of(db, 7001)) == 1

    await until(opened, "a case was opened")
    [case] = await cases_of(db, 7001)
    assert case.source == "appeal" and case.search.get("appeal_id") == appeal_id
    assert any("Легкодымов" in m.text for m in api.messages(VOLUNTEERS))


async def test_the_button_under_a_broadcast_appeal_opens_a_case(running: RunningBot) -> None:
    api, db = running.api, running.db
    [relative] = await users(api, db, 96_000, 1)
    appeal_id = await appeal_to_all(db)
    await send_appeal(db, appeal_id)

    async def sent() -> bool:
        return await delivery_states(db, appeal_id) == {"sent": 1}

    await until(sent, "the appeal was sent")
    [appeal] = api.messages(relative)
    assert appeal.button_texts() == ["🙋 Это может быть мой родственник"]
    await api.press(api.user(relative), appeal, "🙋 Это может быть мой родственник")
    await api.wait_for_messages(relative)
    await api.send_text(api.user(relative), "Мой прадед, фото есть.")

    async def opened() -> bool:
        return len(await cases_of(db, relative)) == 1

    await until(opened, "a case was opened")
    [case] = await cases_of(db, relative)
    assert case.source == "appeal" and case.search.get("appeal_id") == appeal_id
