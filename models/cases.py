"""Volunteer cases: a relative's request escalated to the volunteers, claimed by one, its messages, where
the bot posted it, and the audit trail of every status change.

A case goes new → claimed → answered → closed (see handlers/cases.mmd). ``waiting_since`` is when the
case began waiting for a volunteer (unclaimed, or a relative's message not answered yet) and
``reminded_at`` when the reminder job last reminded of it: together they are the job's watermark, so a
restart neither forgets nor repeats a reminder.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigId, utcnow, value_enum


class CaseStatus(enum.StrEnum):
    NEW = "new"
    CLAIMED = "claimed"
    ANSWERED = "answered"
    CLOSED = "closed"


class Case(Base):
    __tablename__ = "cases"
    # The web board's lists: a volunteer's own cases, and the closed ones newest first.
    __table_args__ = (
        Index("ix_cases_volunteer_status", "volunteer_id", "status"),
        Index("ix_cases_status_closed", "status", "closed_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(BigId, ForeignKey("people.id", ondelete="CASCADE"), index=True)
    request_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("search_requests.id", ondelete="SET NULL")
    )
    reading_pk: Mapped[int | None] = mapped_column(BigId, ForeignKey("readings.id", ondelete="SET NULL"))
    summary: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[CaseStatus] = mapped_column(
        value_enum(CaseStatus),
        default=CaseStatus.NEW,
        index=True,
    )
    volunteer_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("people.id"))
    group_message_id: Mapped[int | None] = mapped_column(BigId)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    # How the relative came: "results", "my", "ask", "family", "review", "appeal" (its id in `search`).
    source: Mapped[str] = mapped_column(String(16), default="ask")
    # What the relative knew about the soldier (SearchFields as a dict) and the top results they saw.
    search: Mapped[dict[str, Any]] = mapped_column(default=dict)
    results: Mapped[list[Any]] = mapped_column(default=list)
    waiting_since: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]


class CaseMessage(Base):
    __tablename__ = "case_messages"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(BigId, ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(String(16))  # "relative" or "volunteer"
    author_id: Mapped[int] = mapped_column(BigId)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # "text", "photo" or "document"; a file is kept as Telegram's file id (the bot downloads nothing).
    kind: Mapped[str] = mapped_column(String(16), default="text")
    file_id: Mapped[str | None] = mapped_column(String(256))


class CasePost(Base):
    """A message the bot sent about a case: the card in the volunteers' group or a volunteer's chat,
    or a relayed message; a reply to it belongs to the case."""

    __tablename__ = "case_posts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(BigId, ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    chat_id: Mapped[int] = mapped_column(BigId)
    message_id: Mapped[int] = mapped_column(BigId)
    kind: Mapped[str] = mapped_column(String(16))  # "board" (with Claim), "desk" (the claimer's), "relay"
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("chat_id", "message_id", name="uq_case_posts_chat_message"),)


class CaseEvent(Base):
    """One status change of a case: who, when, from what, to what (kept after the case is erased;
    it holds ids and statuses only, and a relative's id is cleared when they are forgotten)."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(BigId, index=True)
    actor: Mapped[str] = mapped_column(String(16))  # "relative", "volunteer" or "system"
    actor_id: Mapped[int | None] = mapped_column(BigId)
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(default=utcnow)
