"""A memory book with every kind of story, made through the services (the chat flow is tested in
test_story_dialogue.py): what may be published and, marked by unmistakable words, what never may."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from sqlalchemy import select
from stories_harness import PDF, photo_bytes

from bot.services import stories
from bot.services.story_files import Prepared, StoryStore, prepare
from models import Database, Person, Reading, StoryConsent

FAMILY: Final = 1001
VOLUNTEER: Final = 7001
# Words that must never reach the exhibition or the export (each story that may not be published has one).
NEVER: Final = {
    "units_only": "ТОЛЬКО-ДЛЯ-ОТРЯДОВ",
    "pending": "ЕЩЁ-НЕ-ПРОВЕРЕНА",
    "declined": "ОТКЛОНЁННАЯ-ИСТОРИЯ",
    "withdrawn": "ОТОЗВАННАЯ-ИСТОРИЯ",
    "draft": "ЧЕРНОВИК-ИСТОРИИ",
}
NAMED_FAMILY: Final = "Алия Сагындыкова"
HIDDEN_FAMILY: Final = "Скрытая Фамилия"


@dataclass
class Seeded:
    named: int  # approved, named, tied to a reading, with a photo and a PDF
    anonymous: int  # approved, anonymous, the family's soldier (no reading)
    withdrawn: int
    reading_id: str


def _photo(color: tuple[int, int, int]) -> Prepared:
    prepared = prepare(photo_bytes(color), max_bytes=10_000_000, max_side=1024)
    assert isinstance(prepared, Prepared)
    return prepared


async def _story(
    db: Database,
    storage: StoryStore,
    text: str,
    consent: StoryConsent,
    *,
    family: str = NAMED_FAMILY,
    reading_pk: int | None = None,
    soldier: dict[str, object] | None = None,
    files: tuple[tuple[Prepared, str], ...] = (),
    decide: str | None = "approve",
) -> int:
    draft = await stories.create_draft(
        db,
        FAMILY,
        text=text,
        soldier=dict(soldier or {"surname": "Кусаинов", "name": "Жумабай", "birth_year": 1912}),
        reading_pk=reading_pk,
        family_name=family,
    )
    for prepared, caption in files:
        path = await storage.save(draft.id, prepared)
        await stories.add_item(
            db,
            draft.id,
            kind=prepared.kind,
            path=path,
            caption=caption,
            sha256=prepared.sha256,
            size=len(prepared.data),
        )
    assert await stories.set_consent(db, FAMILY, draft.id, consent)
    if decide is None:
        return draft.id
    assert await stories.submit(db, FAMILY, draft.id) is not None
    if decide == "approve":
        assert await stories.approve(db, draft.id, VOLUNTEER) is not None
    elif decide == "decline":
        assert await stories.decline(db, draft.id, VOLUNTEER, "нет") is not None
    return draft.id


async def seed(db: Database, storage: StoryStore) -> Seeded:
    async with db.session() as session:
        session.add(Person(id=FAMILY, language="ru", first_name="Алия"))
        reading = (await session.execute(select(Reading).order_by(Reading.id).limit(1))).scalar_one()
        reading_pk, reading_id = reading.id, reading.reading_id
    pdf = prepare(PDF, max_bytes=10_000_000, max_side=1024)
    assert isinstance(pdf, Prepared)
    named = await _story(
        db,
        storage,
        "Прадед писал домой каждую неделю.\n\nПоследнее письмо пришло в 1942 году.",
        StoryConsent.NAMED,
        reading_pk=reading_pk,
        files=((_photo((150, 20, 20)), "Портрет 1940 года"), (pdf, "Последнее письмо")),
    )
    anonymous = await _story(
        db,
        storage,
        "Дед Жумабай ушёл из Гурьева в 1941 году.",
        StoryConsent.ANONYMOUS,
        family=HIDDEN_FAMILY,
        files=((_photo((20, 150, 20)), "Аул, где он родился"),),
    )
    hidden_photo = _photo((1, 2, 250))
    await _story(
        db,
        storage,
        NEVER["units_only"],
        StoryConsent.UNITS_ONLY,
        files=((hidden_photo, NEVER["units_only"]),),
    )
    await _story(db, storage, NEVER["pending"], StoryConsent.NAMED, decide="submit")
    await _story(db, storage, NEVER["declined"], StoryConsent.NAMED, decide="decline")
    await _story(db, storage, NEVER["draft"], StoryConsent.NAMED, decide=None)
    withdrawn = await _story(
        db, storage, NEVER["withdrawn"], StoryConsent.NAMED, files=((_photo((9, 9, 9)), NEVER["withdrawn"]),)
    )
    assert await stories.withdraw(db, FAMILY, withdrawn) is not None
    return Seeded(named, anonymous, withdrawn, reading_id)


def amanat(
    url: str, storage: Path, cwd: Path, *args: str, env_extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("AMANAT_")}
    env["AMANAT_DATABASE__URL"] = url
    env["AMANAT_STORIES__STORAGE_DIR"] = str(storage)
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "bot", "--lang", "en", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
