"""Read-only snapshots the matcher hands out: an attendee's whole state, their matches, live counts."""

from __future__ import annotations

from dataclasses import dataclass

from matcher.events import AttendeeState, ConnectionState, EndReason, WaitingStatus


@dataclass(frozen=True, slots=True)
class MeetingView:
    """The meeting an attendee is in, from their side."""

    meeting_id: str
    partner: str
    started_at: float
    ends_at: float
    extensions: int
    extensions_left: int
    extend_offered_by: str | None  # a pending offer: by me ("Requested") or by the partner ("Accept")
    extend_window_opens_at: float  # an extension may be offered from this clock time on
    can_offer_extend: bool
    partner_connected: bool
    partner_grace_until: float | None  # when a disconnected partner's grace period runs out
    shared_interests: frozenset[str] = frozenset()  # the interests both have now


@dataclass(frozen=True, slots=True)
class ConnectionView:
    """A connection with `other`, from the attendee's side."""

    other: str
    state: ConnectionState
    requested_by: str
    at: float | None  # None for connections restored by `seed_history`


@dataclass(frozen=True, slots=True)
class AttendeeView:
    """Everything a (re)connecting client needs to draw its screen."""

    attendee: str
    ticket_type: str
    state: AttendeeState
    connected: bool
    meeting: MeetingView | None
    waiting: WaitingStatus | None  # set while ready
    connections: tuple[ConnectionView, ...]
    session_ended: bool  # no new matches any more
    at: float  # the clock time of this view, so a client can correct for its own clock


@dataclass(frozen=True, slots=True)
class MatchRecord:
    """One meeting in an attendee's matches list (meetings run by this matcher, the current one included)."""

    meeting_id: str
    partner: str
    started_at: float
    ended_at: float | None  # None while it runs
    seconds: float  # how long it lasted (so far, while it runs)
    extensions: int
    end_reason: EndReason | None
    connection: ConnectionState | None
    connection_requested_by: str | None


@dataclass(frozen=True, slots=True)
class LiveSummary:
    """Counts for the organiser's live view of the session."""

    attendees: int  # joined
    connected: int
    idle: int  # connected and not ready
    waiting: int  # in the ready pool
    in_meetings: int  # attendees in running meetings
    meetings_running: int
    meetings_started: int
    meetings_ended: int
    extensions: int
    connections_requested: int  # requests made in this session (pending or later accepted)
    connections_accepted: int
    blocks: int
    reports: int
    session_ended: bool
