"""cases: statuses new/claimed/answered/closed, the search they carry, posts, files and an audit trail;
volunteers' verdicts on unannounced matches (the review queue)

A case now carries what the relative searched for and the results they saw, the reminder job's watermark
(``waiting_since``, ``reminded_at``), where the bot posted it (``case_posts``, so a reply to any of those
messages reaches the case), relayed files, and one ``case_events`` row per status change. Cases that were
"open" are "new".

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 09:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.add_column("cases", sa.Column("source", sa.String(length=16), nullable=False, server_default="ask"))
    op.add_column("cases", sa.Column("search", JSON, nullable=False, server_default=sa.text("'{}'")))
    op.add_column("cases", sa.Column("results", JSON, nullable=False, server_default=sa.text("'[]'")))
    op.add_column("cases", sa.Column("waiting_since", sa.DateTime(timezone=True), nullable=True))
    op.add_column("cases", sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE cases SET status = 'new' WHERE status = 'open'")
    op.execute("UPDATE cases SET waiting_since = created_at WHERE status <> 'closed'")

    op.add_column(
        "case_messages", sa.Column("kind", sa.String(length=16), nullable=False, server_default="text")
    )
    op.add_column("case_messages", sa.Column("file_id", sa.String(length=256), nullable=True))

    op.create_table(
        "case_posts",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("case_id", BIG_ID, nullable=False),
        sa.Column("chat_id", BIG_ID, nullable=False),
        sa.Column("message_id", BIG_ID, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_posts_case_id_cases"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_posts")),
        sa.UniqueConstraint("chat_id", "message_id", name="uq_case_posts_chat_message"),
    )
    op.create_index(op.f("ix_case_posts_case_id"), "case_posts", ["case_id"], unique=False)

    op.create_table(
        "case_events",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("case_id", BIG_ID, nullable=False),
        sa.Column("actor", sa.String(length=16), nullable=False),
        sa.Column("actor_id", BIG_ID, nullable=True),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_events")),
    )
    op.create_index(op.f("ix_case_events_case_id"), "case_events", ["case_id"], unique=False)

    op.create_table(
        "match_reviews",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("match_id", BIG_ID, nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("reviewer_id", BIG_ID, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["match_id"], ["matches.id"], name=op.f("fk_match_reviews_match_id_matches"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_match_reviews")),
        sa.UniqueConstraint("match_id", name=op.f("uq_match_reviews_match_id")),
    )


def downgrade() -> None:
    op.drop_table("match_reviews")
    op.drop_index(op.f("ix_case_events_case_id"), table_name="case_events")
    op.drop_table("case_events")
    op.drop_index(op.f("ix_case_posts_case_id"), table_name="case_posts")
    op.drop_table("case_posts")
    for column in ("file_id", "kind"):
        op.drop_column("case_messages", column)
    op.execute("UPDATE cases SET status = 'open' WHERE status IN ('new', 'answered')")
    for column in ("reminded_at", "waiting_since", "results", "search", "source"):
        op.drop_column("cases", column)
