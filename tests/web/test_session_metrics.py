"""Session metrics: per-app registries, meetings counted from a real matcher's events, attendee gauges read
from the live rooms at every scrape."""

from __future__ import annotations

import random

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from matcher import Matcher, SessionRules
from web.session_metrics import SessionMetrics


def _samples(registry: CollectorRegistry) -> dict[str, float]:
    """Every sample as `name{labels}` -> value."""
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            out[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return out


def test_each_metrics_object_uses_its_own_registry() -> None:
    first, second = CollectorRegistry(), CollectorRegistry()
    metrics = SessionMetrics(first)
    SessionMetrics(second)
    metrics.meeting_started()
    metrics.meeting_ended("timeout")
    metrics.meeting_ended("timeout")
    metrics.meeting_ended("left")
    metrics.set_attendees(connected=5, waiting=1, in_meetings=4)
    a, b = _samples(first), _samples(second)
    assert a["speedmeet_meetings_started_total"] == 1
    assert a["speedmeet_meetings_ended_total{reason=timeout}"] == 2
    assert a["speedmeet_meetings_ended_total{reason=left}"] == 1
    assert (a["speedmeet_attendees_connected"], a["speedmeet_attendees_waiting"]) == (5, 1)
    assert a["speedmeet_attendees_in_meetings"] == 4
    assert b["speedmeet_meetings_started_total"] == 0
    assert b["speedmeet_attendees_connected"] == 0


class _Room:
    def __init__(self, matcher: Matcher) -> None:
        self.matcher = matcher


def test_meeting_counters_and_attendee_gauges_follow_a_real_matcher() -> None:
    now = [1000.0]
    matcher = Matcher(SessionRules(meeting_seconds=60), clock=lambda: now[0], rng=random.Random(1))
    registry = CollectorRegistry()
    metrics = SessionMetrics(registry)
    rooms = [_Room(matcher)]
    metrics.count_attendees_in(lambda: rooms)
    for name in ("a", "b", "c"):
        matcher.join(name, "Attendee")
    events = [*matcher.ready("a"), *matcher.ready("b"), *matcher.ready("c"), *matcher.tick()]
    for event in events:
        metrics.observe_event(event)
    samples = _samples(registry)
    assert samples["speedmeet_meetings_started_total"] == 1
    assert samples["speedmeet_attendees_connected"] == 3
    assert samples["speedmeet_attendees_in_meetings"] == 2
    assert samples["speedmeet_attendees_waiting"] == 1
    in_meeting = "a" if matcher.view("a").meeting is not None else "c"
    for event in matcher.leave(in_meeting):
        metrics.observe_event(event)
    now[0] += 61
    samples = _samples(registry)
    assert samples["speedmeet_meetings_ended_total{reason=left}"] == 1
    assert samples["speedmeet_meetings_started_total"] == 1  # other events count nothing
    rooms.clear()  # rooms that are gone count nobody
    assert _samples(registry)["speedmeet_attendees_connected"] == 0
