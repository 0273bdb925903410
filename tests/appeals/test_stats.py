"""/stats for an administrator: users by language (active and blocked), cases and the median time to claim,
and the latest appeals with their delivery counts."""

from __future__ import annotations

from datetime import timedelta

from appeal_scenario import ADMIN, appeal_to_all, until, users

from bot.services.broadcast import Broadcaster, appeal_progress, send_appeal
from bot.services.people import give_consent
from handlers.broadcast import BotApiAppealSender
from models import AppealStatus, Case, CaseStatus
from models.base import utcnow
from tests.running_bot import RunningBot


async def test_stats_counts_people_cases_and_appeals(running: RunningBot) -> None:
    api, db = running.api, running.db
    admin = api.user(ADMIN, "Админ", language_code="en")
    everyone = await users(api, db, 99_000, 6)  # ru, kk, en, ru, kk, en
    await api.block(api.user(everyone[1]), notify=False)  # a Kazakh reader blocked the bot
    appeal_id = await appeal_to_all(db)
    await send_appeal(db, appeal_id)
    await Broadcaster(db, BotApiAppealSender(running.app.bot)).run(appeal_id)
    assert (await appeal_progress(db, appeal_id)).status == AppealStatus.DONE
    now = utcnow()
    async with db.session() as session:
        session.add(
            Case(
                person_id=everyone[0],
                status=CaseStatus.CLAIMED,
                created_at=now - timedelta(hours=3),
                claimed_at=now - timedelta(hours=1),
            )
        )
        session.add(Case(person_id=everyone[3], status=CaseStatus.NEW, created_at=now))

    await give_consent(db, ADMIN, "en")  # after the appeal: the administrator is not one of its recipients
    await api.send_text(admin, "/stats")

    async def answered() -> bool:
        return any(m.text.startswith("📊") for m in api.messages(ADMIN))

    await until(answered, "/stats answered")
    [stats] = [m for m in api.messages(ADMIN) if m.text.startswith("📊")]

    assert "Users (English): 3 active, 0 blocked the bot" in stats.text
    assert "Users (Kazakh): 1 active, 1 blocked the bot" in stats.text
    assert "Users (Russian): 2 active, 0 blocked the bot" in stats.text
    assert "Volunteer cases: 1 new, 1 claimed, 0 answered, 0 closed; median time to claim 2.0 h" in stats.text
    assert "Matches reviewed by volunteers: 0" in stats.text
    assert f"📣 Appeal #{appeal_id} (done): 5 sent, 1 blocked, 0 failed, 0 left" in stats.text
