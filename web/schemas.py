"""Pydantic models of what crosses the HTTP API: request bodies are validated by them, responses are
serialised by them, and the OpenAPI document is generated from them."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from web.store.interests import MAX_EVENT_TAGS, MAX_TAG_LENGTH, MAX_TICKET_INTERESTS
from web.store.notes import MAX_NOTE_LENGTH, RATING_MAX, RATING_MIN
from web.store.store import (
    COOLDOWN_SECONDS_MAX,
    MAX_EVENT_DAYS,
    MAX_EXTENSIONS_MAX,
    MEETING_SECONDS_MAX,
    MEETING_SECONDS_MIN,
)

# Years outside this range are typos, and datetime arithmetic near year 1 or 9999 overflows.
MIN_YEAR = 2000
MAX_YEAR = 9000


def _printable(value: str | None) -> str | None:
    """No control characters (NUL breaks PostgreSQL text) and no lone surrogates (not encodable)."""
    if value is not None and any(unicodedata.category(c) in ("Cc", "Cs") for c in value):
        raise ValueError("must not contain control characters")
    return value


def _printable_note(value: str | None) -> str | None:
    """Like `_printable`, but a note may have line breaks and tabs."""
    if value is not None and any(
        unicodedata.category(c) in ("Cc", "Cs") and c not in "\n\r\t" for c in value
    ):
        raise ValueError("must not contain control characters")
    return value


DateT = TypeVar("DateT", bound=date)


def _in_years(value: DateT) -> DateT:
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValueError(f"the year must be between {MIN_YEAR} and {MAX_YEAR}")
    return value


Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), AfterValidator(_printable)
]
ShortName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), AfterValidator(_printable)
]
OptionalText = Annotated[
    str | None, StringConstraints(strip_whitespace=True, max_length=200), AfterValidator(_printable)
]
TimeZoneName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
MeetingSeconds = Annotated[int, Field(ge=MEETING_SECONDS_MIN, le=MEETING_SECONDS_MAX)]
Cooldown = Annotated[int, Field(ge=0, le=COOLDOWN_SECONDS_MAX)]
Extensions = Annotated[int, Field(ge=0, le=MAX_EXTENSIONS_MAX)]
Day = Annotated[date, AfterValidator(_in_years)]
Days = Annotated[list[Day], Field(min_length=1, max_length=MAX_EVENT_DAYS)]
EventTime = Annotated[datetime, AfterValidator(_in_years)]
# A light check: the address is the organiser's data, not something we deliver mail to.
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$"),
    AfterValidator(_printable),
]
Pair = tuple[ShortName, ShortName]
Tag = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TAG_LENGTH),
    AfterValidator(_printable),
]
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
    is_admin: bool = Field(False, description="An organiser's ticket (admins need a ticket to enter too)")
    interests: TicketInterests = Field(
        default_factory=list, description="Pre-filled interests: at most 5 of the event's tags"
    )


class TicketsIn(Input):
    tickets: list[TicketIn] = Field(min_length=1, max_length=5000)


class TicketPatch(Input):
    name: Name | None = None
    email: Email | None = None
    ticket_type: ShortName | None = None
    headline: OptionalText = None
    company: OptionalText = None
    is_admin: bool | None = None
    regenerate_secret: bool = Field(False, description="Issue a new secret: old join links stop working")


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
    title: Name
    starts_at: EventTime = Field(
        description="ISO 8601; without an offset it is read in the event's time zone"
    )
    ends_at: EventTime
    meeting_seconds: MeetingSeconds
    allow_rematch: bool = Field(False, description="Allow matching with someone already met")
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
    title: Name | None = None
    starts_at: EventTime | None = None
    ends_at: EventTime | None = None
    meeting_seconds: MeetingSeconds | None = None
    allow_rematch: bool | None = None
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
    average_meeting_seconds: float | None
    end_reasons: dict[str, int]
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


NoteText = Annotated[
    str | None, StringConstraints(max_length=MAX_NOTE_LENGTH), AfterValidator(_printable_note)
]


class NoteIn(Input):
    note: NoteText = Field(None, description="Private: only I ever see it (at most 1,000 characters)")
    rating: int | None = Field(None, ge=RATING_MIN, le=RATING_MAX, strict=True)
    would_meet_again: bool | None = Field(None, strict=True)


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
    end_reason: str | None
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
