"""Appeals: an administrator's broadcast seeking the relatives of a named soldier, and per-chat deliveries.

An appeal is a draft until it is sent; sending writes one `AppealDelivery` per recipient (the audience
frozen at that moment) before anything goes out, and the running bot's broadcaster works through them
(bot/services/broadcast.py, handlers/appeals.mmd for the states).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigId, utcnow, value_enum


class AppealStatus(enum.StrEnum):
    DRAFT = "draft"
    SENDING = "sending"
    PAUSED = "paused"
    DONE = "done"
    CANCELLED = "cancelled"


class DeliveryState(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed by one process (claimed_by) and being sent
    SENT = "sent"
    BLOCKED = "blocked"  # 403: the person blocked the bot (they are marked inactive)
    FAILED = "failed"  # "chat not found", or a network error after every retry
    CANCELLED = "cancelled"  # the appeal was cancelled before this one went out


class Appeal(Base):
    __tablename__ = "appeals"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    created_by: Mapped[int] = mapped_column(BigId, ForeignKey("people.id"))
    text: Mapped[str] = mapped_column(Text)
    reading_pk: Mapped[int | None] = mapped_column(BigId, ForeignKey("readings.id", ondelete="SET NULL"))
    status: Mapped[AppealStatus] = mapped_column(value_enum(AppealStatus), default=AppealStatus.DRAFT)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    # Who is sought: surname, name, born, place (as typed, or from the registry record).
    soldier: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # "all", "region:<name>" or "lang:<ru|kk|en>" (bot.services.broadcast.Audience).
    audience: Mapped[str] = mapped_column(String(120), default="all")
    photo_file_id: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None]
    # The administrator's progress message, edited while the broadcast runs.
    progress_chat_id: Mapped[int | None] = mapped_column(BigId)
    progress_message_id: Mapped[int | None] = mapped_column(BigId)
    # The appeal's post in the public channel (broadcast.channel_id), once posted.
    channel_message_id: Mapped[int | None] = mapped_column(BigId)


class AppealDelivery(Base):
    __tablename__ = "appeal_deliveries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    appeal_id: Mapped[int] = mapped_column(BigId, ForeignKey("appeals.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(BigId, ForeignKey("people.id", ondelete="CASCADE"))
    state: Mapped[DeliveryState] = mapped_column(value_enum(DeliveryState), default=DeliveryState.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]
    # While "sending": the claiming process (bot.services.locks.process_identity); the claim's lease ends at
    # next_attempt_at. While "pending": not to be tried before next_attempt_at (a retry's back-off).
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    next_attempt_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("appeal_id", "person_id", name="uq_appeal_deliveries_appeal_person"),
        Index("ix_appeal_deliveries_appeal_state", "appeal_id", "state"),
        # The broadcaster claims the first due delivery by id, one at a time.
        Index("ix_appeal_deliveries_claim", "appeal_id", "state", "id"),
    )
