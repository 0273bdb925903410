"""The declarative base, shared column types and naming conventions for constraints (Alembic-friendly)."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, BigInteger, DateTime, Enum, Integer, MetaData
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# JSON everywhere, JSONB on PostgreSQL.
JsonType = JSON().with_variant(JSONB(), "postgresql")
# Telegram ids need 64 bits; SQLite only makes INTEGER PRIMARY KEY an alias of rowid, so ids use this variant.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def value_enum(cls: type[enum.Enum]) -> Enum:
    """A Python enum stored as its values in a short VARCHAR (no native database enum to migrate)."""
    return Enum(cls, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])


def utcnow() -> datetime:
    """Timezone-aware now, the only clock the models use."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: DateTime(timezone=True),
        dict[str, Any]: JsonType,
        list[Any]: JsonType,
    }
