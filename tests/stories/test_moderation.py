"""/moderate end to end over HTTP: volunteers only; one pending story at a time with its files; approve,
decline with a reason the family sees, or ask the family through a case (the existing case machinery);
two volunteers never both decide one story."""

from __future__ import annotations

from sqlalchemy import select
from stories_harness import ERZHAN, OLGA, RELATIVE, STRANGER, Book, stories_in, tell_story

from bot.services import stories
from models import Case, CaseStatus, StoryConsent, StoryState


async def pending_story(book: Book, text: str) -> int:
    """A second story, sent by the family (set up through the service: the chat flow is tested elsewhere)."""
    assert book.db is not None
    draft = await stories.create_draft(book.db, RELATIVE, text=text, soldier={"surname": "Кусаинов"})
    assert await stories.set_consent(book.db, RELATIVE, draft.id, StoryConsent.NAMED)
    assert await stories.submit(book.db, RELATIVE, draft.id) is not None
    return draft.id


async def test_only_volunteers_moderate(book: Book) -> None:
    await tell_story(book)
    [refused] = await book.say(book.stranger, "/moderate")
    assert "volunteers" in refused.text.lower() and "Мой прадед" not in refused.text
    assert book.api.new_messages(STRANGER) == []


async def test_a_volunteer_sees_the_story_with_its_files_and_declines_it_with_a_reason(book: Book) -> None:
    await tell_story(book)
    shown = await book.say(book.erzhan, "/moderate")
    assert [m.method for m in shown] == ["sendPhoto", "sendPhoto", "sendPhoto", "sendDocument", "sendMessage"]
    assert [m.text for m in shown[:4]] == [
        "Прадед в 1940 году",
        "Письма с фронта",
        "Письма с фронта",
        "Треугольник 1942 года",
    ]
    card = shown[-1]
    assert "История №1" in card.text and "Мой прадед ушёл на фронт" in card.text
    assert "без имени семьи" in card.text and "4 файла" in card.text
    assert "Алия" not in card.text and "aliya_private" not in card.text and str(RELATIVE) not in card.text
    assert card.button_texts() == [
        "✅ Одобрить",
        "⛔ Отклонить с причиной",
        "❓ Спросить семью",
        "⏭ Следующая",
    ]

    prompt = (await book.press(book.erzhan, card, "⛔ Отклонить с причиной"))[ERZHAN][-1]
    assert "Почему история №1 отклонена?" in prompt.text
    replies = await book.act(book.api.send_text(book.erzhan, "Нет <b>подписи</b> к фото медальона"))
    assert "История №1 отклонена" in replies[ERZHAN][0].text
    assert "Нет историй, ожидающих проверки" in replies[ERZHAN][-1].text
    [told] = replies[RELATIVE]
    assert "не смогли принять вашу историю №1" in told.text
    assert "Нет <b>подписи</b> к фото медальона" in told.text  # shown as typed, never as markup
    [(story, _)] = await stories_in(book)
    assert (
        story.state == StoryState.DECLINED and story.decline_reason == "Нет <b>подписи</b> к фото медальона"
    )
    assert story.moderator_id == ERZHAN
    my = (await book.say(book.relative, "/my"))[-1]
    assert "отклонена" in next(b for b in my.button_texts() if b.startswith("📖"))
    assert book.failed_calls() == []


async def test_approval_tells_the_family_and_a_second_volunteer_cannot_decide_again(book: Book) -> None:
    await book.consented(book.relative)
    story_id = await pending_story(book, "Дед Жумабай писал письма домой.")
    card = (await book.say(book.erzhan, "/moderate"))[-1]
    olga_card = (await book.say(book.olga, "/moderate"))[-1]
    assert f"Story #{story_id}" in olga_card.text and "with the family's name" in olga_card.text
    replies = await book.press(book.erzhan, card, "✅ Одобрить")
    assert f"История №{story_id} одобрена" in replies[ERZHAN][0].text
    assert "прочитана и одобрена" in replies[RELATIVE][-1].text
    again = await book.press(book.olga, olga_card, "⛔ Decline with a reason")
    assert again[OLGA] == [] and book.toast(book.olga) == "This story was already decided or withdrawn."
    assert book.db is not None
    view = await stories.get_story(book.db, story_id)
    assert view is not None and view.state == StoryState.APPROVED and view.publishable


async def test_a_volunteer_asks_the_family_through_a_case(book: Book) -> None:
    await tell_story(book)
    card = (await book.say(book.olga, "/moderate"))[-1]
    prompt = (await book.press(book.olga, card, "❓ Ask the family"))[OLGA][-1]
    assert "ask the family about story #1" in prompt.text
    replies = await book.act(book.api.send_text(book.olga, "Which unit did he serve in?"))
    [question] = replies[RELATIVE]
    assert "Which unit did he serve in?" in question.text
    assert "Olga" not in question.text and "olga_v" not in question.text
    assert book.db is not None
    async with book.db.session() as session:
        [case] = (await session.execute(select(Case))).scalars().all()
    assert case.source == "story" and case.status == CaseStatus.ANSWERED and case.volunteer_id == OLGA
    # The family answers by replying, as in any case; the volunteer gets it.
    answer = await book.act(
        book.api.send_text(book.relative, "В 310-й стрелковой дивизии", reply_to=question)
    )
    assert any("В 310-й стрелковой дивизии" in m.text for m in answer[OLGA])
    [(story, _)] = await stories_in(book)
    assert story.state == StoryState.PENDING  # still waits for a decision
