"""Moderation: attendees removed from a session, and what the organiser did about each report.

Revision ID: 0003
Revises: 0002
Create Date: 2025-03-01 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ALTER TABLE on every backend (see 0002): recreating a table on SQLite would cascade deletes.
    op.add_column("reports", sa.Column("action", sa.String(length=20), nullable=True))
    op.add_column("reports", sa.Column("action_note", sa.Text(), nullable=True))
    op.add_column("reports", sa.Column("action_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "session_removals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name="fk_session_removals_session_id_sessions",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name="fk_session_removals_ticket_id_tickets", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_session_removals"),
        sa.UniqueConstraint("session_id", "ticket_id", name="uq_session_removals_session_id_ticket_id"),
    )
    op.create_index("ix_session_removals_ticket_id", "session_removals", ["ticket_id"])


def downgrade() -> None:
    op.drop_table("session_removals")
    op.drop_column("reports", "action_at")
    op.drop_column("reports", "action_note")
    op.drop_column("reports", "action")
