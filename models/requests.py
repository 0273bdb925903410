"""Saved search requests of relatives, their matches with readings, and the outbox of notifications."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigId, utcnow, value_enum


class RequestStatus(enum.StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    DELETED = "deleted"


class SearchRequest(Base):
    """What a relative knows about a soldier, saved so that new readings are checked against it."""

    __tablename__ = "search_requests"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(BigId, ForeignKey("people.id", ondelete="CASCADE"), index=True)
    surname: Mapped[str] = mapped_column(Text)
    name: Mapped[str | None] = mapped_column(Text)
    patronymic: Mapped[str | None] = mapped_column(Text)
    birth_year: Mapped[int | None]
    birth_year_to: Mapped[int | None]
    birthplace: Mapped[str | None] = mapped_column(Text)
    draft_office: Mapped[str | None] = mapped_column(Text)
    relative: Mapped[str | None] = mapped_column(Text)
    family_place: Mapped[str | None] = mapped_column(Text)
    status: Mapped[RequestStatus] = mapped_column(
        value_enum(RequestStatus), default=RequestStatus.ACTIVE, index=True
    )
    # Search keys of the request (same engine as readings), for matching new readings in reverse.
    derived: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)  # per week (the board)
    checked_readings: Mapped[int] = mapped_column(default=0)
    last_heartbeat_at: Mapped[datetime | None]


class NotificationState(enum.StrEnum):
    PENDING = "pending"
    QUEUED = "queued"
    SKIPPED = "skipped"


class Match(Base):
    """A (saved request, reading) pair the engine found; recorded once, whatever happens later."""

    __tablename__ = "matches"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(BigId, ForeignKey("search_requests.id", ondelete="CASCADE"))
    reading_pk: Mapped[int] = mapped_column(BigId, ForeignKey("readings.id", ondelete="CASCADE"), index=True)
    score: Mapped[float] = mapped_column(Float)
    # The engine's chance (0-1) that the reading is the man against "he is not in the registry" alone
    # (`Candidate.alone`, the notification rule's). None for matches recorded before it was kept.
    alone: Mapped[float | None] = mapped_column(Float)
    # The chance against the registry's other readings AND the other saved searches the reading fits
    # (`Candidate.joint`): the review queue's order. None for matches recorded before it was kept.
    joint: Mapped[float | None] = mapped_column(Float)
    strong: Mapped[bool] = mapped_column(default=False)
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    notification: Mapped[NotificationState] = mapped_column(
        value_enum(NotificationState), default=NotificationState.PENDING
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("request_id", "reading_pk", name="uq_matches_request_reading"),
        # Matches found and told per week (the board): counted from the index alone.
        Index("ix_matches_created_notification", "created_at", "notification"),
    )


class OutboxState(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    DROPPED = "dropped"


class OutboxMessage(Base):
    """A message the bot owes someone; sent by the outbox worker, never twice (dedup_key is unique)."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    chat_id: Mapped[int] = mapped_column(BigId)
    kind: Mapped[str] = mapped_column(String(32))
    dedup_key: Mapped[str] = mapped_column(String(128), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state: Mapped[OutboxState] = mapped_column(value_enum(OutboxState), default=OutboxState.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    # While "sending": the process that claimed it (bot.services.locks.process_identity), so a claim of a
    # process that died is taken over at once instead of after its lease.
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    # Messages of one thread (e.g. "case:12", a case's relays) are sent one after another in id order: one
    # waits while an earlier one of its thread is still pending or being sent.
    thread: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_outbox_state_next", "state", "next_attempt_at"),
        Index("ix_outbox_thread", "thread", "id"),
    )


class SearchLogEntry(Base):
    """One registry search a person ran (when, and whether anything was found): counted per week on the
    administrators' board. Nothing of who searched or for whom is kept."""

    __tablename__ = "search_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    found: Mapped[int] = mapped_column(default=0)
