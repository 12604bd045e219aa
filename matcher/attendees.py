"""The attendees who joined a session: their state, the connected idle ones by ticket type, and which
ticket types each type may meet under the session's rules."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from matcher.affinity import NO_INTERESTS
from matcher.events import AttendeeState, AttendeeStateChanged
from matcher.meeting import Meeting


@dataclass(slots=True, eq=False)
class Attendee:
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


class Attendees:
    """Every attendee by id (`by_id`, for hot loops), with the idle counts kept as their state changes."""

    def __init__(self, may_meet: Callable[[str, str], bool]) -> None:
        self.by_id: dict[str, Attendee] = {}
        self.idle_by_type: Counter[str] = Counter()  # connected, idle attendees
        self._may_meet = may_meet
        self._known_types: dict[str, None] = {}  # every ticket type seen, in order
        self._allowed: dict[str, tuple[tuple[str, ...], frozenset[str]]] = {}  # over the known types

    def __len__(self) -> int:
        return len(self.by_id)

    def __contains__(self, attendee: object) -> bool:
        return attendee in self.by_id

    def __getitem__(self, attendee: str) -> Attendee:
        return self.by_id[attendee]

    def __iter__(self) -> Iterator[Attendee]:
        return iter(self.by_id.values())

    def get(self, attendee: str) -> Attendee | None:
        return self.by_id.get(attendee)

    def add(self, attendee: str, ticket_type: str, interests: frozenset[str]) -> Attendee:
        """A new attendee, idle and connected."""
        att = self.by_id[attendee] = Attendee(attendee, ticket_type, interests=interests)
        self.idle_by_type[ticket_type] += 1
        self._register_type(ticket_type)
        return att

    def set_may_meet(self, may_meet: Callable[[str, str], bool]) -> None:
        self._may_meet = may_meet
        self._allowed.clear()

    def allowed_for(self, ticket_type: str) -> tuple[tuple[str, ...], frozenset[str]]:
        """The known ticket types `ticket_type` may meet, in order and as a set."""
        allowed = self._allowed.get(ticket_type)
        if allowed is None:
            types = tuple(t for t in self._known_types if self._may_meet(ticket_type, t))
            allowed = self._allowed[ticket_type] = (types, frozenset(types))
        return allowed

    def retype(self, att: Attendee, ticket_type: str) -> None:
        if att.connected and att.state is AttendeeState.idle:
            self.idle_by_type[att.ticket_type] -= 1
            self.idle_by_type[ticket_type] += 1
        att.ticket_type = ticket_type
        self._register_type(ticket_type)

    def set_state(self, att: Attendee, state: AttendeeState) -> AttendeeStateChanged:
        if att.connected:
            if att.state is AttendeeState.idle:
                self.idle_by_type[att.ticket_type] -= 1
            if state is AttendeeState.idle:
                self.idle_by_type[att.ticket_type] += 1
        att.state = state
        return att.changed[state]

    def set_connected(self, att: Attendee, connected: bool) -> None:
        if att.connected != connected and att.state is AttendeeState.idle:
            self.idle_by_type[att.ticket_type] += 1 if connected else -1
        att.connected = connected

    def _register_type(self, ticket_type: str) -> None:
        if ticket_type not in self._known_types:
            self._known_types[ticket_type] = None
            self._allowed.clear()  # recomputed lazily over every known type
