"""The administrator's progress message, from the running bot: counts, then Pause, Resume, and the end.

The real Application polls the Bot API stand-in; its broadcast job sends the appeal and edits one progress
message in the administrator's chat. A person who is not an administrator pressing a forged appeal button
is refused, and nothing changes.
"""

from __future__ import annotations

from appeal_scenario import (
    ADMIN,
    appeal_to_all,
    delivery_states,
    received,
    until,
    users,
)

from bot.services.broadcast import appeal_progress, send_appeal
from bot.services.people import give_consent
from botapi_standin import BotApiStandIn, SentMessage
from models import AppealStatus
from tests.running_bot import RunningBot


def progress_message(api: BotApiStandIn) -> SentMessage | None:
    """The progress message in the administrator's chat (who, having consented, also got the appeal)."""
    shown = [message for message in api.messages(ADMIN) if message.text.startswith("📣")]
    return shown[-1] if shown else None


async def test_the_progress_message_pauses_resumes_and_ends_done(running: RunningBot) -> None:
    api, db = running.api, running.db
    admin = api.user(ADMIN, "Админ", language_code="en")
    await give_consent(db, ADMIN, "en")
    everyone = await users(api, db, 80_000, 150)
    appeal_id = await appeal_to_all(db)
    await send_appeal(db, appeal_id)

    async def shown() -> bool:
        return progress_message(api) is not None

    await until(shown, "the progress message appeared")
    first = progress_message(api)
    assert first is not None and first.text.startswith(f"📣 Appeal #{appeal_id}: sending")
    assert first.button_texts() == ["⏸ Pause", "✖️ Cancel"]
    await api.press(admin, first, "⏸ Pause")

    async def paused() -> bool:
        message = progress_message(api)
        return message is not None and "paused" in message.text.split("\n")[0]

    await until(paused, "the progress message says paused")
    message = progress_message(api)
    assert message is not None and message.button_texts() == ["▶️ Resume", "✖️ Cancel"]
    assert [toast.text for toast in api.toasts(ADMIN)][-1] == "The broadcast is paused."
    at_pause = sum(received(api, everyone).values())
    assert at_pause < 150 and (await appeal_progress(db, appeal_id)).status == AppealStatus.PAUSED
    await api.press(admin, message, "▶️ Resume")

    async def done() -> bool:
        latest = progress_message(api)
        return latest is not None and "done" in latest.text.split("\n")[0]

    await until(done, "the progress message says done")
    assert await delivery_states(db, appeal_id) == {"sent": 151}  # the administrator consented too
    assert set(received(api, everyone).values()) == {1}
    final = progress_message(api)
    assert final is not None and "Sent 151, blocked the bot 0, failed 0, left 0 of 151" in final.text
    assert final.button_texts() == []
    assert len(api.messages(ADMIN)) == 2  # the appeal itself, and one progress message, edited


async def test_a_forged_appeal_button_from_a_non_administrator_is_refused(running: RunningBot) -> None:
    api, db = running.api, running.db
    stranger = api.user(555, "Чужой", language_code="ru")
    await give_consent(db, 555, "ru")
    appeal_id = await appeal_to_all(db)

    await api.press_data(stranger, 1, f"apc:{appeal_id}:cancel")

    async def answered() -> bool:
        return bool(api.toasts(555))

    await until(answered, "the press was answered")
    assert api.toasts(555)[-1].text == "Это доступно только администраторам."
    assert (await appeal_progress(db, appeal_id)).status == AppealStatus.DRAFT
