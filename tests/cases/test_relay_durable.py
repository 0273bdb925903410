"""A case's relays go through the outbox: a message Telegram refuses for a moment (a 5xx) is not lost,
arrives once when the outbox job tries again, and the messages written after it wait and keep their
order. Over HTTP against the stand-in (its ``fail_next`` injects the errors)."""

from __future__ import annotations

from datetime import timedelta

from cases_harness import ERZHAN, GROUP, RELATIVE, Desk
from sqlalchemy import select
from test_case_lifecycle import open_case_from_results

from handlers.notifications import deliver_due
from models import OutboxMessage
from models.base import utcnow


async def outbox_states(desk: Desk) -> list[str]:
    assert desk.db is not None
    async with desk.db.session() as session:
        rows = await session.scalars(
            select(OutboxMessage.state).where(OutboxMessage.kind == "relay").order_by(OutboxMessage.id)
        )
        return [str(state) for state in rows]


async def next_tick(desk: Desk) -> None:
    """The outbox job's tick after the back-off (the job calls the same function on the bot's clock)."""
    assert desk.db is not None and desk.app is not None
    await deliver_due(desk.db, desk.app.bot, desk.settings(), now=utcnow() + timedelta(minutes=5))


async def test_a_relay_refused_for_a_moment_arrives_once_and_in_order(desk: Desk) -> None:
    await open_case_from_results(desk)
    card = (await desk.say(desk.relative, "Помогите"))[GROUP][-1]
    desk_card = (await desk.press(desk.erzhan, card, "✋ Взять"))[ERZHAN][-1]

    desk.api.fail_next(RELATIVE, 500)  # Telegram's 5xx on the first answer
    seen = await desk.say(desk.erzhan, "Первое: отряд нашёл его.", reply_to=desk_card)
    assert seen[RELATIVE] == []
    assert "доставит его сам" in seen[ERZHAN][-1].text
    seen = await desk.say(desk.erzhan, "Второе: вот их контакты.", reply_to=desk_card)
    assert seen[RELATIVE] == []  # written after the refused one: it waits behind it
    assert "доставит его сам" in seen[ERZHAN][-1].text
    assert await outbox_states(desk) == ["pending", "pending"]

    await next_tick(desk)
    relayed = [m for m in desk.api.messages(RELATIVE) if "Первое" in m.text or "Второе" in m.text]
    assert [m.text.count("Первое") + 2 * m.text.count("Второе") for m in relayed] == [1, 2]
    assert "Волонтёр" in relayed[0].text and "Ержан" not in relayed[0].text
    assert await outbox_states(desk) == ["sent", "sent"]
    await next_tick(desk)  # nothing is sent twice
    assert len([m for m in desk.api.messages(RELATIVE) if "Первое" in m.text]) == 1

    # The relayed copy is the case's: the relative's reply to it reaches the claimer.
    seen = await desk.say(desk.relative, "Спасибо!", reply_to=relayed[1])
    assert "Спасибо!" in seen[ERZHAN][-1].text and "Отправлено волонтёру" in seen[RELATIVE][-1].text

    # A photo from the relative, its copy refused once (502): copied later, once, with its caption.
    desk.api.fail_next(ERZHAN, 502, methods={"copyMessage"})
    seen = await desk.act(desk.api.send_photo(desk.relative, caption="Его письмо", reply_to=relayed[1]))
    assert seen[ERZHAN] == [] and "доставит его сам" in seen[RELATIVE][-1].text
    await next_tick(desk)
    copies = [m for m in desk.api.messages(ERZHAN) if "Его письмо" in m.text]
    assert len(copies) == 1 and copies[0].method == "copyMessage" and "Алия" in copies[0].text
    assert await outbox_states(desk) == ["sent", "sent", "sent", "sent"]
