"""The waiting statuses the matcher keeps for every ready attendee, and when they must be recomputed.

Each status says how many eligible people are waiting, how many eligible people are in meetings that end
soon, and an estimate of the wait (see `matcher.waiting`). They are recomputed on the matcher's state, only
when something changed or the clock passed a time at which an answer changes.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from matcher.events import AttendeeState, Event, WaitingStatus
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

if TYPE_CHECKING:
    from matcher.attendees import Attendee
    from matcher.matcher import Matcher


@dataclass(slots=True)
class _Status:
    key: tuple[int, int, float | None, str]
    status: WaitingStatus
    expected_at: float | None


class WaitingStatuses:
    """The last status told to each waiting attendee of a matcher, and the next time one may change.

    The methods read the state of the matcher they are given (its pool, attendees, meetings and history).
    """

    def __init__(self, ending_soon_seconds: float) -> None:
        """`ending_soon_seconds`: how near its end a meeting counts as "ending soon"."""
        self._ending_soon = ending_soon_seconds
        self._statuses: dict[str, _Status] = {}
        self._free_index: FreeTimeIndex | None = None
        self.recheck_at = math.inf

    def forget_free_times(self) -> None:
        """A meeting started, ended or changed its deadline or grace, or a ticket type changed: when who
        becomes free is recomputed on next use."""
        self._free_index = None

    def forget(self, attendee: str) -> None:
        """The attendee left the pool."""
        self._statuses.pop(attendee, None)

    def joined_pool(self, m: Matcher, att: Attendee, now: float) -> WaitingStatus:
        """The status of an attendee who just became ready, the newest in the queue of their type."""
        rank = m._pool.count(att.ticket_type) - 1
        entry, _ = self._compute(m, att, now, rank, self._index(m))
        self._statuses[att.id] = entry
        return entry.status

    def current(self, m: Matcher, att: Attendee, now: float) -> WaitingStatus:
        """A ready attendee's status as of `now` (the estimate counts down between recomputations)."""
        entry = self._statuses.get(att.id)
        if entry is None:
            entry, _ = self._compute(m, att, now, self._rank(m, att), self._index(m))
            self._statuses[att.id] = entry
        waiting = entry.status
        if entry.expected_at is not None:
            waiting = replace(waiting, estimated_wait_seconds=max(0.0, entry.expected_at - now))
        return waiting

    def refresh(self, m: Matcher, now: float) -> list[Event]:
        """Recompute every waiting attendee's status; emit those that changed; plan the next recheck."""
        recheck = math.inf
        ends_at = m._rules.ends_at
        if ends_at is not None and now < ends_at and not m._closed:
            recheck = ends_at
        if not len(m._pool):
            self._statuses.clear()
            self.recheck_at = recheck
            return []
        index = self._index(m)
        upcoming = index.next_free_after(now + self._ending_soon)
        if upcoming is not None:
            recheck = min(recheck, upcoming - self._ending_soon)
        events: list[Event] = []
        ranks: Counter[str] = Counter()
        previous_statuses = self._statuses
        self._statuses = {}  # only those still waiting keep one
        attendees = m._attendees.by_id
        for attendee in m._pool.longest_waiting_first():
            att = attendees[attendee]
            rank = ranks[att.ticket_type]
            ranks[att.ticket_type] += 1
            entry, cooling_ends = self._compute(m, att, now, rank, index)
            recheck = min(recheck, cooling_ends)
            previous = previous_statuses.get(attendee)
            if previous is None or previous.key != entry.key:
                events.append(entry.status)
            self._statuses[attendee] = entry
        self.recheck_at = recheck
        return events

    def _index(self, m: Matcher) -> FreeTimeIndex:
        """When the people now in meetings become free, rebuilt after any meeting change."""
        if self._free_index is None:
            attendees = m._attendees.by_id
            rows: dict[str, list[tuple[float, str]]] = {}
            for meeting in m._running.values():
                for attendee in (meeting.a, meeting.b):
                    if meeting.both_connected or meeting.grace_until(attendee) is None:
                        ticket_type = attendees[attendee].ticket_type
                        by_type = rows.get(ticket_type)
                        if by_type is None:
                            by_type = rows[ticket_type] = []
                        by_type.append((meeting.ends_at, attendee))
            self._free_index = FreeTimeIndex(rows)
        return self._free_index

    @staticmethod
    def _free_at(m: Matcher, attendee: str, types: frozenset[str]) -> float | None:
        """When `attendee` leaves their meeting, if they are in one, connected, with a ticket of `types`."""
        att = m._attendees.get(attendee)
        if att is None or att.meeting is None or att.ticket_type not in types:
            return None
        if att.meeting.grace_until(attendee) is not None:
            return None
        return att.meeting.ends_at

    @staticmethod
    def _rank(m: Matcher, att: Attendee) -> int:
        """How many of the same ticket type have waited longer."""
        pool = m._pool
        since = att.waiting_since
        return sum(
            1
            for other in pool.members(att.ticket_type)
            if other != att.id and (pool.waiting_since(other) or 0.0) < (since or 0.0)
        )

    def _compute(
        self, m: Matcher, att: Attendee, now: float, rank: int, index: FreeTimeIndex
    ) -> tuple[_Status, float]:
        """The waiting status of a ready attendee, and when the next of their cooldowns ends."""
        rules = m._rules
        allowed, allowed_set = m._attendees.allowed_for(att.ticket_type)
        pool = m._pool
        blocked = m._relations.blocked_with.get(att.id, set())
        cooling: dict[str, float] = {}
        if not rules.allow_rematch:
            for partner, parted in m._relations.last_met.get(att.id, {}).items():
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
            free_at = self._free_at(m, other, allowed_set)
            if free_at is not None:
                excluded.add(other)
                if free_at <= horizon:
                    soon -= 1
        for other, until in cooling.items():
            if pool.ticket_type(other) in allowed_set:
                extras.append(until)
                continue
            free_at = self._free_at(m, other, allowed_set)
            if free_at is not None and until > free_at:
                # Free at the end of their meeting, but not eligible before the cooldown ends.
                excluded.add(other)
                extras.append(until)
                if free_at <= horizon:
                    soon -= 1

        expected: float | None
        if m.session_ended(now):
            expected, reason = None, SESSION_ENDED
        elif waiting > 0:
            expected, reason = now, PAIRING_NOW
        else:
            expected = index.kth_free_time(allowed, rank, excluded, extras)
            if expected is not None and rules.ends_at is not None and expected >= rules.ends_at:
                expected, reason = None, NOT_BEFORE_END
            elif expected is None:
                idle = sum(m._attendees.idle_by_type[t] for t in allowed)
                for other in blocked:
                    o = m._attendees.get(other)
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
