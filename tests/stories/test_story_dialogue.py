"""/story end to end over HTTP: a family tells a soldier's story with photos, an album and a PDF; the
files are fetched through the Bot API, photos re-encoded without EXIF or GPS, refused files leave
nothing behind; consent is a step of its own; /my withdraws; /forget erases stories and files."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from PIL import Image
from sqlalchemy import select
from stories_harness import (
    ERZHAN,
    GPS_IFD,
    PDF,
    RELATIVE,
    STRANGER,
    Book,
    photo_bytes,
    stored_files,
    stories_in,
    tell_story,
)

from bot.services.dialogue_state import load_dialogue, save_dialogue
from models import Match, Reading, SearchRequest, StoryConsent, StoryState


async def test_a_family_tells_a_story_with_photos_an_album_and_a_pdf(book: Book) -> None:
    await tell_story(book)
    [(story, items)] = await stories_in(book)
    assert story.state == StoryState.PENDING and story.consent == StoryConsent.ANONYMOUS
    assert story.text.startswith("Мой прадед") and story.soldier["surname"] == "Легкодымов"
    assert story.request_id is None and story.family_name == "Алия"
    assert [(i.kind, i.caption) for i in items] == [
        ("photo", "Прадед в 1940 году"),
        ("photo", "Письма с фронта"),
        ("photo", "Письма с фронта"),  # the album's caption for its uncaptioned photo
        ("pdf", "Треугольник 1942 года"),
    ]
    for item in items:
        data = (book.storage / item.path).read_bytes()
        if item.kind == "pdf":
            assert data == PDF
            continue
        with Image.open(io.BytesIO(data)) as image:
            assert image.format == "JPEG" and max(image.size) <= 2048
            exif = image.getexif()
            assert not exif and not exif.get_ifd(GPS_IFD)
            assert "exif" not in image.info and b"SecretCam" not in data
    assert book.failed_calls() == []


async def test_cancel_throws_the_draft_and_its_files_away(book: Book) -> None:
    await book.consented(book.relative)
    await book.say(book.relative, "/search Легкодымов Емельян 1904")
    await book.say(book.relative, "/story")
    await book.say(book.relative, "Текст истории")
    await book.act(book.api.send_photo(book.relative, "фото", content=photo_bytes()))
    assert len(stored_files(book)) == 1
    [cancelled] = await book.say(book.relative, "/cancel")
    assert "История не сохранена" in cancelled.text
    assert await stories_in(book) == [] and stored_files(book) == []
    # The dialogue is back: a text is a search again, not a story.
    assert "История" not in (await book.say(book.relative, "Привет"))[-1].text


async def test_story_needs_a_search_first(book: Book) -> None:
    await book.consented(book.relative)
    [answer] = await book.say(book.relative, "/story")
    assert "Сначала расскажите, кто он" in answer.text


async def test_my_withdraws_a_story_and_forget_erases_stories_and_files(book: Book) -> None:
    await tell_story(book)
    my = (await book.say(book.relative, "/my"))[-1]
    assert "Ваши истории в книге памяти" in my.text
    [story_button] = [b for b in my.button_texts() if b.startswith("📖")]
    assert "ждёт волонтёра" in story_button
    card = (await book.press(book.relative, my, story_button))[RELATIVE][-1]
    ask = (await book.press(book.relative, card, "🗑 Отозвать"))[RELATIVE][-1]
    done = (await book.press(book.relative, ask, "Да, отозвать"))[RELATIVE][-1]
    assert "История №1 отозвана" in done.text
    [(story, _)] = await stories_in(book)
    assert story.withdrawn and story.withdrawn_at is not None
    again = (await book.say(book.relative, "/my"))[-1]
    assert "отозвана" in next(b for b in again.button_texts() if b.startswith("📖"))

    assert len(stored_files(book)) == 4
    confirm = (await book.say(book.relative, "/forget"))[-1]
    await book.press(book.relative, confirm, confirm.button_texts()[0])
    assert await stories_in(book) == [] and stored_files(book) == []


async def test_a_story_left_unfinished_for_a_day_is_thrown_away_and_text_is_a_search_again(
    book: Book,
) -> None:
    await book.consented(book.relative)
    await book.say(book.relative, "/search Легкодымов Емельян 1904")
    await book.say(book.relative, "/story")
    await book.say(book.relative, "Начало истории")
    await book.act(book.api.send_photo(book.relative, "фото", content=photo_bytes()))
    assert book.db is not None
    record = await load_dialogue(book.db, "story", RELATIVE, RELATIVE)
    record.data["at"] = (datetime.now(UTC) - timedelta(hours=25)).isoformat()
    await save_dialogue(book.db, record)
    answer = (await book.say(book.relative, "Кусаинов Жумабай 1912"))[-1]
    assert "Файл" not in answer.text and "Подпись" not in answer.text  # the dialogue answered it
    assert await stories_in(book) == [] and stored_files(book) == []


async def test_a_closed_case_offers_to_tell_his_story(book: Book) -> None:
    await book.consented(book.relative)
    await book.say(book.relative, "/search Легкодымов Емельян 1904")
    opened = await book.act(book.api.send_text(book.relative, "/ask Помогите найти прадеда"))
    card = opened[ERZHAN][-1]
    claimed = await book.press(book.erzhan, card, "✋ Взять")
    desk = claimed[ERZHAN][-1]
    note = (await book.press(book.erzhan, desk, "✔️ Закрыть"))[ERZHAN][-1]
    closed = await book.press(book.erzhan, note, "✔️ Закрыть без заметки")
    told = closed[RELATIVE][-1]
    assert "закрыто" in told.text and told.button_texts() == ["📖 Рассказать его историю"]
    prompt = (await book.press(book.relative, told, "📖 Рассказать его историю"))[RELATIVE][-1]
    assert "Книга памяти" in prompt.text and "Легкодымов Емельян" in prompt.text
    # A forged press for somebody else's case reaches nothing.
    await book.act(book.api.press_data(book.stranger, 1, "st:c:1"))
    assert book.api.new_messages(STRANGER) == []


async def test_tell_his_story_under_a_found_match_ties_the_story_to_the_reading(book: Book) -> None:
    await book.consented(book.relative)
    assert book.db is not None
    async with book.db.session() as session:
        reading = (await session.execute(select(Reading).order_by(Reading.id).limit(1))).scalar_one()
        request = SearchRequest(person_id=RELATIVE, surname=reading.surname, derived={})
        session.add(request)
        await session.flush()
        match = Match(request_id=request.id, reading_pk=reading.id, score=97.0, strong=True)
        session.add(match)
        await session.flush()
        match_id, reading_pk, surname = match.id, reading.id, reading.surname
    menu = await book.say(book.relative, "/help")
    prompt = (await book.act(book.api.press_data(book.relative, menu[-1].message_id, f"st:b:{match_id}")))[
        RELATIVE
    ][-1]
    assert "Книга памяти" in prompt.text and surname in prompt.text
    await book.say(book.relative, "Его нашли под Калугой.")
    [(story, _)] = await stories_in(book)
    assert story.reading_pk == reading_pk and story.state == StoryState.DRAFT


async def test_bad_input_while_writing_changes_nothing(book: Book) -> None:
    [asked] = await book.say(book.relative, "/story")  # before consent: the consent question, nothing else
    assert "Книга памяти" not in asked.text and await stories_in(book) == []
    await book.consented(book.relative)
    await book.say(book.relative, "/search Легкодымов Емельян 1904")
    await book.say(book.relative, "/story")
    [sticker] = (await book.act(book.api.send_sticker(book.relative)))[RELATIVE]
    assert "Сначала, пожалуйста, сам рассказ" in sticker.text
    assert await stories_in(book) == []  # (a text beyond the limit: the long story's test below)
    await book.say(book.relative, "<b>Не разметка</b> & текст")
    [(story, _)] = await stories_in(book)
    assert story.text == "<b>Не разметка</b> & текст"
    # A forged button: a toast, nothing changed.
    await book.act(book.api.press_data(book.relative, 1, "st:s:999"))
    [(again, _)] = await stories_in(book)
    assert again.state == StoryState.DRAFT


async def test_a_long_story_that_telegram_cut_into_messages_is_joined_into_one_text(book: Book) -> None:
    """A 5,000-character paste arrives as two messages (Telegram's 4,096): both parts make the one text;
    a part beyond the limit is refused with it, and the text so far is kept."""
    await book.consented(book.relative)
    await book.say(book.relative, "/search Легкодымов Емельян 1904")
    await book.say(book.relative, "/story")
    paragraph = "Мой прадед Емельян работал в колхозе, растил троих детей и писал домой короткие письма. "
    story = ("\n".join(paragraph * 3 for _ in range(19)))[:5000].strip()
    assert len(story) > 4096
    replies = (await book.act(book.api.send_text(book.relative, story)))[RELATIVE]
    assert len(replies) == 2  # the stand-in's client cut the paste in two, as Telegram does
    assert "пришлите фотографии" in replies[0].text
    assert f"теперь в нём {len(story)} знаков из 10000" in replies[1].text
    assert replies[1].button_texts() == ["✅ Готово"]
    [(draft, _)] = await stories_in(book)
    assert draft.text == story and draft.state == StoryState.DRAFT
    more = (await book.act(book.api.send_text(book.relative, "ж" * 4096 + "и" * 1000)))[RELATIVE]
    assert "из 10000" in more[0].text and "Слишком длинно: не больше 10000 знаков" in more[1].text
    [(kept, _)] = await stories_in(book)
    assert kept.text == story + "\n" + "ж" * 4096  # the part that fitted is kept, the one beyond is not
    # Once a file came, a text is its caption again, not more of the story.
    await book.act(book.api.send_photo(book.relative, content=photo_bytes()))
    [caption] = await book.say(book.relative, "Прадед в 1940 году")
    assert "Подпись добавлена" in caption.text
    [(captioned, [item])] = await stories_in(book)
    assert captioned.text == kept.text and item.caption == "Прадед в 1940 году"
    # Sent, a volunteer's /moderate shows the whole text (plain, in parts Telegram takes), then the card.
    consent = (await book.press(book.relative, caption, "✅ Готово"))[RELATIVE][-1]
    confirm = (await book.press(book.relative, consent, consent.button_texts()[0]))[RELATIVE][-1]
    await book.press(book.relative, confirm, confirm.button_texts()[0])
    shown = await book.say(book.erzhan, "/moderate")
    *parts, card = [m for m in shown if m.method == "sendMessage"]
    assert "".join(part.text for part in parts).replace("\n", "") == kept.text.replace("\n", "")
    assert card.text.startswith("📖 История №1") and card.button_texts()[0] == "✅ Одобрить"
    assert book.failed_calls() == []
