"""Appeals: an administrator's broadcast seeking the relatives of a named soldier, and per-chat deliveries."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigId, utcnow, value_enum


class AppealStatus(enum.StrEnum):
    DRAFT = "draft"
    SENDING = "sending"
    PAUSED = "paused"
    DONE = "done"


class DeliveryState(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    BLOCKED = "blocked"
    FAILED = "failed"


class Appeal(Base):
    __tablename__ = "appeals"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    created_by: Mapped[int] = mapped_column(BigId, ForeignKey("people.id"))
    text: Mapped[str] = mapped_column(Text)
    reading_pk: Mapped[int | None] = mapped_column(BigId, ForeignKey("readings.id", ondelete="SET NULL"))
    status: Mapped[AppealStatus] = mapped_column(value_enum(AppealStatus), default=AppealStatus.DRAFT)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class AppealDelivery(Base):
    __tablename__ = "appeal_deliveries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    appeal_id: Mapped[int] = mapped_column(BigId, ForeignKey("appeals.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(BigId, ForeignKey("people.id", ondelete="CASCADE"))
    state: Mapped[DeliveryState] = mapped_column(value_enum(DeliveryState), default=DeliveryState.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("appeal_id", "person_id", name="uq_appeal_deliveries_appeal_person"),
        Index("ix_appeal_deliveries_appeal_state", "appeal_id", "state"),
    )
