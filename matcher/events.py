"""What the matcher tells the server: typed, immutable events, plus the state enums they carry.

The server turns each event into signalling messages for the attendees involved and into database rows.
Every event class has a `kind` class attribute, a stable name for the wire.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar, TypeAlias


class EndReason(StrEnum):
    """Why a meeting ended."""

    timeout = "timeout"  # reached its deadline
    left = "left"  # one side pressed Leave
    partner_left = "partner_left"  # one side disconnected and did not come back within the grace period
    blocked = "blocked"  # one side blocked the other
    session_closed = "session_closed"  # the organiser closed the session


class ConnectionState(StrEnum):
    """A connection between two attendees who have met: requested by one side, or accepted."""

    requested = "requested"
    accepted = "accepted"


class AttendeeState(StrEnum):
    """Where an attendee is: not ready, in the ready pool, or in a meeting."""

    idle = "idle"
    ready = "ready"
    meeting = "meeting"


@dataclass(frozen=True, slots=True)
class Matched:
    """A new meeting between `a` and `b`; `a` is the one who had waited longer.

    `shared_interests`: the interest tags both had when they were paired (for the partner card)."""

    kind: ClassVar[str] = "matched"
    meeting_id: str
    a: str
    b: str
    started_at: float
    ends_at: float
    a_waited_seconds: float = 0.0
    b_waited_seconds: float = 0.0
    shared_interests: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class MeetingDeadlineChanged:
    kind: ClassVar[str] = "meeting_deadline_changed"
    meeting_id: str
    ends_at: float


@dataclass(frozen=True, slots=True)
class ExtendOffered:
    """`by` offered to extend; the other side sees "Accept"."""

    kind: ClassVar[str] = "extend_offered"
    meeting_id: str
    by: str


@dataclass(frozen=True, slots=True)
class ExtendAccepted:
    kind: ClassVar[str] = "extend_accepted"
    meeting_id: str
    by: str
    ends_at: float


@dataclass(frozen=True, slots=True)
class ExtendDeclined:
    """The offer disappeared: declined (or withdrawn) by `by`, or lapsed at 0:00 when `by` is None."""

    kind: ClassVar[str] = "extend_declined"
    meeting_id: str
    by: str | None


@dataclass(frozen=True, slots=True)
class MeetingEnded:
    kind: ClassVar[str] = "meeting_ended"
    meeting_id: str
    a: str
    b: str
    started_at: float
    ended_at: float
    reason: EndReason
    extensions: int
    left_by: str | None  # who left, dropped out or blocked; None for timeout / session_closed


@dataclass(frozen=True, slots=True)
class PartnerDisconnected:
    """`attendee` dropped out of a meeting; it ends as partner_left unless they are back by `grace_until`."""

    kind: ClassVar[str] = "partner_disconnected"
    meeting_id: str
    attendee: str
    grace_until: float


@dataclass(frozen=True, slots=True)
class PartnerReconnected:
    kind: ClassVar[str] = "partner_reconnected"
    meeting_id: str
    attendee: str


@dataclass(frozen=True, slots=True)
class ConnectionChanged:
    """Connection between `a` and `b`; `a` is always the one who requested it (`requested_by`)."""

    kind: ClassVar[str] = "connection_changed"
    a: str
    b: str
    requested_by: str
    state: ConnectionState
    at: float


@dataclass(frozen=True, slots=True)
class WaitingStatus:
    """What a waiting attendee is told: nobody waits without knowing why or for how long.

    `eligible_waiting`: others in the ready pool this attendee may meet right now.
    `eligible_ending_soon`: people this attendee may meet whose meetings end soon.
    `estimated_wait_seconds`: None when no estimate is honest (nobody eligible, or the session is over).
    """

    kind: ClassVar[str] = "waiting_status"
    attendee: str
    waiting_since: float
    eligible_waiting: int
    eligible_ending_soon: int
    estimated_wait_seconds: float | None
    reason: str | None


@dataclass(frozen=True, slots=True)
class AttendeeStateChanged:
    kind: ClassVar[str] = "attendee_state_changed"
    attendee: str
    state: AttendeeState


@dataclass(frozen=True, slots=True)
class Blocked:
    kind: ClassVar[str] = "blocked"
    by: str
    blocked: str
    at: float


@dataclass(frozen=True, slots=True)
class Reported:
    kind: ClassVar[str] = "reported"
    by: str
    reported: str
    reason: str
    at: float


Event: TypeAlias = (
    Matched
    | MeetingDeadlineChanged
    | ExtendOffered
    | ExtendAccepted
    | ExtendDeclined
    | MeetingEnded
    | PartnerDisconnected
    | PartnerReconnected
    | ConnectionChanged
    | WaitingStatus
    | AttendeeStateChanged
    | Blocked
    | Reported
)

EVENT_TYPES: tuple[type[Event], ...] = (
    Matched,
    MeetingDeadlineChanged,
    ExtendOffered,
    ExtendAccepted,
    ExtendDeclined,
    MeetingEnded,
    PartnerDisconnected,
    PartnerReconnected,
    ConnectionChanged,
    WaitingStatus,
    AttendeeStateChanged,
    Blocked,
    Reported,
)
