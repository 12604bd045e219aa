"""Interests and private meeting notes.

An event's interest tags, the interests each ticket picked, each attendee's private note, rating and
"would meet again" per meeting, and a session switch for interest-weighted matching (on by default).

Revision ID: 0002
Revises: 0001
Create Date: 2025-02-01 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ALTER TABLE on every backend (SQLite >= 3.35 drops columns too): recreating the sessions
    # table on SQLite would cascade-delete its meetings.
    op.add_column(
        "sessions", sa.Column("interest_weighting", sa.Boolean(), server_default=sa.true(), nullable=False)
    )
    op.create_table(
        "event_interests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name="fk_event_interests_event_id_events", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_event_interests"),
        sa.UniqueConstraint("event_id", "tag", name="uq_event_interests_event_id_tag"),
    )
    op.create_table(
        "ticket_interests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("interest_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name="fk_ticket_interests_ticket_id_tickets", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["interest_id"],
            ["event_interests.id"],
            name="fk_ticket_interests_interest_id_event_interests",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_ticket_interests"),
        sa.UniqueConstraint("ticket_id", "interest_id", name="uq_ticket_interests_ticket_id_interest_id"),
    )
    op.create_index("ix_ticket_interests_interest_id", "ticket_interests", ["interest_id"])
    op.create_table(
        "meeting_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("would_meet_again", sa.Boolean(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "rating IS NULL OR (rating >= 1 AND rating <= 5)", name="ck_meeting_notes_rating_range"
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meetings.id"], name="fk_meeting_notes_meeting_id_meetings", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name="fk_meeting_notes_ticket_id_tickets", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_meeting_notes"),
        sa.UniqueConstraint("meeting_id", "ticket_id", name="uq_meeting_notes_meeting_id_ticket_id"),
    )
    op.create_index("ix_meeting_notes_ticket_id", "meeting_notes", ["ticket_id"])


def downgrade() -> None:
    op.drop_table("meeting_notes")
    op.drop_table("ticket_interests")
    op.drop_table("event_interests")
    op.drop_column("sessions", "interest_weighting")
