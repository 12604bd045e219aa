"""The snapshots the matcher hands out: `view`, `matches_of`, `live_summary`."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from matcher import (
    AttendeeState,
    AttendeeView,
    ConnectionState,
    EndReason,
    LiveSummary,
    Matched,
    Matcher,
    MatchRecord,
    MeetingView,
    SessionRules,
)


def meet(m: Matcher, a: str, b: str) -> Matched:
    for attendee in (a, b):
        m.join(attendee, "A")
        m.ready(attendee)
    (matched,) = [e for e in m.tick() if isinstance(e, Matched)]
    return matched


def test_views_are_frozen() -> None:
    for cls in (AttendeeView, MeetingView, MatchRecord, LiveSummary):
        assert cls.__dataclass_params__.frozen  # type: ignore[attr-defined]


def test_view_of_an_idle_attendee(make_matcher: Any, clock: Any) -> None:
    m = make_matcher()
    m.join("a", "A")
    view = m.view("a")
    assert view == AttendeeView(
        attendee="a",
        ticket_type="A",
        state=AttendeeState.idle,
        connected=True,
        meeting=None,
        waiting=None,
        connections=(),
        session_ended=False,
        at=1000.0,
    )


def test_view_of_a_waiting_attendee_has_their_status(make_matcher: Any, clock: Any) -> None:
    m = make_matcher()
    m.join("a", "A")
    m.ready("a")
    clock.advance(3)
    view = m.view("a")
    assert view.state is AttendeeState.ready
    assert view.waiting is not None and view.waiting.waiting_since == 1000.0
    assert view.at == 1003.0


def test_view_in_a_meeting_from_both_sides(make_matcher: Any, clock: Any) -> None:
    m = make_matcher(meeting_seconds=120, max_extensions=1)
    matched = meet(m, "a", "b")
    clock.now = 1095.0
    m.extend_offer("a")
    view_a = m.view("a").meeting
    view_b = m.view("b").meeting
    assert view_a == MeetingView(
        meeting_id=matched.meeting_id,
        partner="b",
        started_at=1000.0,
        ends_at=1120.0,
        extensions=0,
        extensions_left=1,
        extend_offered_by="a",  # a sees "Requested"
        extend_window_opens_at=1090.0,
        can_offer_extend=False,  # already offered
        partner_connected=True,
        partner_grace_until=None,
    )
    assert view_b is not None and view_b.partner == "a"
    assert view_b.extend_offered_by == "a" and view_b.can_offer_extend  # b sees "Accept"
    m.extend_accept("b")
    view_a = m.view("a").meeting
    assert view_a is not None and view_a.extensions_left == 0 and view_a.ends_at == 1180.0


def test_view_lists_connections_from_each_side(make_matcher: Any, clock: Any) -> None:
    m = make_matcher()
    meet(m, "a", "b")
    m.connect_request("b", "a")
    (seen_by_a,) = m.view("a").connections
    (seen_by_b,) = m.view("b").connections
    assert (seen_by_a.other, seen_by_a.requested_by) == ("b", "b")
    assert (seen_by_b.other, seen_by_b.state, seen_by_b.at) == ("a", ConnectionState.requested, 1000.0)


def test_matches_list_every_partner_with_times_and_connection(make_matcher: Any, clock: Any) -> None:
    m = make_matcher(meeting_seconds=120)
    first = meet(m, "a", "b")
    clock.advance(45)
    m.connect_request("a", "b")
    m.connect_accept("b", "a")
    m.leave("b")
    m.join("c", "A")
    m.ready("c")
    m.ready("a")
    second = next(e for e in m.tick() if isinstance(e, Matched))
    clock.advance(10)
    records = m.matches_of("a")
    assert records == [
        MatchRecord(
            meeting_id=first.meeting_id,
            partner="b",
            started_at=1000.0,
            ended_at=1045.0,
            seconds=45.0,
            extensions=0,
            end_reason=EndReason.left,
            connection=ConnectionState.accepted,
            connection_requested_by="a",
        ),
        MatchRecord(
            meeting_id=second.meeting_id,
            partner="c",
            started_at=1045.0,
            ended_at=None,  # still running
            seconds=10.0,
            extensions=0,
            end_reason=None,
            connection=None,
            connection_requested_by=None,
        ),
    ]
    assert [r.partner for r in m.matches_of("b")] == ["a"]
    assert m.matches_of("c")[0].partner == "a"


def test_matches_of_someone_who_never_met_anyone(make_matcher: Any) -> None:
    m = make_matcher()
    m.join("a", "A")
    assert m.matches_of("a") == []


def test_live_summary_counts(make_matcher: Any, clock: Any) -> None:
    m = make_matcher(meeting_seconds=120)
    meet(m, "a", "b")
    meet(m, "c", "d")
    for attendee in ("e", "f"):
        m.join(attendee, "A")
    m.ready("e")
    m.disconnect("f")
    clock.now = 1100.0
    m.extend_offer("a")
    m.extend_accept("b")
    m.connect_request("c", "d")
    m.leave("c")
    m.report("a", "b", "late")
    m.block("d", "c")  # they met; it withdraws their connection request
    summary = m.live_summary()
    assert summary == LiveSummary(
        attendees=6,
        connected=5,
        idle=2,  # c and d (f is disconnected)
        waiting=1,
        in_meetings=2,
        meetings_running=1,
        meetings_started=2,
        meetings_ended=1,
        extensions=1,
        connections_requested=1,  # requests made, withdrawn or not
        connections_accepted=0,
        blocks=1,
        reports=1,
        session_ended=False,
    )
    assert dataclasses.asdict(summary)["waiting"] == 1


def test_ending_soon_horizon_must_be_a_duration(clock: Any) -> None:
    Matcher(SessionRules(meeting_seconds=60), clock, ending_soon_seconds=0.0)
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError):
            Matcher(SessionRules(meeting_seconds=60), clock, ending_soon_seconds=bad)
