"""Scheduling facts that must survive restarts: job locks (one pass at a time) and watermarks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class JobLock(Base):
    """A lock row (used on SQLite; PostgreSQL uses an advisory lock) so only one pass of a job runs."""

    __tablename__ = "job_locks"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(Text)
    acquired_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]


class Watermark(Base):
    """How far a job has got, e.g. the last import batch the matching job has seen."""

    __tablename__ = "watermarks"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SendBudget(Base):
    """A token bucket shared by every bot process (bot/services/send_budget.py): Telegram limits a token.

    ``tokens`` is the budget left at ``updated`` (seconds since the epoch, by the database's clock, so the
    processes share one clock).
    """

    __tablename__ = "send_budget"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    tokens: Mapped[float]
    updated: Mapped[float]
