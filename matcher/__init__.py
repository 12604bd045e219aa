"""Random 1:1 pairing under a session's rules, and the meeting lifecycle: pure Python, no I/O.

The server drives a `Matcher` with commands and `tick()` and turns the events it returns into signalling
messages and database rows.
"""

from matcher.errors import InvalidCommand, InvalidRules, MatcherError, UnknownAttendee
from matcher.events import (
    EVENT_TYPES,
    AttendeeState,
    AttendeeStateChanged,
    Blocked,
    ConnectionChanged,
    ConnectionState,
    EndReason,
    Event,
    ExtendAccepted,
    ExtendDeclined,
    ExtendOffered,
    Matched,
    MeetingDeadlineChanged,
    MeetingEnded,
    PartnerDisconnected,
    PartnerReconnected,
    Reported,
    WaitingStatus,
)
from matcher.matcher import Matcher
from matcher.meeting import Meeting
from matcher.pool import ReadyPool
from matcher.rules import SessionRules
from matcher.views import AttendeeView, ConnectionView, LiveSummary, MatchRecord, MeetingView

__all__ = [
    "EVENT_TYPES",
    "AttendeeState",
    "AttendeeStateChanged",
    "AttendeeView",
    "Blocked",
    "ConnectionChanged",
    "ConnectionState",
    "ConnectionView",
    "EndReason",
    "Event",
    "ExtendAccepted",
    "ExtendDeclined",
    "ExtendOffered",
    "InvalidCommand",
    "InvalidRules",
    "LiveSummary",
    "MatchRecord",
    "Matched",
    "Matcher",
    "MatcherError",
    "Meeting",
    "MeetingDeadlineChanged",
    "MeetingEnded",
    "MeetingView",
    "PartnerDisconnected",
    "PartnerReconnected",
    "ReadyPool",
    "Reported",
    "SessionRules",
    "UnknownAttendee",
    "WaitingStatus",
]
