"""The matcher: a meeting from start to end (deadline, extensions, leaving, disconnects)."""

from __future__ import annotations

from typing import Any

import pytest
from matcher_testing import join_ready, meet, one, only, state

from matcher import (
    AttendeeState,
    AttendeeStateChanged,
    EndReason,
    ExtendAccepted,
    ExtendDeclined,
    ExtendOffered,
    InvalidCommand,
    Matched,
    MeetingDeadlineChanged,
    MeetingEnded,
    PartnerDisconnected,
    PartnerReconnected,
    WaitingStatus,
)

# Meeting lifecycle -------------------------------------------------------------------------------------


def test_meeting_ends_at_its_deadline_and_both_go_back_to_not_ready(make_matcher: Any, clock: Any) -> None:
    m = make_matcher(meeting_seconds=120)
    meet(m, "a", "b")
    clock.now = 1119.99
    assert only(m.tick(), MeetingEnded) == []
    clock.now = 1120.5  # ticks are not exact: the recorded end is the deadline
    events = m.tick()
    ended = one(events, MeetingEnded)
    assert (ended.reason, ended.started_at, ended.ended_at, ended.left_by) == (
        EndReason.timeout,
        1000.0,
        1120.0,
        None,
    )
    assert only(events, AttendeeStateChanged) == [
        AttendeeStateChanged("a", AttendeeState.idle),
        AttendeeStateChanged("b", AttendeeState.idle),
    ]
    assert only(m.tick(), Matched) == []  # not ready: nobody is re-queued behind their back


def test_extension_offer_accept_moves_the_deadline(make_matcher: Any, clock: Any) -> None:
    m = make_matcher(meeting_seconds=120)
    matched = meet(m, "a", "b")
    clock.now = 1089.0
    with pytest.raises(InvalidCommand):
        m.extend_offer("a")  # 31 s left: too early
    clock.now = 1090.0
    assert m.extend_offer("a") == [ExtendOffered(matched.meeting_id, "a")]
    view_b = m.view("b").meeting
    assert view_b is not None and view_b.extend_offered_by == "a"  # b sees "Accept"
    assert m.extend_accept("b") == [
        ExtendAccepted(matched.meeting_id, "b", 1180.0),
        MeetingDeadlineChanged(matched.meeting_id, 1180.0),
    ]
    clock.now = 1150.0
    assert only(m.tick(), MeetingEnded) == []
    with pytest.raises(InvalidCommand):
        m.extend_offer("a")  # the one extension is used
    clock.now = 1180.0
    ended = one(m.tick(), MeetingEnded)
    assert ended.extensions == 1 and ended.ended_at == 1180.0
    assert m.live_summary().extensions == 1


def test_unanswered_offer_lapses_at_zero(make_matcher: Any, clock: Any) -> None:
    m = make_matcher(meeting_seconds=120)
    matched = meet(m, "a", "b")
    clock.now = 1100.0
    m.extend_offer("b")
    clock.now = 1120.0
    events = m.tick()
    assert events[:2] == [
        ExtendDeclined(matched.meeting_id, None),
        MeetingEnded(matched.meeting_id, "a", "b", 1000.0, 1120.0, EndReason.timeout, 0, None),
    ]


def test_declined_offer_disappears_and_the_meeting_ends_on_time(make_matcher: Any, clock: Any) -> None:
    m = make_matcher(meeting_seconds=120)
    matched = meet(m, "a", "b")
    clock.now = 1100.0
    m.extend_offer("a")
    assert m.extend_decline("b") == [ExtendDeclined(matched.meeting_id, "b")]
    with pytest.raises(InvalidCommand):
        m.extend_accept("b")
    clock.now = 1120.0
    assert one(m.tick(), MeetingEnded).reason is EndReason.timeout


def test_extension_commands_outside_a_meeting_are_refused(make_matcher: Any) -> None:
    m = make_matcher()
    m.join("a", "A")
    for command in (m.extend_offer, m.extend_accept, m.extend_decline, m.leave):
        with pytest.raises(InvalidCommand, match="not in a meeting"):
            command("a")


def test_invalid_commands_change_nothing(make_matcher: Any, clock: Any) -> None:
    m = make_matcher()
    meet(m, "a", "b")
    before = (m.view("a"), m.view("b"), m.live_summary())
    for command in (m.extend_offer, m.extend_accept, m.extend_decline):
        with pytest.raises(InvalidCommand):
            command("a")
    with pytest.raises(InvalidCommand):
        m.connect_accept("a", "b")
    assert (m.view("a"), m.view("b"), m.live_summary()) == before


def test_leave_ends_the_meeting_for_both(make_matcher: Any, clock: Any) -> None:
    m = make_matcher()
    matched = meet(m, "a", "b")
    clock.advance(42)
    events = m.leave("b")
    assert events == [
        MeetingEnded(matched.meeting_id, "a", "b", 1000.0, 1042.0, EndReason.left, 0, "b"),
        AttendeeStateChanged("a", AttendeeState.idle),
        AttendeeStateChanged("b", AttendeeState.idle),
    ]
    with pytest.raises(InvalidCommand):
        m.leave("a")
    # Both may press Ready again.
    assert one(m.ready("a"), AttendeeStateChanged).state is AttendeeState.ready


def test_leave_after_the_deadline_but_before_the_tick_is_a_timeout(make_matcher: Any, clock: Any) -> None:
    m = make_matcher(meeting_seconds=120)
    meet(m, "a", "b")
    clock.now = 1121.0
    ended = one(m.leave("a"), MeetingEnded)
    assert ended.reason is EndReason.timeout and ended.ended_at == 1120.0
    assert only(m.tick(), MeetingEnded) == []  # ended once only


def test_disconnect_and_come_back_within_the_grace_period(make_matcher: Any, clock: Any) -> None:
    m = make_matcher(meeting_seconds=120, grace_seconds=10)
    matched = meet(m, "a", "b")
    clock.advance(30)
    assert m.disconnect("b") == [PartnerDisconnected(matched.meeting_id, "b", 1040.0)]
    assert m.disconnect("b") == []
    view_a = m.view("a").meeting
    assert view_a is not None and not view_a.partner_connected and view_a.partner_grace_until == 1040.0
    clock.advance(9)
    assert only(m.tick(), MeetingEnded) == []
    assert m.reconnect("b") == [PartnerReconnected(matched.meeting_id, "b")]
    assert m.reconnect("b") == []
    clock.advance(30)
    assert only(m.tick(), MeetingEnded) == []
    assert m.view("b").meeting.meeting_id == matched.meeting_id  # type: ignore[union-attr]


def test_grace_period_running_out_ends_as_partner_left(make_matcher: Any, clock: Any) -> None:
    m = make_matcher(meeting_seconds=120, grace_seconds=10)
    meet(m, "a", "b")
    clock.advance(30)
    m.disconnect("b")
    clock.advance(10.5)
    events = m.tick()
    ended = one(events, MeetingEnded)
    assert (ended.reason, ended.left_by, ended.ended_at) == (EndReason.partner_left, "b", 1040.0)
    assert state(m, "a") is AttendeeState.idle and state(m, "b") is AttendeeState.idle
    assert not m.view("b").connected
    with pytest.raises(InvalidCommand):
        m.ready("b")  # not until they are back
    assert m.join("b", "A") == []  # rejoin reconnects; the meeting is over
    assert m.view("b").connected
    m.ready("b")


def test_reconnect_after_the_grace_period_but_before_the_tick(make_matcher: Any, clock: Any) -> None:
    m = make_matcher(grace_seconds=10)
    meet(m, "a", "b")
    m.disconnect("a")
    clock.advance(11)
    ended = one(m.reconnect("a"), MeetingEnded)
    assert ended.reason is EndReason.partner_left and ended.ended_at == 1010.0
    assert m.view("a").connected and state(m, "a") is AttendeeState.idle


def test_rejoin_within_the_grace_period_resumes_the_meeting(make_matcher: Any, clock: Any) -> None:
    m = make_matcher(grace_seconds=10)
    matched = meet(m, "a", "b")
    m.disconnect("a")
    clock.advance(5)
    assert m.join("a", "A") == [PartnerReconnected(matched.meeting_id, "a")]


def test_zero_grace_ends_the_meeting_at_once(make_matcher: Any) -> None:
    m = make_matcher(grace_seconds=0)
    meet(m, "a", "b")
    events = m.disconnect("a")
    assert one(events, MeetingEnded).reason is EndReason.partner_left
    assert state(m, "b") is AttendeeState.idle


def test_disconnect_while_ready_just_leaves_the_pool(make_matcher: Any) -> None:
    m = make_matcher()
    join_ready(m, "a")
    assert m.disconnect("a") == [AttendeeStateChanged("a", AttendeeState.idle)]
    join_ready(m, "b")
    assert only(m.tick(), Matched) == []
    assert m.reconnect("a") == []
    assert state(m, "a") is AttendeeState.idle


def test_disconnected_partner_is_not_counted_as_soon_free(make_matcher: Any, clock: Any) -> None:
    m = make_matcher(meeting_seconds=60)
    meet(m, "a", "b")
    m.disconnect("b")
    m.join("c", "A")
    status = one(m.ready("c"), WaitingStatus)
    assert status.eligible_ending_soon == 1  # only a will be back in the session
