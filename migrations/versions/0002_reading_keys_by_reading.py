"""reading_keys keyed by (reading_pk, key), an index on key

Imports append keys in reading order instead of inserting them all over a (key, reading) tree, and a
large import can drop the key index and rebuild it in one sort.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 20:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FK = (
    "CONSTRAINT fk_reading_keys_reading_pk_readings FOREIGN KEY (reading_pk) "
    "REFERENCES readings (id) ON DELETE CASCADE"
)


def _sqlite_rebuild(primary_key: str, without_rowid: bool) -> None:
    suffix = " WITHOUT ROWID" if without_rowid else ""
    op.execute(
        'CREATE TABLE _reading_keys_new ("key" VARCHAR(96) NOT NULL, reading_pk INTEGER NOT NULL, '
        f"CONSTRAINT pk_reading_keys PRIMARY KEY ({primary_key}), {_FK}){suffix}"
    )
    op.execute(
        f'INSERT INTO _reading_keys_new ("key", reading_pk) SELECT "key", reading_pk FROM reading_keys '
        f"ORDER BY {primary_key}"
    )
    op.execute("DROP TABLE reading_keys")
    op.execute("ALTER TABLE _reading_keys_new RENAME TO reading_keys")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_rebuild('reading_pk, "key"', without_rowid=True)
    else:
        op.drop_index("ix_reading_keys_reading_pk", table_name="reading_keys")
        op.drop_constraint("pk_reading_keys", "reading_keys", type_="primary")
        op.create_primary_key("pk_reading_keys", "reading_keys", ["reading_pk", "key"])
    op.create_index("ix_reading_keys_key", "reading_keys", ["key"])


def downgrade() -> None:
    op.drop_index("ix_reading_keys_key", table_name="reading_keys")
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_rebuild('"key", reading_pk', without_rowid=False)
    else:
        op.drop_constraint("pk_reading_keys", "reading_keys", type_="primary")
        op.create_primary_key("pk_reading_keys", "reading_keys", ["key", "reading_pk"])
    op.create_index("ix_reading_keys_reading_pk", "reading_keys", ["reading_pk"])
