"""The session's matcher: the ready pool, every running meeting, and the history that constrains pairing.

Pure Python: no I/O, no asyncio, no timers. The server calls the commands as attendees act and calls
`tick()` regularly (a few times a second); every call returns the events to deliver and persist.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import math
import random
from collections.abc import Callable, Iterable

from matcher.affinity import NO_INTERESTS, interests_from
from matcher.attendees import Attendee, Attendees
from matcher.errors import InvalidCommand, UnknownAttendee
from matcher.events import (
    AttendeeState,
    AttendeeStateChanged,
    Blocked,
    ConnectionState,
    EndReason,
    Event,
    ExtendAccepted,
    Matched,
    WaitingStatus,
)
from matcher.meeting import Meeting
from matcher.pool import ReadyPool
from matcher.relations import Relations
from matcher.rules import SessionRules
from matcher.statuses import WaitingStatuses
from matcher.views import AttendeeView, LiveSummary, MatchRecord, MeetingView

logger = logging.getLogger(__name__)


class Matcher:
    """Random 1:1 pairing under a session's rules, and the lifecycle of every meeting it starts.

    Commands raise `UnknownAttendee` for an attendee who never joined and `InvalidCommand` when they make
    no sense now; either way nothing changes. Pairing happens in `tick()`: a ready attendee with an eligible
    ready partner is paired on the next tick, the longest-waiting first.
    """

    def __init__(
        self,
        rules: SessionRules,
        clock: Callable[[], float],
        rng: random.Random | None = None,
        *,
        ending_soon_seconds: float = 60.0,
    ) -> None:
        """`ending_soon_seconds`: how near its end a meeting counts as "ending soon" in waiting statuses."""
        if not math.isfinite(ending_soon_seconds) or ending_soon_seconds < 0:
            raise ValueError(f"ending_soon_seconds must be >= 0, got {ending_soon_seconds!r}")
        self._rules = rules
        self._clock = clock
        self._rng = rng if rng is not None else random.Random()
        self._attendees = Attendees(rules.may_meet)
        self._pool = ReadyPool(rules.may_meet, self._rng)
        self._running: dict[str, Meeting] = {}
        self._meetings_of: dict[str, list[Meeting]] = {}
        self._relations = Relations()
        self._due: list[tuple[float, int, str]] = []  # (when, seq, meeting id); stale entries are skipped
        self._seq = itertools.count()
        self._meeting_numbers = itertools.count(1)
        # Meeting ids stay distinct across matchers (restarts) without any I/O.
        self._id_prefix = f"{self._rng.getrandbits(32):08x}"
        self._waiting = WaitingStatuses(ending_soon_seconds)
        # Pairing and waiting statuses are recomputed only when something changed or the clock passed a
        # time at which an answer changes (a cooldown ends, a meeting starts ending soon, the session ends:
        # `self._waiting.recheck_at`).
        self._dirty = True
        self._closed = False
        self._meetings_started = 0
        self._meetings_ended = 0
        self._extensions = 0

    @property
    def rules(self) -> SessionRules:
        return self._rules

    def update_rules(self, rules: SessionRules) -> None:
        """The organiser changed the session: new rules from the next pairing on. Running meetings keep
        the rules they started with (their length and extensions), as a meeting running at the
        session's end runs to its own end."""
        if not isinstance(rules, SessionRules):
            raise TypeError(f"expected SessionRules, got {type(rules).__name__}")
        self._rules = rules
        self._pool.set_may_meet(rules.may_meet)
        self._attendees.set_may_meet(rules.may_meet)
        self._waiting.forget_free_times()
        self._dirty = True
        self._waiting.recheck_at = -math.inf

    def session_ended(self, now: float | None = None) -> bool:
        """Whether no new matches are made any more (`ends_at` passed or `close_session` called)."""
        return self._closed or self._rules.session_over(self._clock() if now is None else now)

    # Commands -----------------------------------------------------------------------------------------

    def join(self, attendee: str, ticket_type: str, interests: Iterable[str] = NO_INTERESTS) -> list[Event]:
        """Enter the session (idle). Idempotent: a rejoin keeps the attendee's state and reconnects them;
        a changed ticket type or set of interest tags takes effect at once."""
        if not isinstance(attendee, str) or not attendee:
            raise InvalidCommand("attendee id must be a non-empty string")
        if not isinstance(ticket_type, str) or not ticket_type:
            raise InvalidCommand("ticket type must be a non-empty string")
        tags = interests_from(interests)
        att = self._attendees.get(attendee)
        if att is None:
            att = self._attendees.add(attendee, ticket_type, tags)
            self._dirty = True
            return [att.changed[AttendeeState.idle]]
        if att.ticket_type != ticket_type:
            self._change_ticket_type(att, ticket_type)
        if att.interests != tags:
            self.set_interests(attendee, tags)
        if not att.connected:
            return self.reconnect(attendee)
        return []

    def set_interests(self, attendee: str, interests: Iterable[str]) -> list[Event]:
        """The attendee's interest tags, weighing their next pairings; a running meeting keeps its own."""
        att = self._get(attendee)
        att.interests = interests_from(interests)
        if att.state is AttendeeState.ready:
            self._pool.set_interests(attendee, att.interests)
        self._dirty = True
        return []

    def ready(self, attendee: str) -> list[Event]:
        """Enter the ready pool; answers with the waiting status. Pairing happens on the next tick."""
        att = self._get(attendee)
        if not att.connected:
            raise InvalidCommand("a disconnected attendee cannot be ready")
        if att.state is AttendeeState.meeting:
            raise InvalidCommand("already in a meeting")
        if att.state is AttendeeState.ready:
            return []
        now = self._clock()
        att.waiting_since = now
        self._pool.add(attendee, att.ticket_type, now, att.interests)
        return [self._set_state(att, AttendeeState.ready), self._waiting.joined_pool(self, att, now)]

    def unready(self, attendee: str) -> list[Event]:
        """Leave the ready pool. Idempotent when idle; refused in a meeting."""
        att = self._get(attendee)
        if att.state is AttendeeState.meeting:
            raise InvalidCommand("in a meeting: use leave")
        if att.state is AttendeeState.idle:
            return []
        self._leave_pool(att)
        return [self._set_state(att, AttendeeState.idle)]

    def leave(self, attendee: str) -> list[Event]:
        """End the attendee's meeting for both sides; both go back to idle (not ready)."""
        att = self._get(attendee)
        meeting = att.meeting
        if meeting is None:
            raise InvalidCommand("not in a meeting")
        now = self._clock()
        caught_up = self._catch_up(meeting, now)
        if caught_up:
            return caught_up  # it had already reached its end: that is how it ends
        return [meeting.end(EndReason.left, now, left_by=attendee), *self._release(meeting)]

    def extend_offer(self, attendee: str) -> list[Event]:
        """Offer to extend (only in the last `extend_window_seconds`); an offer back accepts the partner's."""
        meeting = self._meeting_of(attendee)
        return self._after_extend(meeting, meeting.offer_extension(attendee, self._clock()))

    def extend_accept(self, attendee: str) -> list[Event]:
        meeting = self._meeting_of(attendee)
        return self._after_extend(meeting, meeting.accept_extension(attendee, self._clock()))

    def extend_decline(self, attendee: str) -> list[Event]:
        """Decline the partner's offer, or withdraw one's own."""
        meeting = self._meeting_of(attendee)
        return meeting.decline_extension(attendee, self._clock())

    def connect_request(self, attendee: str, other: str) -> list[Event]:
        """Ask to connect with someone met (now or before). Idempotent; a request back accepts theirs."""
        self._get(attendee)
        self._check_may_connect(attendee, other)
        return self._relations.request_connection(attendee, other, self._clock())

    def connect_accept(self, attendee: str, other: str) -> list[Event]:
        """Accept `other`'s connection request. Idempotent once accepted."""
        self._get(attendee)
        self._check_may_connect(attendee, other)
        return self._relations.accept_connection(attendee, other, self._clock())

    def block(self, attendee: str, other: str) -> list[Event]:
        """Block `other`, someone the attendee has met: a meeting between them ends (reason blocked),
        they are never paired again, and a connection between them is withdrawn (neither sees the other's
        contact details any more)."""
        att = self._get(attendee)
        self._check_met(attendee, other)
        if self._relations.blocked(attendee, other):
            return []
        now = self._clock()
        events: list[Event] = []
        meeting = att.meeting
        if meeting is not None:
            events.extend(self._catch_up(meeting, now))
        self._relations.add_block(attendee, other)
        self._relations.withdraw_connection(attendee, other)
        self._dirty = True
        events.append(Blocked(attendee, other, now))
        if meeting is not None and meeting.running and meeting.partner_of(attendee) == other:
            events.append(meeting.end(EndReason.blocked, now, left_by=attendee))
            events.extend(self._release(meeting))
        return events

    def report(self, attendee: str, other: str, reason: str) -> list[Event]:
        """Report `other`, someone the attendee has met, to the organiser; changes nothing else (block to
        end a meeting). One report per pair counts (again: nothing happens), and an attendee makes at
        most `matcher.relations.MAX_REPORTS` of them."""
        self._get(attendee)
        self._check_met(attendee, other)
        return self._relations.report(attendee, other, reason, self._clock())

    def disconnect(self, attendee: str) -> list[Event]:
        """The attendee's connection dropped: out of the pool if ready; in a meeting, the grace period
        starts and the meeting ends as partner_left unless they reconnect in time. Idempotent."""
        att = self._get(attendee)
        if not att.connected:
            return []
        now = self._clock()
        events: list[Event] = []
        if att.state is AttendeeState.ready:
            self._leave_pool(att)
            events.append(self._set_state(att, AttendeeState.idle))
        self._set_connected(att, False)
        meeting = att.meeting
        if meeting is not None:
            events.extend(self._catch_up(meeting, now))
            if meeting.running:
                events.extend(meeting.disconnect(attendee, now))
                self._meeting_changed(meeting)
                events.extend(self._catch_up(meeting, now))  # a zero grace period ends it at once
        return events

    def reconnect(self, attendee: str) -> list[Event]:
        """The attendee is back: within the grace period the same meeting resumes. No-op if connected."""
        att = self._get(attendee)
        if att.connected:
            return []
        events: list[Event] = []
        meeting = att.meeting
        if meeting is not None:
            # A grace period that ran out before this call (between ticks) still ends the meeting.
            events.extend(self._catch_up(meeting, self._clock()))
        self._set_connected(att, True)
        if meeting is not None and meeting.running:
            events.extend(meeting.reconnect(attendee))
            self._meeting_changed(meeting)
        return events

    def tick(self, now: float | None = None) -> list[Event]:
        """Advance to `now` (default: the clock): end meetings whose deadline or grace period has passed
        (lapsing pending offers), pair the ready pool, and emit waiting statuses that changed."""
        if now is None:
            now = self._clock()
        events = self._expire(now)
        if self._dirty or now >= self._waiting.recheck_at:
            if not self.session_ended(now):
                cooldown = None if self._rules.allow_rematch else self._rules.rematch_cooldown_seconds
                pairs = self._pool.pair_round(
                    now,
                    self._relations.blocked_with,
                    self._relations.last_met,
                    cooldown,
                    weighting=self._rules.interest_weighting,
                )
                events.extend(self._start_meetings(pairs, now))
            events.extend(self._waiting.refresh(self, now))
            self._dirty = False
        return events

    def close_session(self) -> list[Event]:
        """The organiser closes the session now: running meetings end (reason session_closed) and no new
        matches are made. Waiting attendees stay ready and are told the session has ended."""
        now = self._clock()
        self._closed = True
        events: list[Event] = []
        running = list(self._running.values())
        for meeting in running:
            events.append(meeting.end(EndReason.session_closed, now))
            events.extend(self._release(meeting))
        events.extend(self._waiting.refresh(self, now))
        logger.info("session closed: %d running meetings ended, %d waiting", len(running), len(self._pool))
        return events

    def seed_history(
        self,
        meetings: Iterable[tuple[str, str, float]],
        blocks: Iterable[tuple[str, str]],
        connections: Iterable[tuple[str, str, str, ConnectionState]],
    ) -> None:
        """Restore what constrains pairing after a restart: past meetings (a, b, ended_at) for cooldowns
        and "have met", blocks (by, blocked), connections (a, b, requested_by, state).

        All rows are checked before any is applied (`InvalidCommand` on a malformed row).
        """
        meetings_restored, blocks_restored, connections_restored = self._relations.seed(
            meetings, blocks, connections
        )
        self._dirty = True
        logger.debug(
            "history restored: %d meetings, %d blocks, %d connections",
            meetings_restored,
            blocks_restored,
            connections_restored,
        )

    # Queries ------------------------------------------------------------------------------------------

    def view(self, attendee: str) -> AttendeeView:
        """The whole state of one attendee, for a (re)connecting client."""
        att = self._get(attendee)
        now = self._clock()
        meeting_view: MeetingView | None = None
        meeting = att.meeting
        if meeting is not None:
            partner = self._attendees[meeting.partner_of(attendee)]
            meeting_view = meeting.view_for(attendee, now, att.interests & partner.interests)
        waiting: WaitingStatus | None = None
        if att.state is AttendeeState.ready:
            waiting = self._waiting.current(self, att, now)
        return AttendeeView(
            attendee=attendee,
            ticket_type=att.ticket_type,
            state=att.state,
            connected=att.connected,
            meeting=meeting_view,
            waiting=waiting,
            connections=self._relations.connection_views(attendee),
            session_ended=self.session_ended(now),
            at=now,
        )

    def matches_of(self, attendee: str) -> list[MatchRecord]:
        """Every meeting this matcher ran for the attendee, oldest first (the running one included)."""
        self._get(attendee)
        now = self._clock()
        records = []
        for meeting in self._meetings_of.get(attendee, ()):
            connection = self._relations.connection(attendee, meeting.partner_of(attendee))
            state = connection.state if connection else None
            requested_by = connection.requested_by if connection else None
            records.append(meeting.record_for(attendee, now, state, requested_by))
        return records

    def live_summary(self) -> LiveSummary:
        connected = sum(1 for att in self._attendees if att.connected)
        return LiveSummary(
            attendees=len(self._attendees),
            connected=connected,
            idle=sum(self._attendees.idle_by_type.values()),
            waiting=len(self._pool),
            in_meetings=2 * len(self._running),
            meetings_running=len(self._running),
            meetings_started=self._meetings_started,
            meetings_ended=self._meetings_ended,
            extensions=self._extensions,
            connections_requested=self._relations.connections_requested,
            connections_accepted=self._relations.connections_accepted,
            blocks=len(self._relations.blocks),
            reports=self._relations.reports,
            session_ended=self.session_ended(),
        )

    # Internals ----------------------------------------------------------------------------------------

    def _get(self, attendee: str) -> Attendee:
        att = self._attendees.get(attendee)
        if att is None:
            raise UnknownAttendee(attendee)
        return att

    def _meeting_of(self, attendee: str) -> Meeting:
        meeting = self._get(attendee).meeting
        if meeting is None:
            raise InvalidCommand("not in a meeting")
        return meeting

    def _is_known(self, attendee: str) -> bool:
        return attendee in self._attendees or self._relations.knows(attendee)

    def _check_other(self, attendee: str, other: str) -> None:
        if other == attendee:
            raise InvalidCommand("cannot do that to oneself")
        if not self._is_known(other):
            raise UnknownAttendee(other)

    def _has_met(self, attendee: str, other: str) -> bool:
        meeting = self._attendees[attendee].meeting
        return self._relations.met_before(attendee, other) or (
            meeting is not None and meeting.partner_of(attendee) == other
        )

    def _check_met(self, attendee: str, other: str) -> None:
        """Blocks and reports are only about people one has met: anyone else gets the same answer, known
        or not (so a command cannot tell whether a ticket is in the session)."""
        if other == attendee:
            raise InvalidCommand("cannot do that to oneself")
        if not self._has_met(attendee, other):
            raise InvalidCommand("only someone you have met can be blocked or reported")

    def _check_may_connect(self, attendee: str, other: str) -> None:
        self._check_other(attendee, other)
        if not self._has_met(attendee, other):
            raise InvalidCommand("connections are only between people who have met")
        if self._relations.either_blocked(attendee, other):
            raise InvalidCommand("cannot connect: one of you blocked the other")

    def _change_ticket_type(self, att: Attendee, ticket_type: str) -> None:
        if att.state is AttendeeState.ready:
            self._pool.retype(att.id, ticket_type)
        self._attendees.retype(att, ticket_type)
        self._waiting.forget_free_times()
        self._dirty = True

    def _set_state(self, att: Attendee, state: AttendeeState) -> AttendeeStateChanged:
        self._dirty = True
        return self._attendees.set_state(att, state)

    def _set_connected(self, att: Attendee, connected: bool) -> None:
        self._attendees.set_connected(att, connected)
        self._dirty = True

    def _leave_pool(self, att: Attendee) -> None:
        self._pool.remove(att.id)
        self._waiting.forget(att.id)
        att.waiting_since = None

    def _start_meetings(self, pairs: list[tuple[str, str]], now: float) -> list[Event]:
        """Start a meeting for each pair the pool made; `a` of each pair waited longer.

        One loop for the whole round: a round can start thousands of meetings at once.
        """
        events: list[Event] = []
        append = events.append
        rules = self._rules
        attendees = self._attendees.by_id
        meetings_of = self._meetings_of
        prefix = self._id_prefix
        in_meeting = AttendeeState.meeting
        for a, b in pairs:
            meeting = Meeting(f"{prefix}-{next(self._meeting_numbers)}", a, b, now, rules)
            att_a = attendees[a]
            att_b = attendees[b]
            # Both come from the ready pool: connected, so the idle counts do not change.
            waited_a = now - att_a.waiting_since if att_a.waiting_since is not None else 0.0
            waited_b = now - att_b.waiting_since if att_b.waiting_since is not None else 0.0
            for att in (att_a, att_b):
                att.waiting_since = None
                att.meeting = meeting
                att.state = in_meeting
                history = meetings_of.get(att.id)
                if history is None:
                    meetings_of[att.id] = [meeting]
                else:
                    history.append(meeting)
            self._running[meeting.id] = meeting
            heapq.heappush(self._due, (meeting.ends_at, next(self._seq), meeting.id))
            shared = att_a.interests & att_b.interests if att_a.interests else NO_INTERESTS
            append(Matched(meeting.id, a, b, now, meeting.ends_at, waited_a, waited_b, shared))
            append(att_a.changed[in_meeting])
            append(att_b.changed[in_meeting])
        self._meetings_started += len(pairs)
        if pairs:
            self._waiting.forget_free_times()
            self._dirty = True
            # The waiting statuses of those now in meetings go when the statuses are next refreshed,
            # which the caller does right after a pairing round.
        return events

    def _meeting_changed(self, meeting: Meeting) -> None:
        """A running meeting's deadline or grace changed: reschedule it; waiting estimates are stale."""
        heapq.heappush(self._due, (meeting.next_due(), next(self._seq), meeting.id))
        self._waiting.forget_free_times()
        self._dirty = True

    def _after_extend(self, meeting: Meeting, events: list[Event]) -> list[Event]:
        if any(isinstance(event, ExtendAccepted) for event in events):
            self._extensions += 1
            self._meeting_changed(meeting)
        return events

    def _release(self, meeting: Meeting) -> list[Event]:
        """A meeting has just ended: both participants go back to idle, the cooldown starts."""
        assert meeting.ended_at is not None
        del self._running[meeting.id]
        self._meetings_ended += 1
        self._relations.remember_meeting(meeting.a, meeting.b, meeting.ended_at)
        self._waiting.forget_free_times()
        events: list[Event] = []
        for attendee in (meeting.a, meeting.b):
            att = self._attendees[attendee]
            att.meeting = None
            events.append(self._set_state(att, AttendeeState.idle))
        return events

    def _catch_up(self, meeting: Meeting, now: float) -> list[Event]:
        """Apply a deadline or grace expiry that passed since the last tick, before a command acts."""
        events = meeting.expire(now)
        if events and not meeting.running:
            events.extend(self._release(meeting))
        return events

    def _expire(self, now: float) -> list[Event]:
        events: list[Event] = []
        due = self._due
        while due and due[0][0] <= now:
            when, _, meeting_id = heapq.heappop(due)
            meeting = self._running.get(meeting_id)
            if meeting is None or meeting.next_due() != when:
                continue  # ended already, or rescheduled (the newer entry is in the heap)
            events.extend(self._catch_up(meeting, now))
        return events
