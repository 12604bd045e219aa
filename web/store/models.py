"""ORM models: the schema of the product. Migrations in web/migrations/versions must match these."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from web.store.types import UTCDateTime

# Named constraints keep migrations reproducible and let batch (SQLite) migrations address them.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Event(Base):
    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    timezone: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class EventDay(Base):
    __tablename__ = "event_days"
    __table_args__ = (UniqueConstraint("event_id", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)


class TicketType(Base):
    __tablename__ = "ticket_types"
    __table_args__ = (UniqueConstraint("event_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (UniqueConstraint("event_id", "email"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    # RESTRICT: a ticket type cannot disappear from under its tickets.
    ticket_type_id: Mapped[int] = mapped_column(
        ForeignKey("ticket_types.id", ondelete="RESTRICT"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    headline: Mapped[str | None] = mapped_column(String(200))
    company: Mapped[str | None] = mapped_column(String(200))
    secret: Mapped[str] = mapped_column(String(64), unique=True)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Asset(Base):
    """An uploaded file: an event's background or pre-session media, or an attendee's own background."""

    __tablename__ = "assets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    # NULL for the organiser's assets; set for an attendee's own background.
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(20))  # "background" | "pre_session"
    kind: Mapped[str] = mapped_column(String(10))  # "image" | "video"
    content_type: Mapped[str] = mapped_column(String(50))
    filename: Mapped[str] = mapped_column(String(100), unique=True)
    size_bytes: Mapped[int] = mapped_column(Integer)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Session(Base):
    """A networking session: a time window of an event with its matching rules."""

    __tablename__ = "sessions"
    __table_args__ = (
        UniqueConstraint("event_id", "title"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("meeting_seconds > 0", name="meeting_seconds_positive"),
        CheckConstraint("max_extensions >= 0", name="max_extensions_not_negative"),
        CheckConstraint("rematch_cooldown_seconds >= 0", name="cooldown_not_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    meeting_seconds: Mapped[int] = mapped_column(Integer)
    allow_rematch: Mapped[bool] = mapped_column(Boolean, default=False)
    rematch_cooldown_seconds: Mapped[int] = mapped_column(Integer, default=300)
    max_extensions: Mapped[int] = mapped_column(Integer, default=1)
    # False: everyone may meet everyone; True: only the pairs in session_pairs.
    restrict_pairs: Mapped[bool] = mapped_column(Boolean, default=False)
    # Prefer partners who share interests (still at random); False: purely random.
    interest_weighting: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    pre_session_asset_id: Mapped[int | None] = mapped_column(
        ForeignKey("assets.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SessionPair(Base):
    """One allowed cell of a session's ticket-type matrix; stored with type_a_id <= type_b_id."""

    __tablename__ = "session_pairs"
    __table_args__ = (
        UniqueConstraint("session_id", "type_a_id", "type_b_id"),
        CheckConstraint("type_a_id <= type_b_id", name="ordered"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    type_a_id: Mapped[int] = mapped_column(ForeignKey("ticket_types.id", ondelete="RESTRICT"), index=True)
    type_b_id: Mapped[int] = mapped_column(ForeignKey("ticket_types.id", ondelete="RESTRICT"), index=True)


class Meeting(Base):
    __tablename__ = "meetings"
    __table_args__ = (CheckConstraint("extensions >= 0", name="extensions_not_negative"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    a_ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    b_ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    extensions: Mapped[int] = mapped_column(Integer, default=0)
    end_reason: Mapped[str | None] = mapped_column(String(20))
    # How long each side waited in the ready pool before this match.
    a_waited_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    b_waited_seconds: Mapped[float] = mapped_column(Float, default=0.0)


class Connection(Base):
    """A connection request between two tickets; stored with a_ticket_id < b_ticket_id."""

    __tablename__ = "connections"
    __table_args__ = (
        UniqueConstraint("a_ticket_id", "b_ticket_id"),
        CheckConstraint("a_ticket_id < b_ticket_id", name="ordered"),
        CheckConstraint("state IN ('requested', 'accepted')", name="state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    a_ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    b_ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    requested_by: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(16))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime())
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Block(Base):
    __tablename__ = "blocks"
    __table_args__ = (UniqueConstraint("by_ticket_id", "blocked_ticket_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    by_ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    blocked_ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Report(Base):
    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    by_ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    reported_ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # What the organiser did about it ("dismissed", "warned", "removed"; None: not handled yet).
    action: Mapped[str | None] = mapped_column(String(20))
    action_note: Mapped[str | None] = mapped_column(Text)
    action_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SessionRemoval(Base):
    """An attendee the organiser removed from a session: its room refuses the ticket until the row goes."""

    __tablename__ = "session_removals"
    __table_args__ = (UniqueConstraint("session_id", "ticket_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    removed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class EventInterest(Base):
    """One of the interest tags the organiser offers for an event, in the organiser's order."""

    __tablename__ = "event_interests"
    __table_args__ = (UniqueConstraint("event_id", "tag"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    tag: Mapped[str] = mapped_column(String(40))
    position: Mapped[int] = mapped_column(Integer)


class TicketInterest(Base):
    """An interest the ticket holder picked (or the organiser pre-filled); goes with the event's tag."""

    __tablename__ = "ticket_interests"
    __table_args__ = (UniqueConstraint("ticket_id", "interest_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    interest_id: Mapped[int] = mapped_column(ForeignKey("event_interests.id", ondelete="CASCADE"), index=True)


class MeetingNote(Base):
    """One attendee's private note, rating and "would meet again" for a meeting they had. Only its author
    ever sees it; organisers see aggregates of the ratings, never the note."""

    __tablename__ = "meeting_notes"
    __table_args__ = (
        UniqueConstraint("meeting_id", "ticket_id"),
        CheckConstraint("rating IS NULL OR (rating >= 1 AND rating <= 5)", name="rating_range"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    note: Mapped[str | None] = mapped_column(Text)
    rating: Mapped[int | None] = mapped_column(Integer)
    would_meet_again: Mapped[bool | None] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AdminToken(Base):
    """The organiser's bearer token, as a SHA-256 hash only. One row."""

    __tablename__ = "admin_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
