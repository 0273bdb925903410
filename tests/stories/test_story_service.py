"""The memory book's use cases on SQLite and PostgreSQL: one decision per pending story, publishable
means approved + consented + not withdrawn, the export's changes in order, /forget erases the files."""

from __future__ import annotations

from pathlib import Path

from stories_harness import photo_bytes

from bot.services import stories
from bot.services.story_files import DirectoryStore, Prepared, prepare
from models import Database, Person, StoryConsent, StoryState


async def test_a_story_from_draft_to_publication_and_forget(any_db: Database, tmp_path: Path) -> None:
    storage = DirectoryStore(tmp_path / "files")
    async with any_db.session() as session:
        session.add(Person(id=5, language="kk", first_name="Айгүл"))
    draft = await stories.create_draft(any_db, 5, text="Атам туралы", soldier={"surname": "Кусаинов"})
    assert await stories.submit(any_db, 5, draft.id) is None  # no consent yet
    prepared = prepare(photo_bytes(), max_bytes=10_000_000, max_side=512)
    assert isinstance(prepared, Prepared)
    path = await storage.save(draft.id, prepared)
    await stories.add_item(
        any_db, draft.id, kind="photo", path=path, caption="", sha256=prepared.sha256, size=len(prepared.data)
    )
    assert await stories.caption_last_item(any_db, draft.id, "Атам 1941 жылы")
    assert not await stories.set_consent(any_db, 6, draft.id, StoryConsent.NAMED)  # not theirs
    assert await stories.set_consent(any_db, 5, draft.id, StoryConsent.ANONYMOUS)
    assert await stories.submit(any_db, 5, draft.id) is not None
    assert (await stories.next_pending(any_db)) is not None and await stories.pending_count(any_db) == 1
    assert await stories.publishable(any_db) == []

    approved = await stories.approve(any_db, draft.id, 77)
    assert approved is not None and approved.publishable and stories.family_shown(approved) is None
    assert await stories.decline(any_db, draft.id, 78, "late") is None  # decided already
    assert [s.id for s in await stories.publishable(any_db)] == [draft.id]
    assert [s.items[0].caption for s in await stories.changed_since(any_db, None)] == ["Атам 1941 жылы"]
    assert await stories.changed_since(any_db, approved.updated_at) == []

    withdrawn = await stories.withdraw(any_db, 5, draft.id)
    assert withdrawn is not None and not withdrawn.publishable and withdrawn.state == StoryState.APPROVED
    assert await stories.publishable(any_db) == []
    assert [s.id for s in await stories.changed_since(any_db, approved.updated_at)] == [draft.id]

    assert await stories.forget_stories(any_db, storage, 5) == 1
    assert await stories.get_story(any_db, draft.id) is None
    assert not (storage.root / str(draft.id)).exists()
