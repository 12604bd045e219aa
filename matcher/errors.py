"""The matcher's exceptions: one base class, so callers can catch everything the matcher refuses."""

from __future__ import annotations


class MatcherError(Exception):
    """Base class of every error the matcher raises."""


class UnknownAttendee(MatcherError):
    """A command named an attendee the matcher has never seen (never joined, no history)."""

    def __init__(self, attendee: str) -> None:
        super().__init__(f"unknown attendee: {attendee!r}")
        self.attendee = attendee


class InvalidCommand(MatcherError):
    """A command that makes no sense in the current state; the matcher changed nothing."""


class InvalidRules(MatcherError, ValueError):
    """Session rules that cannot work (negative durations, malformed ticket-type matrix)."""
