"""Helpers shared by the matcher tests: event filters and the usual first steps of a scenario."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from matcher import AttendeeState, Event, Matched, Matcher

E = TypeVar("E")


def only(events: Iterable[Event], kind: type[E]) -> list[E]:
    return [event for event in events if isinstance(event, kind)]


def one(events: Iterable[Event], kind: type[E]) -> E:
    found = only(events, kind)
    assert len(found) == 1, found
    return found[0]


def join_ready(m: Matcher, *attendees: str, ticket_type: str = "A") -> None:
    for attendee in attendees:
        m.join(attendee, ticket_type)
        m.ready(attendee)


def meet(m: Matcher, a: str, b: str) -> Matched:
    """Join and ready a and b alone, tick: they meet."""
    join_ready(m, a, b)
    return one(m.tick(), Matched)


def state(m: Matcher, attendee: str) -> AttendeeState:
    return m.view(attendee).state
