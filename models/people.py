"""People who talk to the bot (relatives, volunteers, admins) and their dialogue state, written through."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigId, utcnow, value_enum


class Role(enum.StrEnum):
    RELATIVE = "relative"
    VOLUNTEER = "volunteer"
    ADMIN = "admin"


class Person(Base):
    """A Telegram user; the primary key is the Telegram user id (also their private chat id)."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    language: Mapped[str | None] = mapped_column(String(8))
    role: Mapped[Role] = mapped_column(
        value_enum(Role),
        default=Role.RELATIVE,
    )
    first_name: Mapped[str | None] = mapped_column(Text)
    username: Mapped[str | None] = mapped_column(String(64))
    # Consent to store personal data; nothing about a relative is kept before it.
    consent_at: Mapped[datetime | None] = mapped_column(index=True)  # new users per week (the board)
    # False once Telegram answered 403 (the user blocked the bot); no more messages are tried.
    active: Mapped[bool] = mapped_column(default=True)
    blocked_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class DialogueState(Base):
    """The conversation state of one chat and user, written on every change so a restart loses nothing."""

    __tablename__ = "dialogue_states"

    conversation: Mapped[str] = mapped_column(String(32), primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    state: Mapped[str | None] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class RoleChange(Base):
    """The audit of roles granted and revoked from the chat (/grant, /revoke): who, what, by whom, when."""

    __tablename__ = "role_changes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(BigId, index=True)  # no foreign key: the audit outlives /forget
    role: Mapped[Role] = mapped_column(value_enum(Role))
    granted: Mapped[bool]  # True: granted, False: revoked
    by: Mapped[int] = mapped_column(BigId)
    at: Mapped[datetime] = mapped_column(default=utcnow)
