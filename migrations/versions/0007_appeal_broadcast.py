"""roles granted in the chat are audited; appeals carry the soldier, the audience, a photo and the progress message; deliveries are claimed

The broadcaster claims one delivery at a time with the claiming process's identity and a lease
(`claimed_by`, `next_attempt_at`), as the outbox does, so a kill -9 resumes at once with nobody twice but
the one in flight; `next_attempt_at` also holds a network error's back-off.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 10:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.add_column("appeals", sa.Column("soldier", JSON, nullable=False, server_default=sa.text("'{}'")))
    op.add_column(
        "appeals", sa.Column("audience", sa.String(length=120), nullable=False, server_default="all")
    )
    op.add_column("appeals", sa.Column("photo_file_id", sa.Text(), nullable=True))
    op.add_column("appeals", sa.Column("started_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("appeals", sa.Column("progress_chat_id", BIG_ID, nullable=True))
    op.add_column("appeals", sa.Column("progress_message_id", BIG_ID, nullable=True))
    op.add_column("appeals", sa.Column("channel_message_id", BIG_ID, nullable=True))
    op.add_column("appeal_deliveries", sa.Column("claimed_by", sa.String(length=200), nullable=True))
    op.add_column(
        "appeal_deliveries", sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_index("ix_appeal_deliveries_claim", "appeal_deliveries", ["appeal_id", "state", "id"])
    op.create_table(
        "role_changes",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("person_id", BIG_ID, nullable=False),
        sa.Column(
            "role",
            sa.Enum("relative", "volunteer", "admin", name="role", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("by", BIG_ID, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_role_changes")),
    )
    op.create_index(op.f("ix_role_changes_person_id"), "role_changes", ["person_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_role_changes_person_id"), table_name="role_changes")
    op.drop_table("role_changes")
    # SQLite (3.35 and later) drops a column in place; rebuilding appeals would cascade to its deliveries.
    op.drop_index("ix_appeal_deliveries_claim", table_name="appeal_deliveries")
    for column in ("next_attempt_at", "claimed_by"):
        op.drop_column("appeal_deliveries", column)
    for column in (
        "channel_message_id",
        "progress_message_id",
        "progress_chat_id",
        "started_at",
        "photo_file_id",
        "audience",
        "soldier",
    ):
        op.drop_column("appeals", column)
