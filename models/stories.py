"""The memory book: a family's story about a soldier, its photos and scans, its consent and moderation.

A story is written with ``/story`` (a draft until the family confirms it), then waits for a volunteer
(pending), who approves or declines it (with a reason the family sees). Only an approved story whose
family consented to publication (``named`` or ``anonymous``) and that is not withdrawn ever leaves the
bot: the exhibition (``amanat exhibition build``) and the partners' export (``amanat export stories``).
The files are kept in the storage directory (``stories.storage_dir``); an item holds its path there.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigId, utcnow, value_enum


class StoryConsent(enum.StrEnum):
    """What the family allowed: publish with their name, without it, or show the search units only."""

    NAMED = "named"
    ANONYMOUS = "anonymous"
    UNITS_ONLY = "units_only"


class StoryState(enum.StrEnum):
    DRAFT = "draft"  # being written in the chat; never shown to anyone
    PENDING = "pending"  # sent for review
    APPROVED = "approved"
    DECLINED = "declined"


class Story(Base):
    __tablename__ = "stories"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(BigId, ForeignKey("people.id", ondelete="CASCADE"), index=True)
    # The soldier: a registry reading when he was found, else the family's saved search.
    reading_pk: Mapped[int | None] = mapped_column(BigId, ForeignKey("readings.id", ondelete="SET NULL"))
    request_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("search_requests.id", ondelete="SET NULL")
    )
    # Who the story is about as the family named him (surname, name, patronymic, birth_year, birthplace),
    # kept so the story still says who he is when the saved search is deleted.
    soldier: Mapped[dict[str, Any]] = mapped_column(default=dict)
    text: Mapped[str] = mapped_column(Text, default="")
    consent: Mapped[StoryConsent | None] = mapped_column(value_enum(StoryConsent))
    # The family's name as it may be published with a "named" story (their Telegram first name by default).
    family_name: Mapped[str | None] = mapped_column(Text)
    state: Mapped[StoryState] = mapped_column(value_enum(StoryState), default=StoryState.DRAFT, index=True)
    decline_reason: Mapped[str | None] = mapped_column(Text)
    moderator_id: Mapped[int | None] = mapped_column(BigId)
    withdrawn: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None]
    moderated_at: Mapped[datetime | None]
    withdrawn_at: Mapped[datetime | None]
    # Any change that matters to a partner (submitted, moderated, withdrawn): the export's watermark.
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_stories_updated_at", "updated_at"),)


class StoryItem(Base):
    """One photo or PDF of a story, stored re-encoded (photos) or as sent (PDFs) in the storage directory."""

    __tablename__ = "story_items"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    story_id: Mapped[int] = mapped_column(BigId, ForeignKey("stories.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # "photo" or "pdf"
    path: Mapped[str] = mapped_column(Text)  # relative to stories.storage_dir
    caption: Mapped[str] = mapped_column(Text, default="")
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(default=0)
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StoryErasure(Base):
    """A story erased with /forget: its id and when, nothing else, so the partners' export can tell
    them to take it down (the story, its items and files are gone)."""

    __tablename__ = "story_erasures"

    story_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    erased_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
