"""the memory book: families' stories about a soldier (consent, moderation, withdrawal), their files, and the ids of stories erased with /forget

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 12:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "stories",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("person_id", BIG_ID, nullable=False),
        sa.Column("reading_pk", BIG_ID, nullable=True),
        sa.Column("request_id", BIG_ID, nullable=True),
        sa.Column("soldier", JSON, nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column(
            "consent",
            sa.Enum("named", "anonymous", "units_only", name="storyconsent", native_enum=False, length=16),
            nullable=True,
        ),
        sa.Column("family_name", sa.Text(), nullable=True),
        sa.Column(
            "state",
            sa.Enum(
                "draft", "pending", "approved", "declined", name="storystate", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column("decline_reason", sa.Text(), nullable=True),
        sa.Column("moderator_id", BIG_ID, nullable=True),
        sa.Column("withdrawn", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("moderated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_stories_person_id_people"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["reading_pk"], ["readings.id"], name=op.f("fk_stories_reading_pk_readings"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["search_requests.id"],
            name=op.f("fk_stories_request_id_search_requests"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stories")),
    )
    op.create_index(op.f("ix_stories_person_id"), "stories", ["person_id"])
    op.create_index(op.f("ix_stories_state"), "stories", ["state"])
    op.create_index("ix_stories_updated_at", "stories", ["updated_at"])
    op.create_table(
        "story_items",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("story_id", BIG_ID, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("caption", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["story_id"], ["stories.id"], name=op.f("fk_story_items_story_id_stories"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_story_items")),
    )
    op.create_index(op.f("ix_story_items_story_id"), "story_items", ["story_id"])
    op.create_table(
        "story_erasures",
        sa.Column("story_id", BIG_ID, autoincrement=False, nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("story_id", name=op.f("pk_story_erasures")),
    )
    op.create_index(op.f("ix_story_erasures_erased_at"), "story_erasures", ["erased_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_story_erasures_erased_at"), table_name="story_erasures")
    op.drop_table("story_erasures")
    op.drop_index(op.f("ix_story_items_story_id"), table_name="story_items")
    op.drop_table("story_items")
    op.drop_index("ix_stories_updated_at", table_name="stories")
    op.drop_index(op.f("ix_stories_state"), table_name="stories")
    op.drop_index(op.f("ix_stories_person_id"), table_name="stories")
    op.drop_table("stories")
