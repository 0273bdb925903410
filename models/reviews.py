"""Volunteers' verdicts on recorded matches the relative was not told about (the review queue)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigId, utcnow


class MatchReview(Base):
    """One verdict per match, whoever gives it first: "likely" (the relative is told, once) or "not"
    (never shown again). A skipped match has no row."""

    __tablename__ = "match_reviews"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    match_id: Mapped[int] = mapped_column(BigId, ForeignKey("matches.id", ondelete="CASCADE"), unique=True)
    verdict: Mapped[str] = mapped_column(String(16))
    reviewer_id: Mapped[int] = mapped_column(BigId)
    at: Mapped[datetime] = mapped_column(default=utcnow)
