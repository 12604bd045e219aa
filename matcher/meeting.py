"""One 1:1 meeting's state machine: absolute deadline, extension offers, disconnect grace, end."""

from __future__ import annotations

from matcher.errors import InvalidCommand
from matcher.events import (
    ConnectionState,
    EndReason,
    Event,
    ExtendAccepted,
    ExtendDeclined,
    ExtendOffered,
    MeetingDeadlineChanged,
    MeetingEnded,
    PartnerDisconnected,
    PartnerReconnected,
)
from matcher.rules import SessionRules
from matcher.views import MatchRecord, MeetingView


class Meeting:
    """A meeting between `a` and `b`, driven by commands and by `expire(now)`.

    Every time is a clock value passed in by the caller; the meeting owns no timer. Commands that make no
    sense now raise `InvalidCommand` and change nothing. Once ended, the meeting refuses every command.
    """

    __slots__ = (
        "_grace_until",
        "_rules",
        "a",
        "b",
        "end_reason",
        "ended_at",
        "ends_at",
        "extensions",
        "id",
        "left_by",
        "offer_by",
        "started_at",
    )

    def __init__(self, meeting_id: str, a: str, b: str, started_at: float, rules: SessionRules) -> None:
        if a == b:
            raise InvalidCommand(f"an attendee cannot meet themselves: {a!r}")
        self.id = meeting_id
        self.a = a
        self.b = b
        self.started_at = started_at
        self.ends_at = started_at + rules.meeting_seconds
        self.extensions = 0
        self.offer_by: str | None = None
        self.ended_at: float | None = None
        self.end_reason: EndReason | None = None
        self.left_by: str | None = None
        self._rules = rules
        self._grace_until: dict[str, float] = {}

    def __repr__(self) -> str:
        state = "running" if self.running else f"ended:{self.end_reason}"
        return f"<Meeting {self.id} {self.a}+{self.b} ends_at={self.ends_at} {state}>"

    @property
    def running(self) -> bool:
        return self.ended_at is None

    @property
    def extensions_left(self) -> int:
        return max(0, self._rules.max_extensions - self.extensions)

    @property
    def extend_window_opens_at(self) -> float:
        """From this clock time on, an extension may be offered (if any are left)."""
        return self.ends_at - self._rules.extend_window_seconds

    def partner_of(self, attendee: str) -> str:
        if attendee == self.a:
            return self.b
        if attendee == self.b:
            return self.a
        raise InvalidCommand(f"{attendee!r} is not in meeting {self.id}")

    def remaining(self, now: float) -> float:
        return max(0.0, self.ends_at - now)

    @property
    def both_connected(self) -> bool:
        return not self._grace_until

    def grace_until(self, attendee: str) -> float | None:
        """When a disconnected participant's grace period runs out; None while they are connected."""
        return self._grace_until.get(attendee)

    def can_offer_extension(self, attendee: str, now: float) -> bool:
        """Whether `attendee` may press Extend now (an offer from the partner counts as accepting it)."""
        return (
            self.running
            and attendee in (self.a, self.b)
            and self.offer_by != attendee
            and self.extensions_left > 0
            and 0 < self.ends_at - now <= self._rules.extend_window_seconds
        )

    def view_for(self, attendee: str, now: float, shared_interests: frozenset[str]) -> MeetingView:
        """The running meeting as `attendee` sees it."""
        partner = self.partner_of(attendee)
        grace = self.grace_until(partner)
        return MeetingView(
            meeting_id=self.id,
            partner=partner,
            started_at=self.started_at,
            ends_at=self.ends_at,
            extensions=self.extensions,
            extensions_left=self.extensions_left,
            extend_offered_by=self.offer_by,
            extend_window_opens_at=self.extend_window_opens_at,
            can_offer_extend=self.can_offer_extension(attendee, now),
            partner_connected=grace is None,
            partner_grace_until=grace,
            shared_interests=shared_interests,
        )

    def record_for(
        self,
        attendee: str,
        now: float,
        connection: ConnectionState | None,
        connection_requested_by: str | None,
    ) -> MatchRecord:
        """The meeting in `attendee`'s history, with the state of their connection with the partner."""
        end = self.ended_at
        return MatchRecord(
            meeting_id=self.id,
            partner=self.partner_of(attendee),
            started_at=self.started_at,
            ended_at=end,
            seconds=max(0.0, (now if end is None else end) - self.started_at),
            extensions=self.extensions,
            end_reason=self.end_reason,
            connection=connection,
            connection_requested_by=connection_requested_by,
        )

    def next_due(self) -> float:
        """The earliest clock time at which `expire` has something to do: the deadline or a grace expiry."""
        if self._grace_until:
            return min(self.ends_at, *self._grace_until.values())
        return self.ends_at

    # Commands -----------------------------------------------------------------------------------------

    def offer_extension(self, by: str, now: float) -> list[Event]:
        """`by` offers to extend. Offering again is a no-op; offering back to a pending offer accepts it."""
        self._check_running(by)
        if self.offer_by == by:
            return []
        if self.offer_by is not None:
            return self.accept_extension(by, now)
        self._check_window(now)
        self.offer_by = by
        return [ExtendOffered(self.id, by)]

    def accept_extension(self, by: str, now: float) -> list[Event]:
        """The side that did not offer accepts: the deadline moves by half the meeting length."""
        self._check_running(by)
        if self.offer_by is None:
            raise InvalidCommand("there is no extension offer to accept")
        if self.offer_by == by:
            raise InvalidCommand("an extension offer must be accepted by the partner")
        if self.ends_at - now <= 0:
            raise InvalidCommand("the meeting has reached its end")
        self.offer_by = None
        self.extensions += 1
        self.ends_at += self._rules.extension_seconds
        return [ExtendAccepted(self.id, by, self.ends_at), MeetingDeadlineChanged(self.id, self.ends_at)]

    def decline_extension(self, by: str, now: float) -> list[Event]:
        """The partner declines the offer, or the offering side withdraws it: the offer disappears."""
        self._check_running(by)
        if self.offer_by is None:
            raise InvalidCommand("there is no extension offer to decline")
        self.offer_by = None
        return [ExtendDeclined(self.id, by)]

    def disconnect(self, attendee: str, now: float) -> list[Event]:
        """`attendee` dropped out: the meeting waits `grace_seconds` for them. Repeating it is a no-op."""
        self._check_running(attendee)
        if attendee in self._grace_until:
            return []
        until = now + self._rules.grace_seconds
        self._grace_until[attendee] = until
        return [PartnerDisconnected(self.id, attendee, until)]

    def reconnect(self, attendee: str) -> list[Event]:
        """`attendee` is back within the grace period: the same meeting resumes. No-op if never gone."""
        self._check_running(attendee)
        if self._grace_until.pop(attendee, None) is None:
            return []
        return [PartnerReconnected(self.id, attendee)]

    def end(self, reason: EndReason, at: float, left_by: str | None = None) -> MeetingEnded:
        """End the meeting now (leave, block, session closed); the caller frees both participants."""
        if not self.running:
            raise InvalidCommand(f"meeting {self.id} has already ended")
        if left_by is not None and left_by not in (self.a, self.b):
            raise InvalidCommand(f"{left_by!r} is not in meeting {self.id}")
        self.ended_at = at
        self.end_reason = reason
        self.left_by = left_by
        self.offer_by = None
        self._grace_until.clear()
        return MeetingEnded(self.id, self.a, self.b, self.started_at, at, reason, self.extensions, left_by)

    def expire(self, now: float) -> list[Event]:
        """Apply what the clock says: at the deadline a pending offer lapses and the meeting ends as
        timeout; when a grace period runs out first, it ends as partner_left. Returns [] if nothing is due."""
        if not self.running or now < self.next_due():
            return []
        if self._grace_until:
            dropped, until = min(self._grace_until.items(), key=lambda item: item[1])
            # A deadline reached at the same moment wins: the meeting had simply run its course.
            if until < self.ends_at:
                return [self.end(EndReason.partner_left, until, left_by=dropped)]
        events: list[Event] = []
        if self.offer_by is not None:
            events.append(ExtendDeclined(self.id, None))
        events.append(self.end(EndReason.timeout, self.ends_at))
        return events

    # Helpers ------------------------------------------------------------------------------------------

    def _check_running(self, attendee: str) -> None:
        if attendee not in (self.a, self.b):
            raise InvalidCommand(f"{attendee!r} is not in meeting {self.id}")
        if not self.running:
            raise InvalidCommand(f"meeting {self.id} has already ended")

    def _check_window(self, now: float) -> None:
        if self.extensions_left <= 0:
            raise InvalidCommand("no extensions left for this meeting")
        remaining = self.ends_at - now
        if remaining <= 0:
            raise InvalidCommand("the meeting has reached its end")
        if remaining > self._rules.extend_window_seconds:
            raise InvalidCommand(
                f"an extension can be offered only in the last {self._rules.extend_window_seconds:g} seconds"
            )
