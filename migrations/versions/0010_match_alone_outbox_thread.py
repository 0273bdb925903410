"""the engine's chances kept with each match: against "not in the registry" (alone) and against the other
readings and searches too (joint, the review queue's order); and
an ordering thread for outbox messages (a case's relays are sent in the order they were written)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("matches") as batch:
        batch.add_column(sa.Column("alone", sa.Float(), nullable=True))
        batch.add_column(sa.Column("joint", sa.Float(), nullable=True))
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("thread", sa.String(length=64), nullable=True))
    op.create_index("ix_outbox_thread", "outbox", ["thread", "id"])


def downgrade() -> None:
    op.drop_index("ix_outbox_thread", table_name="outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("thread")
    with op.batch_alter_table("matches") as batch:
        batch.drop_column("joint")
        batch.drop_column("alone")
