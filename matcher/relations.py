"""What lies between attendees across a session: who met whom and when, blocks, connections and reports.

Pure bookkeeping for the matcher: the matcher checks who may do what; this keeps the answers, restores them
after a restart (`seed`) and counts what happened for the live summary.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from matcher.errors import InvalidCommand
from matcher.events import ConnectionChanged, ConnectionState, Event, Reported
from matcher.views import ConnectionView

# Reports one attendee may make in one session (each about a different person they met).
MAX_REPORTS = 20


@dataclass(slots=True)
class Connection:
    requested_by: str
    state: ConnectionState
    at: float | None


class Relations:
    """Past meetings, blocks, connections and reports, by attendee."""

    def __init__(self) -> None:
        self.last_met: dict[str, dict[str, float]] = {}  # attendee -> partner -> when they last parted
        self.blocks: set[tuple[str, str]] = set()  # (by, blocked)
        self.blocked_with: dict[str, set[str]] = {}  # both directions
        # attendee -> other -> their connection (the same object under both attendees)
        self._connections: dict[str, dict[str, Connection]] = {}
        self._reported: set[tuple[str, str]] = set()  # (by, reported) pairs reported in this session
        self._reports_by: dict[str, int] = {}
        self.connections_requested = 0
        self.connections_accepted = 0
        self.reports = 0

    def knows(self, attendee: str) -> bool:
        """Whether the attendee met or blocked someone (or was blocked) in this session."""
        return attendee in self.last_met or attendee in self.blocked_with

    def met_before(self, attendee: str, other: str) -> bool:
        """Whether a meeting between them has ended."""
        return other in self.last_met.get(attendee, ())

    def remember_meeting(self, a: str, b: str, parted: float) -> None:
        for x, y in ((a, b), (b, a)):
            partners = self.last_met.setdefault(x, {})
            if partners.get(y, -math.inf) < parted:
                partners[y] = parted

    # Blocks -------------------------------------------------------------------------------------------

    def blocked(self, by: str, other: str) -> bool:
        return (by, other) in self.blocks

    def either_blocked(self, attendee: str, other: str) -> bool:
        return other in self.blocked_with.get(attendee, ())

    def add_block(self, by: str, blocked: str) -> None:
        self.blocks.add((by, blocked))
        self.blocked_with.setdefault(by, set()).add(blocked)
        self.blocked_with.setdefault(blocked, set()).add(by)

    def withdraw_connection(self, a: str, b: str) -> None:
        if self._connections.get(a, {}).pop(b, None) is not None:
            self._connections.get(b, {}).pop(a, None)

    # Connections --------------------------------------------------------------------------------------

    def connection(self, a: str, b: str) -> Connection | None:
        return self._connections.get(a, {}).get(b)

    def request_connection(self, attendee: str, other: str, now: float) -> list[Event]:
        """`attendee` asks to connect with `other`. Idempotent; a request back accepts theirs."""
        connection = self.connection(attendee, other)
        if connection is not None:
            if connection.state is ConnectionState.accepted or connection.requested_by == attendee:
                return []
            return self._accept(connection, other, attendee, now)
        self._set_connection(attendee, other, Connection(attendee, ConnectionState.requested, now))
        self.connections_requested += 1
        return [ConnectionChanged(attendee, other, attendee, ConnectionState.requested, now)]

    def accept_connection(self, attendee: str, other: str, now: float) -> list[Event]:
        """`attendee` accepts `other`'s request. Idempotent once accepted."""
        connection = self.connection(attendee, other)
        if connection is None or connection.requested_by == attendee:
            raise InvalidCommand(f"there is no connection request from {other!r} to accept")
        if connection.state is ConnectionState.accepted:
            return []
        return self._accept(connection, other, attendee, now)

    def connection_views(self, attendee: str) -> tuple[ConnectionView, ...]:
        return tuple(
            ConnectionView(other, connection.state, connection.requested_by, connection.at)
            for other, connection in self._connections.get(attendee, {}).items()
        )

    def _accept(self, connection: Connection, requester: str, accepter: str, now: float) -> list[Event]:
        connection.state = ConnectionState.accepted
        connection.at = now
        self.connections_accepted += 1
        return [ConnectionChanged(requester, accepter, requester, ConnectionState.accepted, now)]

    def _set_connection(self, a: str, b: str, connection: Connection) -> None:
        self._connections.setdefault(a, {})[b] = connection
        self._connections.setdefault(b, {})[a] = connection

    # Reports ------------------------------------------------------------------------------------------

    def report(self, attendee: str, other: str, reason: str, now: float) -> list[Event]:
        """One report per pair counts (again: nothing happens); at most `MAX_REPORTS` per attendee."""
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
        self.reports += 1
        return [Reported(attendee, other, text, now)]

    # History ------------------------------------------------------------------------------------------

    def seed(
        self,
        meetings: Iterable[tuple[str, str, float]],
        blocks: Iterable[tuple[str, str]],
        connections: Iterable[tuple[str, str, str, ConnectionState]],
    ) -> tuple[int, int, int]:
        """Restore past meetings (a, b, ended_at), blocks (by, blocked) and connections (a, b,
        requested_by, state); answers how many of each. All rows are checked before any is applied
        (`InvalidCommand` on a malformed row)."""
        meeting_rows: list[tuple[str, str, float]] = []
        block_rows: list[tuple[str, str]] = []
        connection_rows: list[tuple[str, str, str, ConnectionState]] = []
        try:
            for a, b, ended_at in meetings:
                _check_pair(a, b)
                parted = float(ended_at)
                if not math.isfinite(parted):
                    raise InvalidCommand(f"meeting {a!r}-{b!r} has no valid end time")
                meeting_rows.append((a, b, parted))
            for by, blocked in blocks:
                _check_pair(by, blocked)
                block_rows.append((by, blocked))
            for a, b, requested_by, state in connections:
                _check_pair(a, b)
                if requested_by not in (a, b):
                    raise InvalidCommand(f"connection {a!r}-{b!r} requested by an outsider {requested_by!r}")
                connection_rows.append((a, b, requested_by, ConnectionState(state)))
        except (TypeError, ValueError) as error:  # a row of the wrong shape, time or state
            raise InvalidCommand(f"malformed history row: {error}") from None
        for a, b, ended_at in meeting_rows:
            self.remember_meeting(a, b, ended_at)
        for by, blocked in block_rows:
            self.add_block(by, blocked)
        for a, b, requested_by, state in connection_rows:
            current = self.connection(a, b)
            if current is None or current.state is ConnectionState.requested:
                self._set_connection(a, b, Connection(requested_by, state, None))
        return len(meeting_rows), len(block_rows), len(connection_rows)


def _check_pair(a: str, b: str) -> None:
    if not isinstance(a, str) or not isinstance(b, str) or not a or not b or a == b:
        raise InvalidCommand(f"not a pair of two distinct attendees: {a!r}, {b!r}")
