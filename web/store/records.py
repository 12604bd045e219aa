"""Plain, frozen records the store hands out (never ORM objects, which are bound to a DB session)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True)
class EventRecord:
    id: int
    name: str
    timezone: str
    days: tuple[date, ...]
    created_at: datetime


@dataclass(frozen=True)
class TicketTypeRecord:
    id: int
    event_id: int
    name: str
    ticket_count: int
    created_at: datetime


@dataclass(frozen=True)
class TicketRecord:
    id: int
    event_id: int
    name: str
    email: str
    headline: str | None
    company: str | None
    ticket_type_id: int
    ticket_type: str  # the ticket type's name
    is_admin: bool
    secret: str
    created_at: datetime


@dataclass(frozen=True)
class AssetRecord:
    id: int
    event_id: int
    ticket_id: int | None  # None: the organiser's asset
    purpose: str  # "background" | "pre_session"
    kind: str  # "image" | "video"
    content_type: str
    filename: str
    size_bytes: int
    width: int | None
    height: int | None
    created_at: datetime

    @property
    def url(self) -> str:
        return f"/media/{self.filename}"


@dataclass(frozen=True)
class SessionRecord:
    id: int
    event_id: int
    title: str
    starts_at: datetime  # aware, UTC
    ends_at: datetime
    meeting_seconds: int
    allow_rematch: bool
    rematch_cooldown_seconds: int
    max_extensions: int
    allowed_pairs: list[tuple[str, str]] | None  # ticket-type names; None = everyone may meet everyone
    pre_session_media_url: str | None
    pre_session_media: AssetRecord | None
    created_at: datetime
    interest_weighting: bool = True  # prefer partners who share interests; False: purely random

    def status(self, now: datetime) -> str:
        """ "upcoming", "live" or "ended" at `now` (aware)."""
        if now < self.starts_at:
            return "upcoming"
        if now < self.ends_at:
            return "live"
        return "ended"


@dataclass(frozen=True)
class MeetingRecord:
    id: int
    session_id: int
    a_ticket_id: int
    b_ticket_id: int
    started_at: datetime
    ended_at: datetime | None
    extensions: int
    end_reason: str | None
    a_waited_seconds: float
    b_waited_seconds: float


@dataclass(frozen=True)
class ConnectionRecord:
    id: int
    event_id: int
    a_ticket_id: int  # the lower ticket id of the pair
    b_ticket_id: int
    requested_by: int
    state: str  # "requested" | "accepted"
    requested_at: datetime
    accepted_at: datetime | None

    def other(self, ticket_id: int) -> int:
        return self.b_ticket_id if ticket_id == self.a_ticket_id else self.a_ticket_id


@dataclass(frozen=True)
class MatchView:
    """One meeting as seen by one of its two attendees."""

    meeting_id: int
    session_id: int
    partner_ticket_id: int
    partner_name: str
    partner_headline: str | None
    partner_company: str | None
    partner_ticket_type: str
    started_at: datetime
    ended_at: datetime | None
    seconds: float | None  # None while the meeting runs
    extensions: int
    end_reason: str | None
    connection: str | None  # None | "requested" | "accepted"
    connection_requested_by_me: bool


@dataclass(frozen=True)
class ConnectionView:
    """One connection as seen by one of its two tickets."""

    other_ticket_id: int
    other_name: str
    other_headline: str | None
    other_company: str | None
    other_ticket_type: str
    other_email: str | None  # shared only once accepted
    state: str
    requested_by_me: bool
    requested_at: datetime
    accepted_at: datetime | None


@dataclass(frozen=True)
class SessionSummary:
    session_id: int
    meetings: int
    meetings_ended: int
    meetings_extended: int
    extensions: int
    attendees_met: int
    connections_requested: int  # pairs who met in this session with a pending request
    connections_accepted: int
    average_wait_seconds: float | None
    average_meeting_seconds: float | None
    end_reasons: dict[str, int]
    blocks: int
    reports: int
