"""The matcher: joining, the ready pool and pairing, on a hand-driven clock."""

from __future__ import annotations

from typing import Any

import pytest
from matcher_testing import join_ready, meet, one, only, state

from matcher import (
    AttendeeState,
    AttendeeStateChanged,
    EndReason,
    InvalidCommand,
    Matched,
    MeetingEnded,
    SessionRules,
    UnknownAttendee,
    WaitingStatus,
)
from matcher import waiting as reasons

# Joining ---------------------------------------------------------------------------------------------


def test_join_is_idempotent_and_keeps_state(make_matcher: Any) -> None:
    m = make_matcher()
    assert m.join("a", "A") == [AttendeeStateChanged("a", AttendeeState.idle)]
    m.ready("a")
    assert m.join("a", "A") == []
    assert state(m, "a") is AttendeeState.ready


@pytest.mark.parametrize(("attendee", "ticket_type"), [("", "A"), ("a", ""), (None, "A"), ("a", 3)])
def test_join_needs_an_id_and_a_ticket_type(make_matcher: Any, attendee: Any, ticket_type: Any) -> None:
    m = make_matcher()
    with pytest.raises(InvalidCommand):
        m.join(attendee, ticket_type)
    assert m.live_summary().attendees == 0


def test_unknown_attendees_are_refused_by_every_command(make_matcher: Any) -> None:
    m = make_matcher()
    m.join("a", "A")
    commands = [
        lambda: m.ready("z"),
        lambda: m.unready("z"),
        lambda: m.leave("z"),
        lambda: m.extend_offer("z"),
        lambda: m.extend_accept("z"),
        lambda: m.extend_decline("z"),
        lambda: m.connect_request("z", "a"),
        lambda: m.connect_accept("z", "a"),
        lambda: m.block("z", "a"),
        lambda: m.report("z", "a", "spam"),
        lambda: m.disconnect("z"),
        lambda: m.reconnect("z"),
        lambda: m.view("z"),
        lambda: m.matches_of("z"),
        lambda: m.connect_request("a", "z"),
    ]
    for command in commands:
        with pytest.raises(UnknownAttendee):
            command()
    assert m.live_summary().attendees == 1 and m.live_summary().blocks == 0


def test_a_changed_ticket_type_applies_at_once(make_matcher: Any) -> None:
    m = make_matcher(allowed_pairs=SessionRules.pairs_from([("A", "B")]))
    join_ready(m, "a", "b")
    assert only(m.tick(), Matched) == []
    m.join("b", "B")  # e.g. the organiser changed b's ticket
    assert m.view("b").ticket_type == "B" and state(m, "b") is AttendeeState.ready
    assert one(m.tick(), Matched)


# Ready pool and pairing ------------------------------------------------------------------------------


def test_ready_answers_with_state_and_waiting_status_and_is_idempotent(make_matcher: Any) -> None:
    m = make_matcher()
    m.join("a", "A")
    events = m.ready("a")
    assert events[0] == AttendeeStateChanged("a", AttendeeState.ready)
    status = one(events, WaitingStatus)
    assert status.attendee == "a" and status.waiting_since == 1000.0
    assert m.ready("a") == []


def test_pairing_happens_on_the_next_tick(make_matcher: Any, clock: Any) -> None:
    m = make_matcher()
    join_ready(m, "a")
    clock.advance(5)
    join_ready(m, "b")
    events = m.ready("b") + m.tick()
    matched = one(events, Matched)
    assert (matched.a, matched.b) == ("a", "b")  # a waited longer
    assert matched.started_at == 1005.0 and matched.ends_at == 1125.0
    assert matched.a_waited_seconds == 5.0 and matched.b_waited_seconds == 0.0
    assert only(events, AttendeeStateChanged) == [
        AttendeeStateChanged("a", AttendeeState.meeting),
        AttendeeStateChanged("b", AttendeeState.meeting),
    ]
    assert state(m, "a") is AttendeeState.meeting
    assert m.view("a").meeting.partner == "b"  # type: ignore[union-attr]


def test_nobody_is_paired_with_themselves(make_matcher: Any) -> None:
    m = make_matcher()
    join_ready(m, "a")
    assert only(m.tick(), Matched) == []


def test_ticket_type_matrix_decides_who_may_meet(make_matcher: Any) -> None:
    m = make_matcher(allowed_pairs=SessionRules.pairs_from([("mentor", "mentee")]))
    join_ready(m, "m1", "m2", ticket_type="mentor")
    assert only(m.tick(), Matched) == []  # mentors do not meet mentors
    join_ready(m, "e1", ticket_type="mentee")
    matched = one(m.tick(), Matched)
    assert {matched.a, matched.b} in ({"m1", "e1"}, {"m2", "e1"})
    assert matched.a == "m1"  # the longest-waiting mentor is served first


def test_partners_are_chosen_at_random(make_matcher: Any) -> None:
    partners = set()
    for seed in range(30):
        m = make_matcher(seed=seed)
        join_ready(m, "a", "b", "c", "d")
        pairs = {frozenset((e.a, e.b)) for e in only(m.tick(), Matched)}
        partners |= {next(iter(pair - {"a"})) for pair in pairs if "a" in pair}
    assert partners == {"b", "c", "d"}


def test_the_longest_waiting_is_served_first(make_matcher: Any, clock: Any) -> None:
    # "old" may meet only Bs, who may also meet each other: serving the Bs first would starve "old".
    for seed in range(20):
        m = make_matcher(seed=seed, allowed_pairs=SessionRules.pairs_from([("A", "B"), ("B", "B")]))
        join_ready(m, "old", ticket_type="A")
        clock.advance(1)
        join_ready(m, "b1", "b2", ticket_type="B")
        assert one(m.tick(), Matched).a == "old"


def test_odd_one_out_meets_the_next_eligible_person_to_be_ready(make_matcher: Any, clock: Any) -> None:
    m = make_matcher()
    join_ready(m, "a", "b", "c")
    first = one(m.tick(), Matched)
    (odd,) = {"a", "b", "c"} - {first.a, first.b}
    clock.advance(20)
    assert only(m.tick(), Matched) == []
    join_ready(m, "d")
    second = one(m.tick(), Matched)
    assert (second.a, second.b) == (odd, "d")
    assert second.a_waited_seconds == 20.0


def test_unready_leaves_the_pool(make_matcher: Any) -> None:
    m = make_matcher()
    join_ready(m, "a", "b")
    assert m.unready("b") == [AttendeeStateChanged("b", AttendeeState.idle)]
    assert m.unready("b") == []
    assert only(m.tick(), Matched) == []
    assert m.view("b").waiting is None


def test_ready_and_unready_are_refused_in_a_meeting(make_matcher: Any) -> None:
    m = make_matcher()
    meet(m, "a", "b")
    with pytest.raises(InvalidCommand):
        m.ready("a")
    with pytest.raises(InvalidCommand):
        m.unready("a")
    assert state(m, "a") is AttendeeState.meeting


def test_cooldown_keeps_recent_partners_apart_until_it_ends(make_matcher: Any, clock: Any) -> None:
    m = make_matcher(rematch_cooldown_seconds=300)
    meet(m, "a", "b")
    clock.advance(10)
    m.leave("a")
    parted = clock.now
    m.ready("a")
    m.ready("b")
    clock.advance(299.9)
    assert only(m.tick(), Matched) == []
    # The cooldown counts from when they parted, and the pairing tick runs right at its end.
    clock.now = parted + 300
    assert one(m.tick(), Matched)


def test_changed_rules_apply_to_the_next_pairing_and_running_meetings_keep_theirs(
    make_matcher: Any, clock: Any
) -> None:
    m = make_matcher(meeting_seconds=120, allowed_pairs=SessionRules.pairs_from([("mentor", "mentee")]))
    join_ready(m, "m1", "m2", "m3", ticket_type="mentor")
    assert only(m.tick(), Matched) == []  # mentors may not meet mentors
    join_ready(m, "e1", ticket_type="mentee")
    running = one(m.tick(), Matched)
    assert running.ends_at - running.started_at == 120 and running.b == "e1"

    # The organiser lifts the matrix and shortens meetings: the two mentors left meet at once, for 60 s.
    m.update_rules(SessionRules(meeting_seconds=60))
    assert m.rules.meeting_seconds == 60
    later = one(m.tick(), Matched)
    assert {later.a, later.b} == {"m1", "m2", "m3"} - {running.a}
    assert later.ends_at - later.started_at == 60
    # The meeting that was running keeps its own length.
    view = m.view("e1").meeting
    assert view is not None and view.ends_at == running.ends_at


def test_rematch_can_be_switched_on_mid_session(make_matcher: Any, clock: Any) -> None:
    m = make_matcher()
    meet(m, "a", "b")
    m.leave("a")
    m.ready("a")
    m.ready("b")
    assert only(m.tick(), Matched) == []  # within the cooldown
    m.update_rules(SessionRules(meeting_seconds=120, allow_rematch=True))
    assert one(m.tick(), Matched)


def test_update_rules_wants_rules(make_matcher: Any) -> None:
    with pytest.raises(TypeError, match="expected SessionRules"):
        make_matcher().update_rules({"meeting_seconds": 60})


def test_rematch_allowed_when_the_organiser_says_so(make_matcher: Any, clock: Any) -> None:
    m = make_matcher(allow_rematch=True)
    meet(m, "a", "b")
    m.leave("b")
    m.ready("a")
    m.ready("b")
    assert one(m.tick(), Matched)


def test_cooldown_prefers_someone_new(make_matcher: Any, clock: Any) -> None:
    m = make_matcher()
    meet(m, "a", "b")
    m.leave("a")
    m.ready("a")
    m.ready("b")
    join_ready(m, "c")
    matched = one(m.tick(), Matched)
    assert "c" in (matched.a, matched.b)


def test_blocked_pairs_never_meet_again(make_matcher: Any, clock: Any) -> None:
    m = make_matcher(allow_rematch=True)
    meet(m, "a", "b")
    m.block("b", "a")
    m.ready("a")
    m.ready("b")
    clock.advance(10_000)
    assert only(m.tick(), Matched) == []
    status = m.view("a").waiting
    assert status is not None and status.eligible_waiting == 0


def test_no_new_matches_from_the_session_end_and_running_meetings_run_on(
    make_matcher: Any, clock: Any
) -> None:
    m = make_matcher(meeting_seconds=120, ends_at=1100.0)
    matched = meet(m, "a", "b")
    assert matched.ends_at == 1120.0
    join_ready(m, "c")
    clock.now = 1100.0
    events = m.tick()
    assert only(events, MeetingEnded) == []  # a and b keep talking
    status = one(events, WaitingStatus)  # c is told at once, without asking
    assert status.reason == reasons.SESSION_ENDED and status.estimated_wait_seconds is None
    join_ready(m, "d")
    assert only(m.tick(), Matched) == []
    assert m.view("d").session_ended
    clock.now = 1120.0
    assert one(m.tick(), MeetingEnded).reason is EndReason.timeout


def test_matches_until_just_before_the_session_end(make_matcher: Any, clock: Any) -> None:
    m = make_matcher(ends_at=1100.0)
    clock.now = 1099.5
    assert meet(m, "a", "b").ends_at == 1219.5


def test_close_session_ends_everything_and_stops_matching(make_matcher: Any, clock: Any) -> None:
    m = make_matcher()
    meet(m, "a", "b")
    join_ready(m, "c")
    clock.advance(5)
    events = m.close_session()
    ended = one(events, MeetingEnded)
    assert ended.reason is EndReason.session_closed and ended.ended_at == 1005.0 and ended.left_by is None
    assert one(events, WaitingStatus).reason == reasons.SESSION_ENDED
    m.ready("a")
    m.ready("b")
    assert only(m.tick(), Matched) == []
    assert m.live_summary().session_ended
