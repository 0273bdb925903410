"""import batches carry a state and the importing process's identity and heartbeat

A batch that died no longer hides the imports after it: its readings stay hidden until an administrator
finishes or rolls it back (`amanat import --status / --finish / --rollback`). Batches that never finished
before this revision are taken as lost.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 09:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "import_batches",
        sa.Column("state", sa.String(length=16), nullable=False, server_default="finished"),
    )
    op.add_column("import_batches", sa.Column("host", sa.String(length=255), nullable=True))
    op.add_column("import_batches", sa.Column("pid", sa.Integer(), nullable=True))
    op.add_column("import_batches", sa.Column("process_start", sa.String(length=32), nullable=True))
    op.add_column("import_batches", sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE import_batches SET state = 'lost' WHERE finished_at IS NULL")


def downgrade() -> None:
    # SQLite (3.35 and later) drops a column in place; rebuilding the table would break the readings'
    # foreign keys to it.
    for column in ("heartbeat_at", "process_start", "pid", "host", "state"):
        op.drop_column("import_batches", column)
