"""The registry: medallion readings as imported (raw text kept), their search keys, import batches."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigId, utcnow


class BatchState:
    """What became of an import batch (`ImportBatch.state`)."""

    RUNNING = "running"  # being written; alive while its process is (host, pid, start) or heartbeats
    FINISHED = "finished"  # complete: its readings are visible
    LOST = "lost"  # its import failed or was killed; hidden until finished or rolled back
    ROLLED_BACK = "rolled_back"  # what it inserted was deleted


class ImportBatch(Base):
    """One run of `amanat import` (or demo-data); readings changed by it carry its id as `changed_batch`.

    Its readings are visible (to the bot's index and the matching job) once its state is finished; a
    running batch is held by the process named by (host, pid, process_start), which also writes
    `heartbeat_at` while it imports (bot.services.import_batches).
    """

    __tablename__ = "import_batches"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    state: Mapped[str] = mapped_column(String(16), default=BatchState.RUNNING, server_default="finished")
    host: Mapped[str | None] = mapped_column(String(255))
    pid: Mapped[int | None]
    process_start: Mapped[str | None] = mapped_column(String(32))
    heartbeat_at: Mapped[datetime | None]
    rows_read: Mapped[int] = mapped_column(default=0)
    inserted: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    unchanged: Mapped[int] = mapped_column(default=0)
    rejected: Mapped[int] = mapped_column(default=0)


class Reading(Base):
    """One registry record: the raw text of a medallion insert (or archive entry) exactly as imported."""

    __tablename__ = "readings"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    reading_id: Mapped[str] = mapped_column(String(128), unique=True)
    surname: Mapped[str] = mapped_column(Text)
    name: Mapped[str | None] = mapped_column(Text)
    patronymic: Mapped[str | None] = mapped_column(Text)
    birth_year: Mapped[str | None] = mapped_column(Text)
    birthplace: Mapped[str | None] = mapped_column(Text)
    draft_office: Mapped[str | None] = mapped_column(Text)
    rank: Mapped[str | None] = mapped_column(Text)
    family_address: Mapped[str | None] = mapped_column(Text)
    relative: Mapped[str | None] = mapped_column(Text)
    found_place: Mapped[str | None] = mapped_column(Text)
    found_date: Mapped[str | None] = mapped_column(Text)
    search_unit: Mapped[str | None] = mapped_column(Text)
    burial_place: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    # Columns of the imported file that the registry format does not name, kept as they were.
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The reading notation parsed into structured alternatives, per field (bot.search.notation).
    parsed: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # What the search engine derives from the reading, with the engine version that derived it.
    surname_norm: Mapped[str] = mapped_column(String(128), index=True, default="")
    derived: Mapped[dict[str, Any]] = mapped_column(default=dict)
    engine_version: Mapped[str] = mapped_column(String(32), default="")
    content_hash: Mapped[str] = mapped_column(String(64))
    changed_batch: Mapped[int] = mapped_column(BigId, ForeignKey("import_batches.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReadingKey(Base):
    """A blocking key of a reading; a search looks keys up here instead of scanning the registry.

    Keyed by (reading, key) without a rowid, so an import appends to the table in reading order; the
    index on `key` (which also carries the reading, so a lookup never touches the table) is the one a
    large import drops and rebuilds in one sort (`bot.services.registry_import`).
    """

    __tablename__ = "reading_keys"

    reading_pk: Mapped[int] = mapped_column(
        BigId, ForeignKey("readings.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(96), primary_key=True)

    __table_args__ = (Index("ix_reading_keys_key", "key"), {"sqlite_with_rowid": False})


class RegistryMeta(Base):
    """Small key/value facts about the registry (e.g. the engine version its keys were built with)."""

    __tablename__ = "registry_meta"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
