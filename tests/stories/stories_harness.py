"""The harness of the memory book's tests: the real bot over real HTTP against a BotApiStandIn, with two
families (Russian and Kazakh), two volunteers (in the configuration) and a stranger; test pictures made
with Pillow (one carrying EXIF with GPS) and a small PDF.

``await book.act(book.api.send_photo(...))`` queues updates, waits until the Application has handled
them (it reports each handled update, so nothing sleeps), and returns what the bot wrote to each chat.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Iterable
from pathlib import Path
from typing import Any, Final

import boto3.session
from PIL import Image
from sqlalchemy import select

from bot.app import AmanatApplication, build_application
from bot.config import Settings
from botapi_standin import BotApiStandIn, SentMessage, SimUser
from models import Database, Story, StoryItem

RELATIVE: Final = 1001
AIGUL: Final = 1002  # a second family, Kazakh
ERZHAN: Final = 7001  # volunteer, Russian
OLGA: Final = 7002  # volunteer, English
STRANGER: Final = 9001
GPS_IFD: Final = 0x8825


def photo_bytes(color: tuple[int, int, int] = (120, 80, 40), size: tuple[int, int] = (640, 480)) -> bytes:
    """A JPEG with EXIF: the camera's make and a GPS position (which must never be kept)."""
    image = Image.new("RGB", size, color)
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x0131] = "Amanat-test-software"
    exif[GPS_IFD] = {1: "N", 2: (43.0, 15.0, 0.0), 3: "E", 4: (76.0, 57.0, 0.0)}
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def png_bytes(size: tuple[int, int] = (300, 200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", size, (10, 200, 30, 128)).save(out, format="PNG")
    return out.getvalue()


PDF: Final = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


class Book:
    """The bot, the stand-in and the people of the memory book."""

    def __init__(self, url: str, storage: Path, s3: dict[str, str] | None = None) -> None:
        self.url = url
        self.storage = storage
        self.s3 = s3  # stories.s3 (test_story_s3.py): the files go to that bucket, not to ``storage``
        self.api = BotApiStandIn()
        self.db: Database | None = None
        self.app: AmanatApplication | None = None
        self._handled: set[int] = set()
        self._changed = asyncio.Event()
        self.relative = self.api.user(RELATIVE, "Алия", language_code="ru", username="aliya_private")
        self.aigul = self.api.user(AIGUL, "Айгүл", language_code="kk")
        self.erzhan = self.api.user(ERZHAN, "Ержан", language_code="ru", username="erzhan_v")
        self.olga = self.api.user(OLGA, "Olga", language_code="en", username="olga_v")
        self.stranger = self.api.user(STRANGER, "Someone", language_code="en")

    def settings(self) -> Settings:
        return Settings(
            database={"url": self.url},  # type: ignore[arg-type]
            roles={"volunteers": [ERZHAN, OLGA]},  # type: ignore[arg-type]
            stories={"storage_dir": str(self.storage), "max_file_mb": 1, "s3": self.s3 or {}},  # type: ignore[arg-type]
        )

    async def start(self) -> None:
        await self.api.start()
        self.db = Database(self.url)
        app = build_application(
            self.settings(),
            self.db,
            token=self.api.token,
            base_url=self.api.base_url,
            base_file_url=self.api.base_file_url,
        )
        app.update_listeners.append(self._on_handled)
        await app.begin_polling(poll_interval=0, timeout=1)
        self.app = app

    async def stop(self) -> None:
        if self.app is not None:
            await self.app.end_polling()
        if self.db is not None:
            await self.db.dispose()
        await self.api.stop()

    def _on_handled(self, update: object) -> None:
        update_id = getattr(update, "update_id", None)
        if isinstance(update_id, int):
            self._handled.add(update_id)
            self._changed.set()

    async def handled(self, update_ids: Iterable[int], timeout: float = 30.0) -> None:
        wanted = set(update_ids)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not wanted <= self._handled:
            self._changed.clear()
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"updates {wanted - self._handled} were not handled")
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                continue

    def chats(self) -> list[int]:
        return [RELATIVE, AIGUL, ERZHAN, OLGA, STRANGER]

    async def act(self, *updates: Awaitable[int]) -> dict[int, list[SentMessage]]:
        """Queue the updates (all before any is handled), wait for them; the bot's messages per chat."""
        for chat in self.chats():
            self.api.new_messages(chat)
        ids = [await update for update in updates]
        await self.handled(ids)
        return {chat: self.api.new_messages(chat) for chat in self.chats()}

    async def say(self, user: SimUser, text: str) -> list[SentMessage]:
        return (await self.act(self.api.send_text(user, text)))[user.id]

    async def press(self, user: SimUser, message: SentMessage, caption: str) -> dict[int, list[SentMessage]]:
        return await self.act(self.api.press(user, message, caption))

    async def consented(self, user: SimUser) -> None:
        greeting = (await self.say(user, "/start"))[-1]
        await self.press(user, greeting, greeting.button_texts()[0])

    def toast(self, user: SimUser) -> str | None:
        mine = [t for t in self.api.toasts(user.id) if t.user_id == user.id]
        return mine[-1].text if mine else None

    def failed_calls(self) -> list[str]:
        return [
            f"{c.method}: {c.description}"
            for c in self.api.calls
            if not c.ok and c.method != "getUpdates" and "not modified" not in str(c.description)
        ]


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


def stored_files(book: Book) -> list[str]:
    """The files kept of the book's stories: under the storage directory, or the bucket's objects."""
    if book.s3:
        return bucket_keys(book.s3)
    return sorted(
        path.relative_to(book.storage).as_posix() for path in book.storage.rglob("*") if path.is_file()
    )


def s3_client(s3: dict[str, str]) -> Any:
    """A boto3 client of the test's S3 server (the test's own view of the bucket)."""
    return boto3.session.Session().client(
        "s3",
        endpoint_url=s3["endpoint_url"],
        region_name=s3["region"],
        aws_access_key_id=s3["access_key_id"],
        aws_secret_access_key=s3["secret_access_key"],
    )


def bucket_keys(s3: dict[str, str]) -> list[str]:
    """The objects in the bucket, without the configured prefix."""
    found = s3_client(s3).list_objects_v2(Bucket=s3["bucket"]).get("Contents", [])
    prefix = s3.get("prefix", "")
    return sorted(item["Key"].removeprefix(prefix) for item in found)


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
