"""indexes for the administrators' board: each week's new users, saved searches and matches (found and
told) are counted from an index range, not a scan of the table

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 16:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_people_consent_at", "people", ["consent_at"])
    op.create_index("ix_search_requests_created_at", "search_requests", ["created_at"])
    op.create_index("ix_matches_created_notification", "matches", ["created_at", "notification"])


def downgrade() -> None:
    op.drop_index("ix_matches_created_notification", table_name="matches")
    op.drop_index("ix_search_requests_created_at", table_name="search_requests")
    op.drop_index("ix_people_consent_at", table_name="people")
