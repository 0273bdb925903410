"""Volunteer cases: a relative's request escalated to the volunteers, claimed by one, and its messages."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigId, utcnow, value_enum


class CaseStatus(enum.StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"
    CLOSED = "closed"


class Case(Base):
    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(BigId, ForeignKey("people.id", ondelete="CASCADE"), index=True)
    request_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("search_requests.id", ondelete="SET NULL")
    )
    reading_pk: Mapped[int | None] = mapped_column(BigId, ForeignKey("readings.id", ondelete="SET NULL"))
    summary: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[CaseStatus] = mapped_column(
        value_enum(CaseStatus),
        default=CaseStatus.OPEN,
        index=True,
    )
    volunteer_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("people.id"))
    group_message_id: Mapped[int | None] = mapped_column(BigId)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]


class CaseMessage(Base):
    __tablename__ = "case_messages"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(BigId, ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(String(16))  # "relative" or "volunteer"
    author_id: Mapped[int] = mapped_column(BigId)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
