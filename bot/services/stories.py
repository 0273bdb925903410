"""The memory book's use cases: a family writes a story (/story), volunteers moderate it (/moderate), the
family withdraws it or /forget erases it, and what may be published is read for the exhibition and the
partners' export.

A story is a draft while it is written in the chat (text, then files, then the publication consent);
the family's confirmation makes it pending; a volunteer approves or declines it (one conditional
``UPDATE … WHERE state = 'pending'``, so two volunteers never both decide). Publishable means approved,
consented to publication (``named`` or ``anonymous``; ``units_only`` never) and not withdrawn:
:func:`publishable` is the one place that says so. Files are kept through
:class:`bot.services.story_files.StoryStore`; erasing a story erases its files too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import delete, func, select, update
from sqlalchemy.sql import ColumnElement

from bot.services.story_files import StoryStore
from models import (
    Case,
    Database,
    Reading,
    SearchRequest,
    Story,
    StoryConsent,
    StoryErasure,
    StoryItem,
    StoryState,
)
from models.base import utcnow

# The reading's fields a story shows "as read": never the family's address or name from the insert.
READING_FIELDS: Final = (
    "reading_id",
    "surname",
    "name",
    "patronymic",
    "birth_year",
    "birthplace",
    "draft_office",
    "rank",
    "found_place",
    "found_date",
    "search_unit",
    "burial_place",
)
SOLDIER_FIELDS: Final = ("surname", "name", "patronymic", "birth_year", "birthplace")
PUBLISHED_CONSENTS: Final = (StoryConsent.NAMED, StoryConsent.ANONYMOUS)


@dataclass(frozen=True)
class ItemView:
    id: int
    kind: str  # "photo" or "pdf"
    path: str
    caption: str
    sha256: str
    size: int


@dataclass(frozen=True)
class StoryView:
    """A story as the bot, the exhibition and the export see it."""

    id: int
    person_id: int
    soldier: dict[str, Any]
    reading: dict[str, Any] | None  # the registry reading as read (READING_FIELDS), when linked
    request_id: int | None
    text: str
    consent: StoryConsent | None
    family_name: str | None
    state: StoryState
    decline_reason: str | None
    withdrawn: bool
    created_at: datetime
    submitted_at: datetime | None
    moderated_at: datetime | None
    updated_at: datetime
    items: list[ItemView] = field(default_factory=list)

    @property
    def publishable(self) -> bool:
        return self.state == StoryState.APPROVED and self.consent in PUBLISHED_CONSENTS and not self.withdrawn

    @property
    def reading_id(self) -> str | None:
        return str(self.reading["reading_id"]) if self.reading else None

    @property
    def soldier_name(self) -> str:
        source = self.reading or self.soldier
        return " ".join(str(source[key]) for key in ("surname", "name", "patronymic") if source.get(key))


def _changed(result: Any) -> bool:
    """Whether an UPDATE or DELETE touched a row (its CursorResult's rowcount)."""
    return bool(result.rowcount)


def aware(value: datetime | None) -> datetime | None:
    """A stored time as timezone-aware UTC (SQLite gives naive values back)."""
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _reading_dict(reading: Reading | None) -> dict[str, Any] | None:
    if reading is None:
        return None
    return {key: getattr(reading, key) for key in READING_FIELDS}


async def _view(session: Any, story: Story) -> StoryView:
    reading = await session.get(Reading, story.reading_pk) if story.reading_pk is not None else None
    items = (
        (
            await session.execute(
                select(StoryItem)
                .where(StoryItem.story_id == story.id)
                .order_by(StoryItem.position, StoryItem.id)
            )
        )
        .scalars()
        .all()
    )
    created, updated = aware(story.created_at), aware(story.updated_at)
    assert created is not None and updated is not None
    return StoryView(
        id=story.id,
        person_id=story.person_id,
        soldier=dict(story.soldier or {}),
        reading=_reading_dict(reading),
        request_id=story.request_id,
        text=story.text,
        consent=StoryConsent(story.consent) if story.consent else None,
        family_name=story.family_name,
        state=StoryState(story.state),
        decline_reason=story.decline_reason,
        withdrawn=story.withdrawn,
        created_at=created,
        submitted_at=aware(story.submitted_at),
        moderated_at=aware(story.moderated_at),
        updated_at=updated,
        items=[
            ItemView(item.id, item.kind, item.path, item.caption, item.sha256, item.size) for item in items
        ],
    )


# ------------------------------------------------------------------------------------ the soldier


async def soldier_of_reading(db: Database, reading_pk: int) -> dict[str, Any] | None:
    """Who a reading is about (surname, name, patronymic, year, place as read), or None."""
    async with db.session() as session:
        reading = await session.get(Reading, reading_pk)
        if reading is None:
            return None
        return {key: getattr(reading, key) for key in SOLDIER_FIELDS if getattr(reading, key)}


def soldier_of_search(search: dict[str, Any]) -> dict[str, Any]:
    """Who a saved search (or the dialogue's answers) is about, as the family typed it."""
    return {key: search[key] for key in SOLDIER_FIELDS if search.get(key) not in (None, "")}


async def soldier_of_case(
    db: Database, person_id: int, case_id: int
) -> tuple[dict[str, Any], int | None, int | None] | None:
    """The soldier of one of the person's cases (what they searched for), its reading and saved search."""
    async with db.session() as session:
        case = await session.get(Case, case_id)
        if case is None or case.person_id != person_id:
            return None
        return soldier_of_search(dict(case.search or {})), case.reading_pk, case.request_id


async def own_request(db: Database, person_id: int, request_id: int) -> SearchRequest | None:
    async with db.session() as session:
        request = await session.get(SearchRequest, request_id)
        return request if request is not None and request.person_id == person_id else None


# ------------------------------------------------------------------------------------ writing


async def create_draft(
    db: Database,
    person_id: int,
    *,
    text: str,
    soldier: dict[str, Any],
    reading_pk: int | None = None,
    request_id: int | None = None,
    family_name: str | None = None,
) -> StoryView:
    """A new draft with the family's text (the person's earlier unfinished drafts are left as they are)."""
    now = utcnow()
    async with db.session() as session:
        story = Story(
            person_id=person_id,
            text=text,
            soldier=dict(soldier),
            reading_pk=reading_pk,
            request_id=request_id,
            family_name=family_name,
            state=StoryState.DRAFT,
            withdrawn=False,
            created_at=now,
            updated_at=now,
        )
        session.add(story)
        await session.flush()
        return await _view(session, story)


async def get_story(db: Database, story_id: int) -> StoryView | None:
    async with db.session() as session:
        story = await session.get(Story, story_id)
        return await _view(session, story) if story is not None else None


async def get_own(db: Database, person_id: int, story_id: int) -> StoryView | None:
    """The person's own story (None for anybody else's: a forged id reaches nothing)."""
    story = await get_story(db, story_id)
    return story if story is not None and story.person_id == person_id else None


async def add_item(
    db: Database, story_id: int, *, kind: str, path: str, caption: str, sha256: str, size: int
) -> ItemView:
    async with db.session() as session:
        count = await session.scalar(select(func.count()).where(StoryItem.story_id == story_id))
        item = StoryItem(
            story_id=story_id,
            kind=kind,
            path=path,
            caption=caption,
            sha256=sha256,
            size=size,
            position=int(count or 0),
            created_at=utcnow(),
        )
        session.add(item)
        await session.flush()
        return ItemView(item.id, item.kind, item.path, item.caption, item.sha256, item.size)


async def item_count(db: Database, story_id: int) -> int:
    async with db.session() as session:
        return int(await session.scalar(select(func.count()).where(StoryItem.story_id == story_id)) or 0)


async def caption_last_item(db: Database, story_id: int, caption: str) -> bool:
    """Give the newest item without a caption this one; False when every item has one."""
    async with db.session() as session:
        item = (
            await session.execute(
                select(StoryItem)
                .where(StoryItem.story_id == story_id, StoryItem.caption == "")
                .order_by(StoryItem.position.desc())
                .limit(1)
            )
        ).scalar_one_or_none()
        if item is None:
            return False
        item.caption = caption
        return True


async def append_text(
    db: Database, person_id: int, story_id: int, more: str, *, limit: int, joint: str = "\n"
) -> StoryView | None:
    """The next part of a draft's text, after the text so far (Telegram cuts a long paste into several
    messages); None when the draft is not the person's or the joined text would exceed ``limit``."""
    async with db.session() as session:
        story = await session.get(Story, story_id, with_for_update=True)
        if story is None or story.person_id != person_id or story.state != StoryState.DRAFT:
            return None
        text = f"{story.text}{joint}{more}" if story.text and more else story.text or more
        if len(text) > limit:
            return None
        story.text = text
        story.updated_at = utcnow()
        await session.flush()
        return await _view(session, story)


async def set_consent(db: Database, person_id: int, story_id: int, consent: StoryConsent) -> bool:
    """The draft's publication consent; False when it is not the person's draft."""
    async with db.session() as session:
        result = await session.execute(
            update(Story)
            .where(Story.id == story_id, Story.person_id == person_id, Story.state == StoryState.DRAFT)
            .values(consent=consent, updated_at=utcnow())
        )
        return _changed(result)


async def submit(db: Database, person_id: int, story_id: int) -> StoryView | None:
    """The family confirms the draft: it waits for a volunteer (None: not their draft, or no consent)."""
    now = utcnow()
    async with db.session() as session:
        result = await session.execute(
            update(Story)
            .where(
                Story.id == story_id,
                Story.person_id == person_id,
                Story.state == StoryState.DRAFT,
                Story.consent.is_not(None),
            )
            .values(state=StoryState.PENDING, submitted_at=now, updated_at=now)
        )
        if not _changed(result):
            return None
        story = await session.get(Story, story_id)
        assert story is not None
        return await _view(session, story)


async def discard_draft(db: Database, storage: StoryStore, person_id: int, story_id: int) -> bool:
    """Throw an unfinished draft and its files away (nothing of it is kept)."""
    async with db.session() as session:
        result = await session.execute(
            delete(Story).where(
                Story.id == story_id, Story.person_id == person_id, Story.state == StoryState.DRAFT
            )
        )
        deleted = _changed(result)
    if deleted:
        await storage.delete_story(story_id)
    return deleted


async def stories_of(db: Database, person_id: int) -> list[StoryView]:
    """The person's sent stories (not drafts), newest first."""
    async with db.session() as session:
        rows = (
            (
                await session.execute(
                    select(Story)
                    .where(Story.person_id == person_id, Story.state != StoryState.DRAFT)
                    .order_by(Story.id.desc())
                )
            )
            .scalars()
            .all()
        )
        return [await _view(session, story) for story in rows]


async def withdraw(db: Database, person_id: int, story_id: int) -> StoryView | None:
    """The family withdraws a story: never published again (the next build leaves it out), and it
    leaves the moderation queue. None when it is not theirs or already withdrawn."""
    now = utcnow()
    async with db.session() as session:
        result = await session.execute(
            update(Story)
            .where(Story.id == story_id, Story.person_id == person_id, Story.withdrawn.is_(False))
            .values(withdrawn=True, withdrawn_at=now, updated_at=now)
        )
        if not _changed(result):
            return None
        story = await session.get(Story, story_id)
        assert story is not None
        return await _view(session, story)


async def forget_stories(db: Database, storage: StoryStore, person_id: int) -> int:
    """/forget: the person's stories, their items and their files are erased; how many stories."""
    async with db.session() as session:
        ids = list(
            (await session.execute(select(Story.id).where(Story.person_id == person_id))).scalars().all()
        )
        sent = list(
            (
                await session.execute(
                    select(Story.id).where(Story.person_id == person_id, Story.state != StoryState.DRAFT)
                )
            )
            .scalars()
            .all()
        )
        if ids:
            await session.execute(delete(StoryItem).where(StoryItem.story_id.in_(ids)))
            await session.execute(delete(Story).where(Story.id.in_(ids)))
        now = utcnow()
        for story_id in sent:  # the partners' export tells them to take these down (ids only)
            await session.merge(StoryErasure(story_id=story_id, erased_at=now))
    for story_id in ids:
        await storage.delete_story(story_id)
    return len(ids)


# ------------------------------------------------------------------------------------ moderation


async def next_pending(db: Database, *, after: int = 0) -> StoryView | None:
    """The longest-waiting pending story (with an id above ``after``, to pass one over), or None."""
    async with db.session() as session:
        story = (
            await session.execute(
                select(Story)
                .where(Story.state == StoryState.PENDING, Story.withdrawn.is_(False), Story.id > after)
                .order_by(Story.id)
                .limit(1)
            )
        ).scalar_one_or_none()
        return await _view(session, story) if story is not None else None


async def pending_count(db: Database) -> int:
    async with db.session() as session:
        return int(
            await session.scalar(
                select(func.count()).where(Story.state == StoryState.PENDING, Story.withdrawn.is_(False))
            )
            or 0
        )


async def _decide(
    db: Database, story_id: int, moderator_id: int, state: StoryState, reason: str | None
) -> StoryView | None:
    now = utcnow()
    async with db.session() as session:
        result = await session.execute(
            update(Story)
            .where(Story.id == story_id, Story.state == StoryState.PENDING, Story.withdrawn.is_(False))
            .values(
                state=state,
                moderator_id=moderator_id,
                decline_reason=reason,
                moderated_at=now,
                updated_at=now,
            )
        )
        if not _changed(result):
            return None
        story = await session.get(Story, story_id)
        assert story is not None
        return await _view(session, story)


async def approve(db: Database, story_id: int, moderator_id: int) -> StoryView | None:
    """Approve a pending story; None when it is no longer pending (decided by someone else, withdrawn)."""
    return await _decide(db, story_id, moderator_id, StoryState.APPROVED, None)


async def decline(db: Database, story_id: int, moderator_id: int, reason: str) -> StoryView | None:
    """Decline a pending story with the reason the family is shown; None when no longer pending."""
    return await _decide(db, story_id, moderator_id, StoryState.DECLINED, reason)


# ------------------------------------------------------------------------------------ publishing


def _publishable() -> ColumnElement[bool]:
    return (
        (Story.state == StoryState.APPROVED)
        & Story.consent.in_([consent.value for consent in PUBLISHED_CONSENTS])
        & Story.withdrawn.is_(False)
    )


async def publishable(db: Database) -> list[StoryView]:
    """Every story that may be published, oldest first (approved, consented, not withdrawn)."""
    async with db.session() as session:
        rows = (await session.execute(select(Story).where(_publishable()).order_by(Story.id))).scalars().all()
        return [await _view(session, story) for story in rows]


async def changed_since(db: Database, since: datetime | None) -> list[StoryView]:
    """Stories whose publication changed after ``since`` (everything when None), oldest change first:
    drafts never; withdrawn, declined and units-only ones too, so a partner can take them down."""
    async with db.session() as session:
        statement = select(Story).where(Story.state != StoryState.DRAFT)
        if since is not None:
            statement = statement.where(Story.updated_at > since)
        rows = (await session.execute(statement.order_by(Story.updated_at, Story.id))).scalars().all()
        return [await _view(session, story) for story in rows]


async def erased_since(db: Database, since: datetime | None) -> list[tuple[int, datetime]]:
    """Ids of stories erased with /forget after ``since`` (all when None), with when, oldest first."""
    async with db.session() as session:
        statement = select(StoryErasure.story_id, StoryErasure.erased_at)
        if since is not None:
            statement = statement.where(StoryErasure.erased_at > since)
        rows = (await session.execute(statement.order_by(StoryErasure.erased_at))).all()
        result: list[tuple[int, datetime]] = []
        for story_id, erased_at in rows:
            when = aware(erased_at)
            assert when is not None
            result.append((int(story_id), when))
        return result


def family_shown(story: StoryView) -> str | None:
    """The family's name as it may be published: only with ``named`` consent."""
    return story.family_name if story.consent == StoryConsent.NAMED else None


def sorted_by_soldier(stories: Sequence[StoryView]) -> list[StoryView]:
    return sorted(stories, key=lambda story: (story.soldier_name.casefold(), story.id))
