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
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from matcher.affinity import NO_INTERESTS, interests_from
from matcher.errors import InvalidCommand, UnknownAttendee
from matcher.events import (
    AttendeeState,
    AttendeeStateChanged,
    Blocked,
    ConnectionChanged,
    ConnectionState,
    EndReason,
    Event,
    ExtendAccepted,
    Matched,
    Reported,
    WaitingStatus,
)
from matcher.meeting import Meeting
from matcher.pool import ReadyPool
from matcher.rules import SessionRules
from matcher.views import AttendeeView, ConnectionView, LiveSummary, MatchRecord, MeetingView
from matcher.waiting import (
    NOBODY_ELIGIBLE,
    NOT_BEFORE_END,
    PAIRING_NOW,
    SESSION_ENDED,
    WAITING_FOR_MEETINGS,
    WAITING_FOR_PARTNER,
    WAITING_FOR_READY,
    FreeTimeIndex,
)

logger = logging.getLogger(__name__)

# Reports one attendee may make in one session (each about a different person they met).
MAX_REPORTS = 20


@dataclass(slots=True, eq=False)
class _Attendee:
    id: str
    ticket_type: str
    state: AttendeeState = AttendeeState.idle
    connected: bool = True
    meeting: Meeting | None = None
    waiting_since: float | None = None
    interests: frozenset[str] = NO_INTERESTS
    # Events are immutable: each attendee's three state changes are made once, not on every change
    # (a pairing round emits thousands of them).
    changed: dict[AttendeeState, AttendeeStateChanged] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.changed = {state: AttendeeStateChanged(self.id, state) for state in AttendeeState}


@dataclass(slots=True)
class _Connection:
    requested_by: str
    state: ConnectionState
    at: float | None


@dataclass(slots=True)
class _Status:
    key: tuple[int, int, float | None, str]
    status: WaitingStatus
    expected_at: float | None


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
        self._ending_soon = ending_soon_seconds
        self._attendees: dict[str, _Attendee] = {}
        self._idle_by_type: Counter[str] = Counter()  # connected, idle attendees
        self._known_types: dict[str, None] = {}  # every ticket type seen, in order
        self._allowed: dict[str, tuple[tuple[str, ...], frozenset[str]]] = {}  # over the known types
        self._pool = ReadyPool(rules.may_meet, self._rng)
        self._running: dict[str, Meeting] = {}
        self._meetings_of: dict[str, list[Meeting]] = {}
        self._last_met: dict[str, dict[str, float]] = {}  # attendee -> partner -> when they last parted
        self._blocks: set[tuple[str, str]] = set()  # (by, blocked)
        self._blocked_with: dict[str, set[str]] = {}  # both directions
        # attendee -> other -> their connection (the same object under both attendees)
        self._connections: dict[str, dict[str, _Connection]] = {}
        self._reported: set[tuple[str, str]] = set()  # (by, reported) pairs reported in this session
        self._reports_by: dict[str, int] = {}
        self._due: list[tuple[float, int, str]] = []  # (when, seq, meeting id); stale entries are skipped
        self._seq = itertools.count()
        self._meeting_numbers = itertools.count(1)
        # Meeting ids stay distinct across matchers (restarts) without any I/O.
        self._id_prefix = f"{self._rng.getrandbits(32):08x}"
        self._statuses: dict[str, _Status] = {}
        self._free_index: FreeTimeIndex | None = None
        # Pairing and waiting statuses are recomputed only when something changed or the clock passed a
        # time at which an answer changes (a cooldown ends, a meeting starts ending soon, the session ends).
        self._dirty = True
        self._recheck_at = math.inf
        self._closed = False
        self._meetings_started = 0
        self._meetings_ended = 0
        self._extensions = 0
        self._connections_requested = 0
        self._connections_accepted = 0
        self._reports = 0

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
        self._allowed.clear()
        self._free_index = None
        self._dirty = True
        self._recheck_at = -math.inf

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
            att = self._attendees[attendee] = _Attendee(attendee, ticket_type, interests=tags)
            self._idle_by_type[ticket_type] += 1
            self._register_type(ticket_type)
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
        events: list[Event] = [self._set_state(att, AttendeeState.ready)]
        rank = self._pool.count(att.ticket_type) - 1  # the newest in the queue of their ticket type
        entry, _ = self._compute_status(att, now, rank, self._index())
        self._statuses[attendee] = entry
        events.append(entry.status)
        return events

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
        connection = self._connection(attendee, other)
        if connection is not None:
            if connection.state is ConnectionState.accepted or connection.requested_by == attendee:
                return []
            return self._accept_connection(connection, other, attendee)
        now = self._clock()
        self._set_connection(attendee, other, _Connection(attendee, ConnectionState.requested, now))
        self._connections_requested += 1
        return [ConnectionChanged(attendee, other, attendee, ConnectionState.requested, now)]

    def connect_accept(self, attendee: str, other: str) -> list[Event]:
        """Accept `other`'s connection request. Idempotent once accepted."""
        self._get(attendee)
        self._check_may_connect(attendee, other)
        connection = self._connection(attendee, other)
        if connection is None or connection.requested_by == attendee:
            raise InvalidCommand(f"there is no connection request from {other!r} to accept")
        if connection.state is ConnectionState.accepted:
            return []
        return self._accept_connection(connection, other, attendee)

    def block(self, attendee: str, other: str) -> list[Event]:
        """Block `other`, someone the attendee has met: a meeting between them ends (reason blocked),
        they are never paired again, and a connection between them is withdrawn (neither sees the other's
        contact details any more)."""
        att = self._get(attendee)
        self._check_met(attendee, other)
        if (attendee, other) in self._blocks:
            return []
        now = self._clock()
        events: list[Event] = []
        meeting = att.meeting
        if meeting is not None:
            events.extend(self._catch_up(meeting, now))
        self._blocks.add((attendee, other))
        self._blocked_with.setdefault(attendee, set()).add(other)
        self._blocked_with.setdefault(other, set()).add(attendee)
        if self._connections.get(attendee, {}).pop(other, None) is not None:
            self._connections.get(other, {}).pop(attendee, None)
        self._dirty = True
        events.append(Blocked(attendee, other, now))
        if meeting is not None and meeting.running and meeting.partner_of(attendee) == other:
            events.append(meeting.end(EndReason.blocked, now, left_by=attendee))
            events.extend(self._release(meeting))
        return events

    def report(self, attendee: str, other: str, reason: str) -> list[Event]:
        """Report `other`, someone the attendee has met, to the organiser; changes nothing else (block to
        end a meeting). One report per pair counts (again: nothing happens), and an attendee makes at
        most `MAX_REPORTS` of them."""
        self._get(attendee)
        self._check_met(attendee, other)
        text = reason.strip() if isinstance(reason, str) else ""
        if not text:
            raise InvalidCommand("a report needs a reason")
        if (attendee, other) in self._reported:
            return []
        made = self._reports_by.get(attendee, 0)
        if made >= MAX_REPORTS:
            raise InvalidCommand(f"at most {MAX_REPORTS} reports per session: tell the organiser directly")
        self._reported.add((attendee, other))
        self._reports_by[attendee] = made + 1
        self._reports += 1
        return [Reported(attendee, other, text, self._clock())]

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
        if self._dirty or now >= self._recheck_at:
            if not self.session_ended(now):
                cooldown = None if self._rules.allow_rematch else self._rules.rematch_cooldown_seconds
                pairs = self._pool.pair_round(
                    now,
                    self._blocked_with,
                    self._last_met,
                    cooldown,
                    weighting=self._rules.interest_weighting,
                )
                events.extend(self._start_meetings(pairs, now))
            events.extend(self._refresh_statuses(now))
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
        events.extend(self._refresh_statuses(now))
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
        meeting_rows: list[tuple[str, str, float]] = []
        block_rows: list[tuple[str, str]] = []
        connection_rows: list[tuple[str, str, str, ConnectionState]] = []
        try:
            for a, b, ended_at in meetings:
                self._check_pair(a, b)
                parted = float(ended_at)
                if not math.isfinite(parted):
                    raise InvalidCommand(f"meeting {a!r}-{b!r} has no valid end time")
                meeting_rows.append((a, b, parted))
            for by, blocked in blocks:
                self._check_pair(by, blocked)
                block_rows.append((by, blocked))
            for a, b, requested_by, state in connections:
                self._check_pair(a, b)
                if requested_by not in (a, b):
                    raise InvalidCommand(f"connection {a!r}-{b!r} requested by an outsider {requested_by!r}")
                connection_rows.append((a, b, requested_by, ConnectionState(state)))
        except (TypeError, ValueError) as error:  # a row of the wrong shape, time or state
            raise InvalidCommand(f"malformed history row: {error}") from None
        for a, b, ended_at in meeting_rows:
            self._remember_meeting(a, b, ended_at)
        for by, blocked in block_rows:
            self._blocks.add((by, blocked))
            self._blocked_with.setdefault(by, set()).add(blocked)
            self._blocked_with.setdefault(blocked, set()).add(by)
        for a, b, requested_by, state in connection_rows:
            current = self._connection(a, b)
            if current is None or current.state is ConnectionState.requested:
                self._set_connection(a, b, _Connection(requested_by, state, None))
        self._dirty = True
        logger.debug(
            "history restored: %d meetings, %d blocks, %d connections",
            len(meeting_rows),
            len(block_rows),
            len(connection_rows),
        )

    # Queries ------------------------------------------------------------------------------------------

    def view(self, attendee: str) -> AttendeeView:
        """The whole state of one attendee, for a (re)connecting client."""
        att = self._get(attendee)
        now = self._clock()
        meeting_view: MeetingView | None = None
        meeting = att.meeting
        if meeting is not None:
            partner = meeting.partner_of(attendee)
            grace = meeting.grace_until(partner)
            meeting_view = MeetingView(
                meeting_id=meeting.id,
                partner=partner,
                started_at=meeting.started_at,
                ends_at=meeting.ends_at,
                extensions=meeting.extensions,
                extensions_left=meeting.extensions_left,
                extend_offered_by=meeting.offer_by,
                extend_window_opens_at=meeting.extend_window_opens_at,
                can_offer_extend=meeting.can_offer_extension(attendee, now),
                partner_connected=grace is None,
                partner_grace_until=grace,
                shared_interests=att.interests & self._attendees[partner].interests,
            )
        waiting: WaitingStatus | None = None
        if att.state is AttendeeState.ready:
            entry = self._statuses.get(attendee)
            if entry is None:
                entry, _ = self._compute_status(att, now, self._rank(att), self._index())
                self._statuses[attendee] = entry
            waiting = entry.status
            if entry.expected_at is not None:
                waiting = replace(waiting, estimated_wait_seconds=max(0.0, entry.expected_at - now))
        return AttendeeView(
            attendee=attendee,
            ticket_type=att.ticket_type,
            state=att.state,
            connected=att.connected,
            meeting=meeting_view,
            waiting=waiting,
            connections=self._connection_views(attendee),
            session_ended=self.session_ended(now),
            at=now,
        )

    def matches_of(self, attendee: str) -> list[MatchRecord]:
        """Every meeting this matcher ran for the attendee, oldest first (the running one included)."""
        self._get(attendee)
        now = self._clock()
        records = []
        for meeting in self._meetings_of.get(attendee, ()):
            partner = meeting.partner_of(attendee)
            connection = self._connection(attendee, partner)
            end = meeting.ended_at
            records.append(
                MatchRecord(
                    meeting_id=meeting.id,
                    partner=partner,
                    started_at=meeting.started_at,
                    ended_at=end,
                    seconds=max(0.0, (now if end is None else end) - meeting.started_at),
                    extensions=meeting.extensions,
                    end_reason=meeting.end_reason,
                    connection=connection.state if connection else None,
                    connection_requested_by=connection.requested_by if connection else None,
                )
            )
        return records

    def live_summary(self) -> LiveSummary:
        connected = sum(1 for att in self._attendees.values() if att.connected)
        return LiveSummary(
            attendees=len(self._attendees),
            connected=connected,
            idle=sum(self._idle_by_type.values()),
            waiting=len(self._pool),
            in_meetings=2 * len(self._running),
            meetings_running=len(self._running),
            meetings_started=self._meetings_started,
            meetings_ended=self._meetings_ended,
            extensions=self._extensions,
            connections_requested=self._connections_requested,
            connections_accepted=self._connections_accepted,
            blocks=len(self._blocks),
            reports=self._reports,
            session_ended=self.session_ended(),
        )

    # Internals ----------------------------------------------------------------------------------------

    def _get(self, attendee: str) -> _Attendee:
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
        return attendee in self._attendees or attendee in self._last_met or attendee in self._blocked_with

    def _check_other(self, attendee: str, other: str) -> None:
        if other == attendee:
            raise InvalidCommand("cannot do that to oneself")
        if not self._is_known(other):
            raise UnknownAttendee(other)

    def _has_met(self, attendee: str, other: str) -> bool:
        meeting = self._attendees[attendee].meeting
        return other in self._last_met.get(attendee, ()) or (
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
        if other in self._blocked_with.get(attendee, ()):
            raise InvalidCommand("cannot connect: one of you blocked the other")

    @staticmethod
    def _check_pair(a: str, b: str) -> None:
        if not isinstance(a, str) or not isinstance(b, str) or not a or not b or a == b:
            raise InvalidCommand(f"not a pair of two distinct attendees: {a!r}, {b!r}")

    def _accept_connection(self, connection: _Connection, requester: str, accepter: str) -> list[Event]:
        now = self._clock()
        connection.state = ConnectionState.accepted
        connection.at = now
        self._connections_accepted += 1
        return [ConnectionChanged(requester, accepter, requester, ConnectionState.accepted, now)]

    def _connection(self, a: str, b: str) -> _Connection | None:
        return self._connections.get(a, {}).get(b)

    def _set_connection(self, a: str, b: str, connection: _Connection) -> None:
        self._connections.setdefault(a, {})[b] = connection
        self._connections.setdefault(b, {})[a] = connection

    def _connection_views(self, attendee: str) -> tuple[ConnectionView, ...]:
        return tuple(
            ConnectionView(other, connection.state, connection.requested_by, connection.at)
            for other, connection in self._connections.get(attendee, {}).items()
        )

    def _register_type(self, ticket_type: str) -> None:
        if ticket_type not in self._known_types:
            self._known_types[ticket_type] = None
            self._allowed.clear()  # recomputed lazily over every known type

    def _allowed_for(self, ticket_type: str) -> tuple[tuple[str, ...], frozenset[str]]:
        allowed = self._allowed.get(ticket_type)
        if allowed is None:
            types = tuple(t for t in self._known_types if self._rules.may_meet(ticket_type, t))
            allowed = self._allowed[ticket_type] = (types, frozenset(types))
        return allowed

    def _change_ticket_type(self, att: _Attendee, ticket_type: str) -> None:
        if att.connected and att.state is AttendeeState.idle:
            self._idle_by_type[att.ticket_type] -= 1
            self._idle_by_type[ticket_type] += 1
        if att.state is AttendeeState.ready:
            self._pool.retype(att.id, ticket_type)
        att.ticket_type = ticket_type
        self._register_type(ticket_type)
        self._free_index = None
        self._dirty = True

    def _set_state(self, att: _Attendee, state: AttendeeState) -> AttendeeStateChanged:
        if att.connected:
            if att.state is AttendeeState.idle:
                self._idle_by_type[att.ticket_type] -= 1
            if state is AttendeeState.idle:
                self._idle_by_type[att.ticket_type] += 1
        att.state = state
        self._dirty = True
        return att.changed[state]

    def _set_connected(self, att: _Attendee, connected: bool) -> None:
        if att.connected != connected and att.state is AttendeeState.idle:
            self._idle_by_type[att.ticket_type] += 1 if connected else -1
        att.connected = connected
        self._dirty = True

    def _leave_pool(self, att: _Attendee) -> None:
        self._pool.remove(att.id)
        self._statuses.pop(att.id, None)
        att.waiting_since = None

    def _start_meetings(self, pairs: list[tuple[str, str]], now: float) -> list[Event]:
        """Start a meeting for each pair the pool made; `a` of each pair waited longer.

        One loop for the whole round: a round can start thousands of meetings at once.
        """
        events: list[Event] = []
        append = events.append
        rules = self._rules
        attendees = self._attendees
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
            self._free_index = None
            self._dirty = True
            # The waiting statuses of those now in meetings go when the statuses are next refreshed,
            # which the caller does right after a pairing round.
        return events

    def _meeting_changed(self, meeting: Meeting) -> None:
        """A running meeting's deadline or grace changed: reschedule it; waiting estimates are stale."""
        heapq.heappush(self._due, (meeting.next_due(), next(self._seq), meeting.id))
        self._free_index = None
        self._dirty = True

    def _after_extend(self, meeting: Meeting, events: list[Event]) -> list[Event]:
        if any(isinstance(event, ExtendAccepted) for event in events):
            self._extensions += 1
            self._meeting_changed(meeting)
        return events

    def _remember_meeting(self, a: str, b: str, parted: float) -> None:
        for x, y in ((a, b), (b, a)):
            partners = self._last_met.setdefault(x, {})
            if partners.get(y, -math.inf) < parted:
                partners[y] = parted

    def _release(self, meeting: Meeting) -> list[Event]:
        """A meeting has just ended: both participants go back to idle, the cooldown starts."""
        assert meeting.ended_at is not None
        del self._running[meeting.id]
        self._meetings_ended += 1
        self._remember_meeting(meeting.a, meeting.b, meeting.ended_at)
        self._free_index = None
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

    # Waiting statuses ---------------------------------------------------------------------------------

    def _index(self) -> FreeTimeIndex:
        """When the people now in meetings become free, rebuilt after any meeting change."""
        if self._free_index is None:
            attendees = self._attendees
            rows: dict[str, list[tuple[float, str]]] = {}
            for meeting in self._running.values():
                for attendee in (meeting.a, meeting.b):
                    if meeting.both_connected or meeting.grace_until(attendee) is None:
                        ticket_type = attendees[attendee].ticket_type
                        by_type = rows.get(ticket_type)
                        if by_type is None:
                            by_type = rows[ticket_type] = []
                        by_type.append((meeting.ends_at, attendee))
            self._free_index = FreeTimeIndex(rows)
        return self._free_index

    def _free_at(self, attendee: str, types: frozenset[str]) -> float | None:
        """When `attendee` leaves their meeting, if they are in one, connected, with a ticket of `types`."""
        att = self._attendees.get(attendee)
        if att is None or att.meeting is None or att.ticket_type not in types:
            return None
        if att.meeting.grace_until(attendee) is not None:
            return None
        return att.meeting.ends_at

    def _rank(self, att: _Attendee) -> int:
        """How many of the same ticket type have waited longer."""
        since = att.waiting_since
        return sum(
            1
            for other in self._pool.members(att.ticket_type)
            if other != att.id and (self._pool.waiting_since(other) or 0.0) < (since or 0.0)
        )

    def _refresh_statuses(self, now: float) -> list[Event]:
        """Recompute every waiting attendee's status; emit those that changed; plan the next recheck."""
        recheck = math.inf
        ends_at = self._rules.ends_at
        if ends_at is not None and now < ends_at and not self._closed:
            recheck = ends_at
        if not len(self._pool):
            self._statuses.clear()
            self._recheck_at = recheck
            return []
        index = self._index()
        upcoming = index.next_free_after(now + self._ending_soon)
        if upcoming is not None:
            recheck = min(recheck, upcoming - self._ending_soon)
        events: list[Event] = []
        ranks: Counter[str] = Counter()
        previous_statuses = self._statuses
        self._statuses = {}  # only those still waiting keep one
        for attendee in self._pool.longest_waiting_first():
            att = self._attendees[attendee]
            rank = ranks[att.ticket_type]
            ranks[att.ticket_type] += 1
            entry, cooling_ends = self._compute_status(att, now, rank, index)
            recheck = min(recheck, cooling_ends)
            previous = previous_statuses.get(attendee)
            if previous is None or previous.key != entry.key:
                events.append(entry.status)
            self._statuses[attendee] = entry
        self._recheck_at = recheck
        return events

    def _compute_status(
        self, att: _Attendee, now: float, rank: int, index: FreeTimeIndex
    ) -> tuple[_Status, float]:
        """The waiting status of a ready attendee, and when the next of their cooldowns ends."""
        rules = self._rules
        allowed, allowed_set = self._allowed_for(att.ticket_type)
        pool = self._pool
        blocked = self._blocked_with.get(att.id, set())
        cooling: dict[str, float] = {}
        if not rules.allow_rematch:
            for partner, parted in self._last_met.get(att.id, {}).items():
                until = parted + rules.rematch_cooldown_seconds
                if until > now and partner not in blocked:
                    cooling[partner] = until
        cooling_ends = min(cooling.values(), default=math.inf)

        waiting = sum(pool.count(t) for t in allowed) - (1 if att.ticket_type in allowed_set else 0)
        since = att.waiting_since if att.waiting_since is not None else now
        for other in itertools.chain(blocked, cooling):
            other_type = pool.ticket_type(other)
            if other_type in allowed_set:
                waiting -= 1
            other_since = pool.waiting_since(other)
            if other_type == att.ticket_type and other_since is not None and other_since <= since:
                # Ahead in the queue but no rival for the same partners: one of them, if anything.
                rank = max(0, rank - 1)

        horizon = now + self._ending_soon
        if rules.ends_at is not None:
            horizon = min(horizon, math.nextafter(rules.ends_at, -math.inf))
        soon = index.count_until(allowed, horizon)
        excluded: set[str] = set()
        extras: list[float] = []
        for other in blocked:
            free_at = self._free_at(other, allowed_set)
            if free_at is not None:
                excluded.add(other)
                if free_at <= horizon:
                    soon -= 1
        for other, until in cooling.items():
            if pool.ticket_type(other) in allowed_set:
                extras.append(until)
                continue
            free_at = self._free_at(other, allowed_set)
            if free_at is not None and until > free_at:
                # Free at the end of their meeting, but not eligible before the cooldown ends.
                excluded.add(other)
                extras.append(until)
                if free_at <= horizon:
                    soon -= 1

        expected: float | None
        if self.session_ended(now):
            expected, reason = None, SESSION_ENDED
        elif waiting > 0:
            expected, reason = now, PAIRING_NOW
        else:
            expected = index.kth_free_time(allowed, rank, excluded, extras)
            if expected is not None and rules.ends_at is not None and expected >= rules.ends_at:
                expected, reason = None, NOT_BEFORE_END
            elif expected is None:
                idle = sum(self._idle_by_type[t] for t in allowed)
                for other in blocked:
                    o = self._attendees.get(other)
                    if o is not None and o.connected and o.state is AttendeeState.idle:
                        if o.ticket_type in allowed_set:
                            idle -= 1
                reason = WAITING_FOR_READY if idle > 0 else NOBODY_ELIGIBLE
            else:
                reason = WAITING_FOR_MEETINGS if soon > 0 else WAITING_FOR_PARTNER
        status = WaitingStatus(
            attendee=att.id,
            waiting_since=since,
            eligible_waiting=waiting,
            eligible_ending_soon=soon,
            estimated_wait_seconds=None if expected is None else max(0.0, expected - now),
            reason=reason,
        )
        return _Status((waiting, soon, expected, reason), status, expected), cooling_ends
