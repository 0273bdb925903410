"""The volunteers' review queue over HTTP: /review shows unannounced matches most likely first, side by
side with the reasons; "likely him" reaches the relative exactly once (even when two volunteers press at
the same instant), "not him" hides the pair for good, "skip" moves on; only volunteers may review."""

from __future__ import annotations

from cases_harness import ERZHAN, GROUP, OLGA, RELATIVE, STRANGER, Desk
from sqlalchemy import select, update

from bot.services import review
from bot.services.people import give_consent
from models import Match, MatchReview, NotificationState, Reading, SearchRequest


async def record_matches(desk: Desk) -> list[int]:
    """Two recorded, unannounced matches of the relative's saved search (as a matching pass leaves them)."""
    assert desk.db is not None
    await give_consent(desk.db, RELATIVE, "ru", first_name="Алия")
    async with desk.db.session() as session:
        request = SearchRequest(person_id=RELATIVE, surname="Лехкодымов", name="Емельян", birth_year=1904)
        session.add(request)
        await session.flush()
        readings = {
            r.reading_id: r.id
            for r in (
                await session.execute(
                    select(Reading).where(
                        Reading.reading_id.in_(["KZ-2019-0142", "KZ-2010-0342", "KZ-2015-6393"])
                    )
                )
            ).scalars()
        }
        ids = []
        for reading_id, score in (("KZ-2010-0342", 31.0), ("KZ-2019-0142", 88.5)):
            match = Match(
                request_id=request.id,
                reading_pk=readings[reading_id],
                score=score,
                strong=False,
                reasons=[["surname_phonetic", {"query": "Лехкодымов", "found": "Легкодымов"}]],
                notification=NotificationState.SKIPPED,
            )
            session.add(match)
            await session.flush()
            ids.append(match.id)
        told = Match(  # announced already: never in the queue
            request_id=request.id,
            reading_pk=readings["KZ-2015-6393"],
            score=99.0,
            notification=NotificationState.QUEUED,
            reasons=[],
        )
        session.add(told)
    return ids


async def test_likely_him_reaches_the_relative_exactly_once(desk: Desk) -> None:
    low, high = await record_matches(desk)
    refused = await desk.say(desk.stranger, "/review")
    assert refused[STRANGER][-1].text == "Only volunteers can do this."

    first = (await desk.say(desk.erzhan, "/review"))[ERZHAN][-1]
    assert "88 %" in first.text and "ждут проверки: 2" in first.text  # the most likely first
    assert "Лехкодымов Емельян" in first.text and "KZ-2019-0142" in first.text
    assert "Легкодымов (Лехкодымов) Емельян Тимофеевич" in first.text
    assert "фамилия звучит так же: Лехкодымов ≈ Легкодымов" in first.text
    assert "Алия" not in first.text and str(RELATIVE) not in first.text
    olga_view = (await desk.say(desk.olga, "/review"))[OLGA][-1]

    # Both volunteers say "likely him" at the same instant: the relative is told once.
    seen = await desk.act(
        desk.api.press(desk.erzhan, first, "✅ Похоже, он"),
        desk.api.press(desk.olga, olga_view, "✅ Likely him"),
    )
    [told] = seen[RELATIVE]
    assert "Волонтёр проверил запись" in told.text and "Легкодымов (Лехкодымов) Емельян" in told.text
    assert "Ержан" not in told.text and "Olga" not in told.text
    assert told.button_texts() == ["📄 Показать запись", "🙋 Спросить волонтёра"]
    assert desk.toast(desk.erzhan) == "Родственнику отправлено."
    assert desk.toast(desk.olga) == "Someone has already decided this one."
    # The message moved on to the next pair in place.
    after = desk.api.messages(ERZHAN)[-1]
    assert after.message_id == first.message_id and "31 %" in after.text

    # The same decision again (an old button): nothing more reaches the relative.
    seen = await desk.act(desk.api.press_data(desk.erzhan, first.message_id, f"rv:l:{high}"))
    assert seen[RELATIVE] == []

    # "Not him": never shown again; the queue is empty.
    seen = await desk.press(desk.erzhan, after, "❌ Не он")
    assert "последнее в очереди" in seen[ERZHAN][-1].text
    assert "Проверять нечего" in (await desk.say(desk.erzhan, "/review"))[ERZHAN][-1].text
    assert desk.db is not None
    async with desk.db.session() as session:
        verdicts = {(r.match_id, r.verdict) for r in (await session.execute(select(MatchReview))).scalars()}
    assert verdicts == {(high, "likely"), (low, "not")}

    # From the notification the relative can open a case about that reading.
    prompt = (await desk.press(desk.relative, told, "🙋 Спросить волонтёра"))[RELATIVE][-1]
    assert "Лехкодымов" in prompt.text
    await desk.say(desk.relative, "Это он? Что делать дальше?")
    card = desk.api.messages(GROUP)[-1]
    assert "Обращение №1" in card.text
    assert "Легкодымов (Лехкодымов) Емельян Тимофеевич" in card.text


async def test_skip_shows_the_next_and_keeps_the_pair(desk: Desk) -> None:
    await record_matches(desk)
    first = (await desk.say(desk.erzhan, "/review"))[ERZHAN][-1]
    skipped = (await desk.press(desk.erzhan, first, "⏭ Пропустить"))[ERZHAN][-1]
    assert "31 %" in skipped.text
    end = (await desk.press(desk.erzhan, skipped, "⏭ Пропустить"))[ERZHAN][-1]
    assert "последнее" in end.text
    again = (await desk.say(desk.erzhan, "/review"))[ERZHAN][-1]
    assert "88 %" in again.text and "ждут проверки: 2" in again.text
    assert desk.api.messages(RELATIVE) == []
    forged = await desk.act(desk.api.press_data(desk.erzhan, again.message_id, "rv:x:1"))
    assert forged[RELATIVE] == [] and desk.toast(desk.erzhan) == "Я не понимаю эту кнопку."


async def test_the_queue_goes_by_the_chance_against_other_readings_and_searches(desk: Desk) -> None:
    """The queue is ordered by the engine's chance against the registry's other readings and the other
    saved searches the reading fits (`joint`), not by the score; a match recorded before `joint` was kept
    goes by score / 100."""
    low, high = await record_matches(desk)
    assert desk.db is not None
    async with desk.db.session() as session:
        await session.execute(update(Match).where(Match.id == low).values(joint=0.5, alone=0.6))
        await session.execute(update(Match).where(Match.id == high).values(joint=0.4, alone=0.99))
    first = (await desk.say(desk.erzhan, "/review"))[ERZHAN][-1]
    assert "KZ-2010-0342" in first.text and "ждут проверки: 2" in first.text
    item, _ = await review.next_item(desk.db, after=low)  # "skip" moves to the next in the same order
    assert item is not None and item.match_id == high
    item, _ = await review.next_item(desk.db, after=high)
    assert item is None


async def test_a_pair_many_searches_fit_as_well_is_kept_but_not_queued(desk: Desk) -> None:
    """A pair recorded for its score alone whose chance against the other readings and searches is below
    `QUEUE_MIN_JOINT` stays recorded but is not queued: nobody could tell which search is the man's."""
    low, high = await record_matches(desk)
    assert desk.db is not None
    async with desk.db.session() as session:
        await session.execute(update(Match).where(Match.id == low).values(joint=review.QUEUE_MIN_JOINT / 2))
        await session.execute(update(Match).where(Match.id == high).values(joint=review.QUEUE_MIN_JOINT))
    assert await review.queue_size(desk.db) == 1
    item, total = await review.next_item(desk.db)
    assert item is not None and item.match_id == high and total == 1
    assert [pid for pid, _rid, _score in await review.queue_pairs(desk.db)] == [RELATIVE]
    async with desk.db.session() as session:
        assert await session.get(Match, low) is not None
