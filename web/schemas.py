"""Pydantic models of what crosses the HTTP API: request bodies are validated by them, responses are
serialised by them, and the OpenAPI document is generated from them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from web.fields import (
    ABSENT,
    JSON_INTEGER,
    Day,
    Email,
    EventTime,
    Flag,
    Name,
    NoteText,
    OptionalText,
    ShortName,
    Tag,
    TimeZoneName,
)
from web.json_io import MAX_ID
from web.store.interests import MAX_EVENT_TAGS, MAX_TICKET_INTERESTS
from web.store.moderation import ReportAction
from web.store.notes import RATING_MAX, RATING_MIN
from web.store.store import (
    COOLDOWN_SECONDS_MAX,
    MAX_EVENT_DAYS,
    MAX_EXTENSIONS_MAX,
    MEETING_SECONDS_MAX,
    MEETING_SECONDS_MIN,
)

MeetingSeconds = Annotated[int, Field(ge=MEETING_SECONDS_MIN, le=MEETING_SECONDS_MAX), JSON_INTEGER]
Cooldown = Annotated[int, Field(ge=0, le=COOLDOWN_SECONDS_MAX), JSON_INTEGER]
Extensions = Annotated[int, Field(ge=0, le=MAX_EXTENSIONS_MAX), JSON_INTEGER]
Days = Annotated[list[Day], Field(min_length=1, max_length=MAX_EVENT_DAYS)]
Pair = tuple[ShortName, ShortName]
TicketInterests = Annotated[
    list[Tag],
    Field(max_length=MAX_TICKET_INTERESTS, description="At most 5 of the event's interest tags"),
]
SessionStatus = Literal["upcoming", "live", "ended"]
ConnectionStateName = Literal["requested", "accepted"]


class Input(BaseModel):
    """Request bodies: unknown fields are an error (they are usually typos)."""

    model_config = ConfigDict(extra="forbid")


class Output(BaseModel):
    pass


class ErrorOut(Output):
    error: str
    details: list[dict[str, Any]] | None = None


# ---- events ------------------------------------------------------------------------------------------------


class EventIn(Input):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"name": "Demo Day", "timezone": "Europe/Berlin", "days": ["2030-06-01", "2030-06-02"]},
            ]
        }
    )

    name: Name
    timezone: TimeZoneName = Field("UTC", description="IANA time zone, e.g. Europe/Berlin")
    days: Days = Field(description="The event's days (local dates in its time zone)")


class EventPatch(Input):
    name: Name | None = None
    timezone: TimeZoneName | None = None
    days: Days | None = None


class EventOut(Output):
    id: int
    name: str
    timezone: str
    days: list[date]
    created_at: datetime


class EventList(Output):
    events: list[EventOut]


# ---- ticket types ------------------------------------------------------------------------------------------


class TicketTypeIn(Input):
    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "Attendee"}]})

    name: ShortName


class TicketTypeOut(Output):
    id: int
    event_id: int
    name: str
    ticket_count: int


class TicketTypeList(Output):
    ticket_types: list[TicketTypeOut]


# ---- tickets -----------------------------------------------------------------------------------------------


class TicketIn(Input):
    name: Name
    email: Email
    ticket_type: ShortName = Field(description="Name of one of the event's ticket types")
    headline: OptionalText = None
    company: OptionalText = None
    is_admin: Flag = Field(False, description="An organiser's ticket (admins need a ticket to enter too)")
    interests: TicketInterests = Field(
        default_factory=list, description="Pre-filled interests: at most 5 of the event's tags"
    )


class TicketsIn(Input):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "tickets": [
                        {"name": "Ada Lovelace", "email": "ada@example.org", "ticket_type": "Attendee"},
                        {"name": "Bob Builder", "email": "bob@example.org", "ticket_type": "Sponsor"},
                    ]
                }
            ]
        }
    )

    tickets: list[TicketIn] = Field(min_length=1, max_length=5000)


class TicketPatch(Input):
    name: Name | None = None
    email: Email | None = None
    ticket_type: ShortName | None = None
    headline: OptionalText = None
    company: OptionalText = None
    is_admin: Flag | None = None
    regenerate_secret: Flag = Field(False, description="Issue a new secret: old join links stop working")


class JoinLink(Output):
    session_id: int
    title: str
    url: str


class TicketOut(Output):
    id: int
    event_id: int
    name: str
    email: str
    headline: str | None
    company: str | None
    ticket_type_id: int
    ticket_type: str
    is_admin: bool
    secret: str
    join_links: list[JoinLink]
    created_at: datetime
    interests: list[str] = Field(default_factory=list)


class TicketList(Output):
    tickets: list[TicketOut]


# ---- assets and sessions -----------------------------------------------------------------------------------


class MediaOut(Output):
    id: int
    url: str
    kind: Literal["image", "video"]
    content_type: str
    width: int | None
    height: int | None
    size_bytes: int


class AssetOut(MediaOut):
    owner: Literal["event", "me"]
    created_at: datetime


class AssetList(Output):
    assets: list[AssetOut]


class BackgroundList(Output):
    backgrounds: list[AssetOut]


class SessionIn(Input):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "title": "Morning networking",
                    "starts_at": "2030-06-01T09:00",
                    "ends_at": "2030-06-01T10:00",
                    "meeting_seconds": 180,
                    "allowed_pairs": [["Sponsor", "Attendee"], ["Attendee", "Attendee"]],
                }
            ]
        }
    )

    title: Name
    starts_at: EventTime
    ends_at: EventTime
    meeting_seconds: MeetingSeconds
    allow_rematch: Flag = Field(False, description="Allow matching with someone already met")
    rematch_cooldown_seconds: Cooldown = Field(300, description="No re-match within this (when not allowed)")
    max_extensions: Extensions = 1
    allowed_pairs: list[Pair] | None = Field(
        None,
        min_length=1,
        description='Ticket-type matrix: [["Sponsor", "Attendee"], ["Attendee", "Attendee"]]; null: everyone',
    )
    interest_weighting: bool = Field(
        True, description="Prefer partners who share interests (still at random); false: purely random"
    )


class SessionPatch(Input):
    """Absent fields keep their value; these five cannot be null (the schema leaves null out for them)."""

    title: Name | SkipJsonSchema[None] = ABSENT
    starts_at: EventTime | SkipJsonSchema[None] = ABSENT
    ends_at: EventTime | SkipJsonSchema[None] = ABSENT
    meeting_seconds: MeetingSeconds | SkipJsonSchema[None] = ABSENT
    allow_rematch: Flag | SkipJsonSchema[None] = ABSENT
    rematch_cooldown_seconds: Cooldown | None = None
    max_extensions: Extensions | None = None
    allowed_pairs: list[Pair] | None = Field(None, min_length=1)
    interest_weighting: bool | None = None


class SessionOut(Output):
    id: int
    event_id: int
    title: str
    status: SessionStatus
    starts_at: datetime
    ends_at: datetime
    meeting_seconds: int
    allow_rematch: bool
    rematch_cooldown_seconds: int
    max_extensions: int
    allowed_pairs: list[tuple[str, str]] | None
    pre_session_media: MediaOut | None
    created_at: datetime
    interest_weighting: bool


class SessionList(Output):
    sessions: list[SessionOut]


class EventDetail(EventOut):
    ticket_types: list[TicketTypeOut]
    sessions: list[SessionOut]


class SessionSummaryOut(Output):
    session_id: int
    status: SessionStatus
    meetings: int
    meetings_ended: int
    meetings_extended: int
    extensions: int
    attendees_met: int
    connections_requested: int
    connections_accepted: int
    average_wait_seconds: float | None
    average_meeting_seconds: float | None = Field(
        description="Over the ended meetings, except those closed on a restart (their length is not known)"
    )
    end_reasons: dict[str, int] = Field(
        description="Ended meetings by reason: timeout, left, partner_left, blocked, session_closed, "
        "server_restart (the server stopped while it ran; closed when it started again)"
    )
    blocks: int
    reports: int


class LiveOut(Output):
    session_id: int
    status: SessionStatus
    running: bool = Field(description="Whether a room runs for this session in this server")
    live: dict[str, Any] | None = Field(description="The room's live counts while it runs")


# ---- interests, notes and ratings --------------------------------------------------------------------------


class InterestTagsIn(Input):
    tags: list[Tag] = Field(max_length=MAX_EVENT_TAGS, description="At most 50 tags, in the order shown")


class InterestTagsOut(Output):
    tags: list[str]


class MyInterestsIn(Input):
    interests: TicketInterests


class MyInterestsOut(Output):
    interests: list[str]
    offered: list[str] = Field(description="The event's interest tags")
    max_interests: int = MAX_TICKET_INTERESTS


Rating = Annotated[int, Field(ge=RATING_MIN, le=RATING_MAX, description="1 to 5"), JSON_INTEGER]


class NoteIn(Input):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"note": "Follow up about the pilot", "rating": 5, "would_meet_again": True}]
        }
    )
    note: NoteText = Field(None, description="Private: only I ever see it (at most 1,000 characters)")
    rating: Rating | None = None
    would_meet_again: Flag | None = None


class NoteOut(Output):
    meeting_id: int
    note: str | None
    rating: int | None
    would_meet_again: bool | None
    updated_at: datetime


class RatingSummaryOut(Output):
    """Aggregates only: organisers never see a note nor who rated whom."""

    session_id: int
    ratings: int = Field(description="Ratings given (each side of a meeting rates on its own)")
    average_rating: float | None
    answers: int = Field(description='"Would meet again" answered')
    would_meet_again: int
    would_meet_again_share: float | None


# ---- moderation --------------------------------------------------------------------------------------------


class RemovalIn(Input):
    ticket_id: Annotated[int, Field(ge=1, le=MAX_ID - 1), JSON_INTEGER] = Field(
        description="A ticket of the session's event"
    )


class RemovalOut(Output):
    session_id: int
    ticket_id: int
    name: str
    removed_at: datetime


class RemovalsOut(Output):
    removals: list[RemovalOut]


class ReportOut(Output):
    id: int
    session_id: int
    by_ticket_id: int
    by_name: str
    reported_ticket_id: int
    reported_name: str
    reason: str
    created_at: datetime
    action: ReportAction | None = Field(description="What the organiser did about it (null: not handled)")
    action_note: str | None
    action_at: datetime | None


class ReportsOut(Output):
    reports: list[ReportOut]


class ReportActionIn(Input):
    action: ReportAction | None = Field(description="null clears the action")
    note: NoteText = Field(None, description="The organiser's own note (at most 1,000 characters)")


# ---- attendee view -----------------------------------------------------------------------------------------


class PersonOut(Output):
    ticket_id: int
    name: str
    headline: str | None
    company: str | None
    ticket_type: str


class MeOut(PersonOut):
    is_admin: bool


class EventBrief(Output):
    id: int
    name: str
    timezone: str


class IceServerOut(Output):
    urls: list[str]
    username: str | None = None
    credential: str | None = None


class AttendeeSessionOut(Output):
    id: int
    title: str
    event: EventBrief
    status: SessionStatus
    starts_at: datetime
    ends_at: datetime
    server_time: datetime
    meeting_seconds: int
    max_extensions: int
    allow_rematch: bool
    pre_session_media: MediaOut | None
    me: MeOut
    ice_servers: list[IceServerOut]
    interests: list[str] = Field(description="My interests")
    offered_interests: list[str] = Field(description="The event's interest tags to pick from")
    max_interests: int = MAX_TICKET_INTERESTS


class MatchOut(Output):
    meeting_id: int
    session_id: int
    partner: PersonOut
    started_at: datetime
    ended_at: datetime | None
    seconds: float | None
    extensions: int
    end_reason: str | None = Field(
        description="timeout, left, partner_left, blocked, session_closed, or server_restart (the server "
        "stopped while it ran: ended_at and seconds are then the last moment it was seen, a lower bound)"
    )
    connection: ConnectionStateName | None
    connection_requested_by_me: bool
    shared_interests: list[str] = Field(default_factory=list, description="Interests we both have now")
    note: NoteOut | None = Field(None, description="My private note and rating (never shown to the partner)")


class MatchList(Output):
    matches: list[MatchOut]


class ConnectionOut(Output):
    person: PersonOut
    email: str | None = Field(description="Shared once the connection is accepted")
    state: ConnectionStateName
    requested_by_me: bool
    requested_at: datetime
    accepted_at: datetime | None


class ConnectionList(Output):
    connections: list[ConnectionOut]


class HealthOut(Output):
    status: Literal["ok"]
