"""/story end to end over HTTP: a family tells a soldier's story with photos, an album and a PDF; the
files are fetched through the Bot API, photos re-encoded without EXIF or GPS, refused files leave
nothing behind; consent is a step of its own; /my withdraws; /forget erases stories and files."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image
from sqlalchemy import select
from stories_harness import GPS_IFD, PDF, RELATIVE, Book, photo_bytes, png_bytes

from models import Story, StoryConsent, StoryItem, StoryState


async def stories_in(book: Book) -> list[tuple[Story, list[StoryItem]]]:
    assert book.db is not None
    async with book.db.session() as session:
        found = (await session.execute(select(Story).order_by(Story.id))).scalars().all()
        result = []
        for story in found:
            items = (
                (
                    await session.execute(
                        select(StoryItem).where(StoryItem.story_id == story.id).order_by(StoryItem.id)
                    )
                )
                .scalars()
                .all()
            )
            result.append((story, list(items)))
        return result


def stored_files(book: Book) -> list[Path]:
    return sorted(path for path in book.storage.rglob("*") if path.is_file())


async def tell_story(book: Book) -> None:
    """The family searches, then tells a story with two photos (an album), a PDF and one refused file."""
    await book.consented(book.relative)
    await book.say(book.relative, "/search Легкодымов Емельян 1904")
    [prompt] = await book.say(book.relative, "/story")
    assert "Книга памяти" in prompt.text and "Легкодымов Емельян" in prompt.text
    [files_prompt] = await book.say(book.relative, "Мой прадед ушёл на фронт в 1941 году из Туркестана.")
    assert "пришлите фотографии" in files_prompt.text and files_prompt.button_texts() == ["✅ Готово"]

    api = book.api
    replies = await book.act(
        api.send_photo(book.relative, "Прадед в 1940 году", content=photo_bytes((200, 10, 10), (3000, 1000)))
    )
    assert "Файл 1 сохранён: «Прадед в 1940 году»" in replies[RELATIVE][-1].text
    album = await book.act(
        api.send_photo(
            book.relative, "Письма с фронта", content=photo_bytes((0, 100, 0)), media_group_id="g1"
        ),
        api.send_photo(book.relative, content=png_bytes(), media_group_id="g1"),
    )
    assert [m.text.split(":")[0] for m in album[RELATIVE]] == ["📎 Файл 2 сохранён", "📎 Файл 3 сохранён"]
    pdf = await book.act(api.send_document(book.relative, "письмо.pdf", PDF, mime_type="application/pdf"))
    assert "Файл 4 сохранён без подписи" in pdf[RELATIVE][-1].text
    [captioned] = await book.say(book.relative, "Треугольник 1942 года")
    assert "Подпись добавлена" in captioned.text

    refused = await book.act(
        api.send_document(book.relative, "list.csv", b"a,b\n1,2\n", caption="таблица"),
        api.send_photo(book.relative, "огромное", content=photo_bytes(), file_size=5 * 1024 * 1024),
        api.send_voice(book.relative),
    )
    texts = [m.text for m in refused[RELATIVE]]
    assert "принимаются только фотографии и документы PDF" in texts[0]
    assert "больше 1 МБ" in texts[1]
    assert "принимаются только фотографии" in texts[2]
    assert len(stored_files(book)) == 4  # nothing of the refused files is kept

    consent = (await book.press(book.relative, captioned, "✅ Готово"))[RELATIVE][-1]
    assert "Можно ли это опубликовать?" in consent.text
    assert consent.button_texts()[:3] == [
        "Публиковать с моим именем",
        "Публиковать без моего имени",
        "Только для поисковиков, не публиковать",
    ]
    confirm = (await book.press(book.relative, consent, "Публиковать без моего имени"))[RELATIVE][-1]
    assert "4 файла" in confirm.text and "без имени семьи" in confirm.text
    sent = (await book.press(book.relative, confirm, "📨 Отправить волонтёрам"))[RELATIVE][-1]
    assert "История №1 отправлена" in sent.text


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
    assert (
        "отозвана"
        in [b for b in (await book.say(book.relative, "/my"))[-1].button_texts() if b.startswith("📖")][0]
    )

    assert len(stored_files(book)) == 4
    confirm = (await book.say(book.relative, "/forget"))[-1]
    await book.press(book.relative, confirm, confirm.button_texts()[0])
    assert await stories_in(book) == [] and stored_files(book) == []
