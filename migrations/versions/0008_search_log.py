"""a log of searches (when, and how many results; nothing of who or for whom), counted per week on the board;
indexes for the web board's case lists (a volunteer's own cases, the closed ones newest first)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 12:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "search_log",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("found", sa.Integer(), nullable=False),
    )
    op.create_index("ix_search_log_at", "search_log", ["at"])
    op.create_index("ix_cases_volunteer_status", "cases", ["volunteer_id", "status"])
    op.create_index("ix_cases_status_closed", "cases", ["status", "closed_at"])


def downgrade() -> None:
    op.drop_index("ix_cases_status_closed", table_name="cases")
    op.drop_index("ix_cases_volunteer_status", table_name="cases")
    op.drop_index("ix_search_log_at", table_name="search_log")
    op.drop_table("search_log")
