"""An appeal with a photo: the administrator adds it in the /appeal form, and every reader gets it.

Recipients and the public channel get the photo with the appeal as its caption (sendPhoto); an appeal
whose text is longer than a caption may be (1,024 characters) goes as the photo and then the text, the
button under the text. What reached each chat is read from the stand-in's record of the calls.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from appeal_scenario import ADMIN, bot_settings, delivery_states, until, users

from bot.services.broadcast import get_appeal
from botapi_standin import BotApiStandIn
from models import Database
from tests.running_bot import RunningBot

CHANNEL = -1004321
MEDALLION = b"\xff\xd8\xff\xe0medallion-of-1942"
SHORT = "Найден в 2019 году в Калужской области. На фото — его медальон."
LONG = ("Найден в 2019 году в Калужской области, Мосальский район. " * 18)[:999] + "!"  # the most allowed


@pytest.fixture
async def running_with_channel(db: Database, sqlite_url: str) -> AsyncIterator[RunningBot]:
    async with BotApiStandIn() as api:
        api.group(CHANNEL, "Аманат")
        settings = bot_settings(sqlite_url, broadcast={"rate_per_second": 30, "channel_id": CHANNEL})
        bot = RunningBot(api, db, settings)
        await bot.start()
        try:
            yield bot
        finally:
            await bot.stop()


async def fill_the_form_with_a_photo(api: BotApiStandIn, text: str, previews: int) -> None:
    """/appeal → the soldier → `text` → a photo → all active users → Send."""
    admin = api.user(ADMIN, "Админ", language_code="en")
    await api.send_text(admin, "/appeal")
    await api.wait_for_messages(ADMIN)
    await api.send_text(admin, "Легкодымов Емельян, 1904, Южно-Казахстанская обл.")
    await api.wait_for_messages(ADMIN)
    await api.send_text(admin, text)
    [ask] = await api.wait_for_messages(ADMIN)
    assert ask.text == "You may add one photo (of the medallion, of the find), or skip."
    await api.send_photo(admin, content=MEDALLION)
    [ask] = await api.wait_for_messages(ADMIN)
    await api.press(admin, ask, "All active users")
    *shown, confirm = await api.wait_for_messages(ADMIN, previews + 1)
    assert [m.method for m in shown].count("sendPhoto") == 3  # a preview in each language, with the photo
    assert all(api.photo_of(m) == MEDALLION for m in shown if m.method == "sendPhoto")
    await api.press(admin, confirm, "📣 Send")


async def test_recipients_and_the_channel_get_the_photo_with_the_appeal_as_its_caption(
    running_with_channel: RunningBot,
) -> None:
    api, db = running_with_channel.api, running_with_channel.db
    everyone = await users(api, db, 91_000, 3)  # ru, kk, en

    await fill_the_form_with_a_photo(api, SHORT, previews=3)

    async def sent() -> bool:
        return await delivery_states(db, 1) == {"sent": 3} and bool(api.messages(CHANNEL))

    await until(sent, "the appeal was sent and posted")
    for person_id in everyone:
        [appeal] = api.history(person_id)
        assert appeal.method == "sendPhoto" and api.photo_of(appeal) == MEDALLION
        assert "Легкодымов Емельян" in appeal.text and appeal.text.endswith(SHORT)
        assert len(appeal.buttons) == 1  # "This may be my relative", under the photo
    russian = api.history(everyone[0])[0]
    assert russian.text.startswith("🕯 Поисковики ищут родных солдата")
    assert russian.button_texts() == ["🙋 Это может быть мой родственник"]
    [post] = api.messages(CHANNEL)
    assert post.method == "sendPhoto" and api.photo_of(post) == MEDALLION and post.text.endswith(SHORT)
    assert post.all_buttons()[0].url == f"https://t.me/{api.bot_username}?start=appeal-1"
    appeal = await get_appeal(db, 1)
    assert appeal is not None and appeal.photo_file_id is not None


async def test_a_text_longer_than_a_caption_goes_as_the_photo_then_the_text(
    running_with_channel: RunningBot,
) -> None:
    api, db = running_with_channel.api, running_with_channel.db
    everyone = await users(api, db, 92_000, 3)

    await fill_the_form_with_a_photo(api, LONG, previews=6)

    async def sent() -> bool:
        return await delivery_states(db, 1) == {"sent": 3} and len(api.messages(CHANNEL)) == 2

    await until(sent, "the appeal was sent and posted")
    for chat_id in (*everyone, CHANNEL):
        photo, text = api.history(chat_id)
        assert (photo.method, photo.text, photo.buttons) == ("sendPhoto", "", ())
        assert api.photo_of(photo) == MEDALLION
        assert text.method == "sendMessage" and text.text.endswith(LONG)
        assert len(text.all_buttons()) == 1
    refused = [call for call in api.calls_of("sendPhoto", "sendMessage") if not call.ok]
    assert refused == []  # never a caption Telegram refuses
