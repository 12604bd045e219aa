"""Prometheus metrics of the control plane's sessions: attendees and meetings.

* attendees connected, waiting (ready, unmatched) and in meetings (gauges), read from the live rooms'
  matchers at every scrape (`count_attendees_in`) or set by whoever keeps the counts (`set_attendees`);
* meetings started, and ended by reason (counters), counted from the matcher's events (`observe_event`);
* how long each room tick's matcher work took (deadlines, the pairing round, waiting statuses), and how
  long history transactions took (histograms).

The metrics go on the registry they are given (the app's), never on the process-wide default one, so tests
can run many servers in one process.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from matcher import Event, Matched, Matcher, MeetingEnded

ROUND_SECONDS_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class _Room(Protocol):
    @property
    def matcher(self) -> Matcher: ...


class SessionMetrics:
    """The session metrics of one server (one app), on the app's registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.attendees_connected = Gauge(
            "speedmeet_attendees_connected", "Attendees with an open signalling connection", registry=registry
        )
        self.attendees_waiting = Gauge(
            "speedmeet_attendees_waiting", "Attendees ready and waiting for a match", registry=registry
        )
        self.attendees_in_meetings = Gauge(
            "speedmeet_attendees_in_meetings", "Attendees in a running meeting", registry=registry
        )
        self.meetings_started = Counter("speedmeet_meetings_started", "Meetings started", registry=registry)
        self.meetings_ended = Counter(
            "speedmeet_meetings_ended", "Meetings ended, by reason", ["reason"], registry=registry
        )
        self.pairing_round_seconds = Histogram(
            "speedmeet_pairing_round_seconds",
            "Time of one room tick's matcher work: deadlines, the pairing round and waiting statuses",
            buckets=ROUND_SECONDS_BUCKETS,
            registry=registry,
        )
        self.history_commit_seconds = Histogram(
            "speedmeet_history_commit_seconds",
            "Time to write one transaction of a room's history rows",
            buckets=ROUND_SECONDS_BUCKETS,
            registry=registry,
        )

    def observe_event(self, event: Event) -> None:
        """Count a matcher event (meetings started, and ended by reason)."""
        if isinstance(event, Matched):
            self.meeting_started()
        elif isinstance(event, MeetingEnded):
            self.meeting_ended(str(event.reason.value))

    def meeting_started(self) -> None:
        self.meetings_started.inc()

    def meeting_ended(self, reason: str) -> None:
        self.meetings_ended.labels(reason=reason).inc()

    def set_attendees(self, *, connected: int, waiting: int, in_meetings: int) -> None:
        self.attendees_connected.set(connected)
        self.attendees_waiting.set(waiting)
        self.attendees_in_meetings.set(in_meetings)

    def count_attendees_in(self, rooms: Callable[[], Iterable[_Room]]) -> None:
        """Read the attendee gauges from the live rooms' matchers at every scrape (`rooms()` is called
        then; rooms that are gone count nobody)."""

        def count(field: str) -> Callable[[], float]:
            def value() -> float:
                return float(sum(getattr(room.matcher.live_summary(), field) for room in rooms()))

            return value

        self.attendees_connected.set_function(count("connected"))
        self.attendees_waiting.set_function(count("waiting"))
        self.attendees_in_meetings.set_function(count("in_meetings"))
