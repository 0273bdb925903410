"""/grant volunteer, /revoke and /roles from an administrator's chat; stored, audited, config roles kept."""

from __future__ import annotations

from appeal_scenario import ADMIN, CONFIG_VOLUNTEER
from sqlalchemy import select

from models import Person, Role, RoleChange
from tests.running_bot import RunningBot


async def test_an_administrator_grants_and_revokes_the_volunteer_role(running: RunningBot) -> None:
    api, db = running.api, running.db
    admin = api.user(ADMIN, "Админ", language_code="en")
    helper = api.user(778, "Helper", language_code="ru")

    async def say(text: str) -> str:
        await api.send_text(admin, text)
        [answer] = await api.wait_for_messages(ADMIN)
        return answer.text

    assert await say("/grant volunteer 777") == "✅ 777 is a volunteer now."
    assert await say("/grant volunteer") == "Forward a message of that person here, or send their numeric id."
    forwarded = {
        "text": "Hello",
        "forward_origin": {"type": "user", "date": 1, "sender_user": helper.to_api()},
    }
    await api.send_message_content(admin, forwarded)
    [answer] = await api.wait_for_messages(ADMIN)
    assert answer.text == "✅ 778 is a volunteer now."
    roles = await say("/roles")
    assert f"Administrators (configuration): {ADMIN}" in roles
    assert f"Volunteers (configuration): {CONFIG_VOLUNTEER}" in roles
    assert f"• 777, granted by {ADMIN}," in roles and f"• 778, granted by {ADMIN}," in roles

    assert await say("/revoke 777") == "777 is no longer a volunteer."
    assert await say(f"/revoke {CONFIG_VOLUNTEER}") == (
        f"{CONFIG_VOLUNTEER} has their role from the configuration (roles): it cannot be revoked from the chat."
    )
    assert await say("/grant volunteer abc") == (
        "That is not a numeric Telegram user id. Send the number, or forward one of their messages."
    )
    async with db.session() as session:
        stored = {
            p.id: p.role for p in await session.scalars(select(Person).where(Person.id.in_([777, 778])))
        }
        audit = [
            (c.person_id, c.granted, c.by)
            for c in await session.scalars(select(RoleChange).order_by(RoleChange.id))
        ]
    assert stored == {777: Role.RELATIVE, 778: Role.VOLUNTEER}
    assert audit == [(777, True, ADMIN), (778, True, ADMIN), (777, False, ADMIN)]


async def test_a_non_administrator_cannot_grant_revoke_or_list_roles(running: RunningBot) -> None:
    api, db = running.api, running.db
    stranger = api.user(555, "Чужой", language_code="ru")
    for command in ("/grant volunteer 555", "/revoke 888", "/roles"):
        await api.send_text(stranger, command)
        [answer] = await api.wait_for_messages(555)
        assert answer.text == "Это доступно только администраторам."
    async with db.session() as session:
        assert (await session.scalars(select(RoleChange))).all() == []
