"""Initial schema.

Events and their days, ticket types, tickets, sessions with their matching matrix, assets, meetings,
connections, blocks, reports and the admin token hash.

Revision ID: 0001
Revises:
Create Date: 2025-01-01 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
        sa.UniqueConstraint("name", name="uq_events_name"),
    )
    op.create_table(
        "event_days",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name="fk_event_days_event_id_events", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_event_days"),
        sa.UniqueConstraint("event_id", "day", name="uq_event_days_event_id_day"),
    )
    op.create_table(
        "ticket_types",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        _ts("created_at"),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name="fk_ticket_types_event_id_events", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_ticket_types"),
        sa.UniqueConstraint("event_id", "name", name="uq_ticket_types_event_id_name"),
    )
    op.create_table(
        "tickets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("ticket_type_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("headline", sa.String(length=200), nullable=True),
        sa.Column("company", sa.String(length=200), nullable=True),
        sa.Column("secret", sa.String(length=64), nullable=False),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        _ts("created_at"),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name="fk_tickets_event_id_events", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["ticket_type_id"],
            ["ticket_types.id"],
            name="fk_tickets_ticket_type_id_ticket_types",
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_tickets"),
        sa.UniqueConstraint("event_id", "email", name="uq_tickets_event_id_email"),
        sa.UniqueConstraint("secret", name="uq_tickets_secret"),
    )
    op.create_index("ix_tickets_ticket_type_id", "tickets", ["ticket_type_id"])
    op.create_table(
        "assets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("content_type", sa.String(length=50), nullable=False),
        sa.Column("filename", sa.String(length=100), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        _ts("created_at"),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name="fk_assets_event_id_events", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name="fk_assets_ticket_id_tickets", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_assets"),
        sa.UniqueConstraint("filename", name="uq_assets_filename"),
    )
    op.create_index("ix_assets_event_id", "assets", ["event_id"])
    op.create_index("ix_assets_ticket_id", "assets", ["ticket_id"])
    op.create_table(
        "sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        _ts("starts_at"),
        _ts("ends_at"),
        sa.Column("meeting_seconds", sa.Integer(), nullable=False),
        sa.Column("allow_rematch", sa.Boolean(), nullable=False),
        sa.Column("rematch_cooldown_seconds", sa.Integer(), nullable=False),
        sa.Column("max_extensions", sa.Integer(), nullable=False),
        sa.Column("restrict_pairs", sa.Boolean(), nullable=False),
        sa.Column("pre_session_asset_id", sa.Integer(), nullable=True),
        _ts("created_at"),
        sa.CheckConstraint("ends_at > starts_at", name="ck_sessions_ends_after_start"),
        sa.CheckConstraint("meeting_seconds > 0", name="ck_sessions_meeting_seconds_positive"),
        sa.CheckConstraint("max_extensions >= 0", name="ck_sessions_max_extensions_not_negative"),
        sa.CheckConstraint("rematch_cooldown_seconds >= 0", name="ck_sessions_cooldown_not_negative"),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name="fk_sessions_event_id_events", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["pre_session_asset_id"],
            ["assets.id"],
            name="fk_sessions_pre_session_asset_id_assets",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_sessions"),
        sa.UniqueConstraint("event_id", "title", name="uq_sessions_event_id_title"),
    )
    op.create_index("ix_sessions_pre_session_asset_id", "sessions", ["pre_session_asset_id"])
    op.create_table(
        "session_pairs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("type_a_id", sa.Integer(), nullable=False),
        sa.Column("type_b_id", sa.Integer(), nullable=False),
        sa.CheckConstraint("type_a_id <= type_b_id", name="ck_session_pairs_ordered"),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], name="fk_session_pairs_session_id_sessions", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["type_a_id"],
            ["ticket_types.id"],
            name="fk_session_pairs_type_a_id_ticket_types",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["type_b_id"],
            ["ticket_types.id"],
            name="fk_session_pairs_type_b_id_ticket_types",
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_session_pairs"),
        sa.UniqueConstraint(
            "session_id", "type_a_id", "type_b_id", name="uq_session_pairs_session_id_type_a_id_type_b_id"
        ),
    )
    op.create_index("ix_session_pairs_type_a_id", "session_pairs", ["type_a_id"])
    op.create_index("ix_session_pairs_type_b_id", "session_pairs", ["type_b_id"])
    op.create_table(
        "meetings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("a_ticket_id", sa.Integer(), nullable=False),
        sa.Column("b_ticket_id", sa.Integer(), nullable=False),
        _ts("started_at"),
        _ts("ended_at", nullable=True),
        sa.Column("extensions", sa.Integer(), nullable=False),
        sa.Column("end_reason", sa.String(length=20), nullable=True),
        sa.Column("a_waited_seconds", sa.Float(), nullable=False),
        sa.Column("b_waited_seconds", sa.Float(), nullable=False),
        sa.CheckConstraint("extensions >= 0", name="ck_meetings_extensions_not_negative"),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], name="fk_meetings_session_id_sessions", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["a_ticket_id"], ["tickets.id"], name="fk_meetings_a_ticket_id_tickets", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["b_ticket_id"], ["tickets.id"], name="fk_meetings_b_ticket_id_tickets", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_meetings"),
    )
    op.create_index("ix_meetings_session_id", "meetings", ["session_id"])
    op.create_index("ix_meetings_a_ticket_id", "meetings", ["a_ticket_id"])
    op.create_index("ix_meetings_b_ticket_id", "meetings", ["b_ticket_id"])
    op.create_table(
        "connections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("a_ticket_id", sa.Integer(), nullable=False),
        sa.Column("b_ticket_id", sa.Integer(), nullable=False),
        sa.Column("requested_by", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        _ts("requested_at"),
        _ts("accepted_at", nullable=True),
        sa.CheckConstraint("a_ticket_id < b_ticket_id", name="ck_connections_ordered"),
        sa.CheckConstraint("state IN ('requested', 'accepted')", name="ck_connections_state"),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name="fk_connections_event_id_events", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["a_ticket_id"], ["tickets.id"], name="fk_connections_a_ticket_id_tickets", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["b_ticket_id"], ["tickets.id"], name="fk_connections_b_ticket_id_tickets", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["requested_by"], ["tickets.id"], name="fk_connections_requested_by_tickets", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_connections"),
        sa.UniqueConstraint("a_ticket_id", "b_ticket_id", name="uq_connections_a_ticket_id_b_ticket_id"),
    )
    op.create_index("ix_connections_event_id", "connections", ["event_id"])
    op.create_index("ix_connections_b_ticket_id", "connections", ["b_ticket_id"])
    op.create_table(
        "blocks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("by_ticket_id", sa.Integer(), nullable=False),
        sa.Column("blocked_ticket_id", sa.Integer(), nullable=False),
        _ts("created_at"),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name="fk_blocks_event_id_events", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["by_ticket_id"], ["tickets.id"], name="fk_blocks_by_ticket_id_tickets", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["blocked_ticket_id"],
            ["tickets.id"],
            name="fk_blocks_blocked_ticket_id_tickets",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_blocks"),
        sa.UniqueConstraint("by_ticket_id", "blocked_ticket_id", name="uq_blocks_by_ticket_id_blocked_ticket_id"),
    )
    op.create_index("ix_blocks_event_id", "blocks", ["event_id"])
    op.create_index("ix_blocks_blocked_ticket_id", "blocks", ["blocked_ticket_id"])
    op.create_table(
        "reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("by_ticket_id", sa.Integer(), nullable=False),
        sa.Column("reported_ticket_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        _ts("created_at"),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], name="fk_reports_session_id_sessions", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["by_ticket_id"], ["tickets.id"], name="fk_reports_by_ticket_id_tickets", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["reported_ticket_id"],
            ["tickets.id"],
            name="fk_reports_reported_ticket_id_tickets",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_reports"),
    )
    op.create_index("ix_reports_session_id", "reports", ["session_id"])
    op.create_index("ix_reports_by_ticket_id", "reports", ["by_ticket_id"])
    op.create_index("ix_reports_reported_ticket_id", "reports", ["reported_ticket_id"])
    op.create_table(
        "admin_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_admin_token"),
    )


def downgrade() -> None:
    for table in (
        "admin_token",
        "reports",
        "blocks",
        "connections",
        "meetings",
        "session_pairs",
        "sessions",
        "assets",
        "tickets",
        "ticket_types",
        "event_days",
        "events",
    ):
        op.drop_table(table)
