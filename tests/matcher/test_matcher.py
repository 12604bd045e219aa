"""Every rule of the matcher, one scenario at a time, on a hand-driven clock."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

import pytest

from matcher import (
    AttendeeState,
    AttendeeStateChanged,
    Blocked,
    ConnectionChanged,
    ConnectionState,
    EndReason,
    Event,
    ExtendAccepted,
    ExtendDeclined,
    ExtendOffered,
    InvalidCommand,
    Matched,
    Matcher,
    MeetingDeadlineChanged,
    MeetingEnded,
    PartnerDisconnected,
    PartnerReconnected,
    Reported,
    SessionRules,
    UnknownAttendee,
    WaitingStatus,
)
from matcher import waiting as reasons
from matcher.relations import MAX_REPORTS

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


# Waiting status ----------------------------------------------------------------------------------------


def test_alone_in_the_session(make_matcher: Any) -> None:
    m = make_matcher()
    m.join("a", "A")
    status = one(m.ready("a"), WaitingStatus)
    assert (status.eligible_waiting, status.eligible_ending_soon, status.estimated_wait_seconds) == (
        0,
        0,
        None,
    )
    assert status.reason == reasons.NOBODY_ELIGIBLE


def test_others_here_but_not_ready(make_matcher: Any) -> None:
    m = make_matcher()
    m.join("b", "A")
    m.join("a", "A")
    assert one(m.ready("a"), WaitingStatus).reason == reasons.WAITING_FOR_READY


def test_an_eligible_partner_waiting_means_pairing_now(make_matcher: Any) -> None:
    m = make_matcher()
    join_ready(m, "a")
    m.join("b", "A")
    status = one(m.ready("b"), WaitingStatus)
    assert status.eligible_waiting == 1 and status.estimated_wait_seconds == 0.0
    assert status.reason == reasons.PAIRING_NOW


def test_waiting_counts_only_eligible_people(make_matcher: Any) -> None:
    m = make_matcher(allowed_pairs=SessionRules.pairs_from([("A", "A"), ("A", "B")]))
    join_ready(m, "c1", "c2", ticket_type="C")
    assert only(m.tick(), Matched) == []
    m.join("a", "A")
    status = one(m.ready("a"), WaitingStatus)
    assert status.eligible_waiting == 0
    assert status.reason == reasons.NOBODY_ELIGIBLE


def test_eligible_people_in_meetings_ending_soon(make_matcher: Any, clock: Any) -> None:
    m = make_matcher(meeting_seconds=120, ending_soon_seconds=60)
    meet(m, "a", "b")
    clock.advance(70)  # 50 s left
    m.join("c", "A")
    status = one(m.ready("c"), WaitingStatus)
    assert status.eligible_ending_soon == 2
    assert status.estimated_wait_seconds == 50.0
    assert status.reason == reasons.WAITING_FOR_MEETINGS


def test_status_is_sent_again_only_when_it_changes(make_matcher: Any, clock: Any) -> None:
    m = make_matcher(meeting_seconds=120, ending_soon_seconds=60)
    meet(m, "a", "b")  # ends at 1120
    m.join("c", "A")
    first = one(m.ready("c"), WaitingStatus)
    assert first.eligible_ending_soon == 0 and first.estimated_wait_seconds == 120.0
    assert first.reason == reasons.WAITING_FOR_PARTNER
    for _ in range(5):
        clock.advance(10)
        assert only(m.tick(), WaitingStatus) == []  # time passes, nothing new to say
    clock.now = 1060.0  # the meeting now ends within a minute
    second = one(m.tick(), WaitingStatus)
    assert second.eligible_ending_soon == 2 and second.estimated_wait_seconds == 60.0
    assert second.reason == reasons.WAITING_FOR_MEETINGS
    clock.advance(1)
    assert only(m.tick(), WaitingStatus) == []
    # The view gives the estimate as of now.
    assert m.view("c").waiting.estimated_wait_seconds == 59.0  # type: ignore[union-attr]


def test_status_follows_an_extension(make_matcher: Any, clock: Any) -> None:
    m = make_matcher(meeting_seconds=120)
    meet(m, "a", "b")
    m.join("c", "A")
    m.ready("c")
    clock.now = 1100.0
    m.tick()
    m.extend_offer("a")
    m.extend_accept("b")
    status = one(m.tick(), WaitingStatus)
    assert status.estimated_wait_seconds == 80.0  # 1180 - 1100


def test_queue_position_lengthens_the_estimate(make_matcher: Any, clock: Any) -> None:
    m = make_matcher(
        meeting_seconds=120, ending_soon_seconds=100, allowed_pairs=SessionRules.pairs_from([("A", "B")])
    )
    join_ready(m, "a1", ticket_type="A")
    join_ready(m, "b1", ticket_type="B")
    m.tick()  # a1 + b1 until 1120
    clock.advance(30)
    join_ready(m, "a2", ticket_type="A")
    join_ready(m, "b2", ticket_type="B")
    m.tick()  # a2 + b2 until 1150
    join_ready(m, "b3", "b4", ticket_type="B")
    m.tick()
    view3 = m.view("b3").waiting
    view4 = m.view("b4").waiting
    assert view3 is not None and view4 is not None
    # b3 waits for the first A to be free (a1 at 1120); b4, behind b3, for the second (a2 at 1150).
    assert view3.estimated_wait_seconds == 90.0
    assert view4.estimated_wait_seconds == 120.0
    assert view3.eligible_ending_soon == view4.eligible_ending_soon == 1  # a1 within 100 s, a2 not


def test_no_estimate_beyond_the_session_end(make_matcher: Any, clock: Any) -> None:
    m = make_matcher(meeting_seconds=120, ends_at=1100.0)
    meet(m, "a", "b")  # ends at 1120, after the session
    m.join("c", "A")
    status = one(m.ready("c"), WaitingStatus)
    assert status.estimated_wait_seconds is None and status.eligible_ending_soon == 0
    assert status.reason == reasons.NOT_BEFORE_END


def test_cooldown_shows_in_the_estimate(make_matcher: Any, clock: Any) -> None:
    m = make_matcher(rematch_cooldown_seconds=300)
    meet(m, "a", "b")
    clock.advance(10)
    m.leave("a")  # parted at 1010
    m.ready("a")
    status = one(m.ready("b"), WaitingStatus)
    assert status.eligible_waiting == 0
    assert status.estimated_wait_seconds == 300.0
    clock.now = 1310.0
    assert one(m.tick(), Matched)


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


# Blocks and reports ------------------------------------------------------------------------------------


def test_block_ends_the_meeting_and_is_recorded(make_matcher: Any, clock: Any) -> None:
    m = make_matcher()
    matched = meet(m, "a", "b")
    clock.advance(15)
    events = m.block("a", "b")
    assert events[0] == Blocked("a", "b", 1015.0)
    ended = one(events, MeetingEnded)
    assert ended == MeetingEnded(matched.meeting_id, "a", "b", 1000.0, 1015.0, EndReason.blocked, 0, "a")
    assert m.block("a", "b") == []  # idempotent
    assert m.block("b", "a") == [Blocked("b", "a", 1015.0)]  # the other direction is its own record
    assert m.live_summary().blocks == 2


def test_block_outside_a_meeting_only_records_it(make_matcher: Any, clock: Any) -> None:
    m = make_matcher()
    meet(m, "a", "c")
    clock.advance(10)
    m.leave("a")
    meet(m, "a", "b")
    events = m.block("c", "a")
    assert events == [Blocked("c", "a", 1010.0)]
    assert state(m, "a") is AttendeeState.meeting


def test_block_and_report_only_people_one_has_met(make_matcher: Any) -> None:
    """Known or unknown, a stranger gets the same answer: no oracle for who is in the session."""
    m = make_matcher()
    meet(m, "a", "b")
    join_ready(m, "c")
    answers = []
    for other in ("c", "nobody"):
        for command in (lambda o=other: m.block("a", o), lambda o=other: m.report("a", o, "spam")):
            with pytest.raises(InvalidCommand) as refused:
                command()
            answers.append(str(refused.value))
    assert set(answers) == {"only someone you have met can be blocked or reported"}
    assert m.live_summary().blocks == 0 and m.live_summary().reports == 0


def test_a_pair_is_reported_once_and_reports_are_capped(make_matcher: Any, clock: Any) -> None:
    m = make_matcher(allow_rematch=True, rematch_cooldown_seconds=0.0)
    meet(m, "a", "b")
    assert m.report("a", "b", "rude") == [Reported("a", "b", "rude", 1000.0)]
    assert m.report("a", "b", "rude again") == []  # once per pair
    assert m.live_summary().reports == 1
    for i in range(MAX_REPORTS - 1):
        clock.advance(1)
        m.leave("a")
        meet(m, "a", f"x{i}")
        assert len(m.report("a", f"x{i}", "spam")) == 1
    clock.advance(1)
    m.leave("a")
    meet(m, "a", "last")
    with pytest.raises(InvalidCommand, match="at most"):
        m.report("a", "last", "spam")
    assert m.live_summary().reports == MAX_REPORTS


def test_a_block_withdraws_the_connection(make_matcher: Any) -> None:
    m = make_matcher()
    meet(m, "a", "b")
    m.connect_request("a", "b")
    m.connect_accept("b", "a")
    assert [c.other for c in m.view("a").connections] == ["b"]
    m.block("b", "a")
    assert m.view("a").connections == () and m.view("b").connections == ()


def test_cannot_block_or_report_oneself(make_matcher: Any) -> None:
    m = make_matcher()
    m.join("a", "A")
    with pytest.raises(InvalidCommand):
        m.block("a", "a")
    with pytest.raises(InvalidCommand):
        m.report("a", "a", "x")


def test_report_carries_the_reason_and_changes_nothing_else(make_matcher: Any, clock: Any) -> None:
    m = make_matcher()
    meet(m, "a", "b")
    assert m.report("a", "b", "  rude  ") == [Reported("a", "b", "rude", 1000.0)]
    assert state(m, "a") is AttendeeState.meeting
    with pytest.raises(InvalidCommand):
        m.report("a", "b", "   ")
    assert m.live_summary().reports == 1


# Connections -------------------------------------------------------------------------------------------


def test_connection_request_and_accept_during_a_meeting(make_matcher: Any, clock: Any) -> None:
    m = make_matcher()
    meet(m, "a", "b")
    clock.advance(5)
    assert m.connect_request("a", "b") == [
        ConnectionChanged("a", "b", "a", ConnectionState.requested, 1005.0)
    ]
    assert m.connect_request("a", "b") == []
    (seen_by_b,) = m.view("b").connections
    assert (seen_by_b.other, seen_by_b.state, seen_by_b.requested_by) == ("a", ConnectionState.requested, "a")
    with pytest.raises(InvalidCommand):
        m.connect_accept("a", "b")  # one's own request
    clock.advance(5)
    assert m.connect_accept("b", "a") == [ConnectionChanged("a", "b", "a", ConnectionState.accepted, 1010.0)]
    assert m.connect_accept("b", "a") == []
    assert m.connect_request("b", "a") == []
    assert m.live_summary().connections_requested == 1
    assert m.live_summary().connections_accepted == 1


def test_a_request_back_accepts(make_matcher: Any) -> None:
    m = make_matcher()
    meet(m, "a", "b")
    m.connect_request("a", "b")
    (changed,) = m.connect_request("b", "a")
    assert isinstance(changed, ConnectionChanged)
    assert changed.state is ConnectionState.accepted and changed.requested_by == "a"


def test_connection_after_the_meeting_but_only_between_people_who_met(make_matcher: Any) -> None:
    m = make_matcher()
    meet(m, "a", "b")
    m.leave("a")
    m.join("c", "A")
    assert one(m.connect_request("b", "a"), ConnectionChanged).state is ConnectionState.requested
    with pytest.raises(InvalidCommand, match="met"):
        m.connect_request("a", "c")
    with pytest.raises(InvalidCommand):
        m.connect_accept("a", "c")


def test_no_connection_across_a_block(make_matcher: Any) -> None:
    m = make_matcher()
    meet(m, "a", "b")
    m.block("a", "b")
    with pytest.raises(InvalidCommand, match="blocked"):
        m.connect_request("b", "a")


# History after a restart -------------------------------------------------------------------------------


def test_seeded_history_applies_cooldown_blocks_and_connections(make_matcher: Any, clock: Any) -> None:
    m = make_matcher(rematch_cooldown_seconds=300)
    m.seed_history(
        meetings=[("a", "b", 900.0), ("c", "d", 100.0)],
        blocks=[("e", "f")],
        connections=[("c", "d", "d", ConnectionState.accepted), ("a", "b", "a", "requested")],  # type: ignore[list-item]
    )
    join_ready(m, "a", "b")
    assert only(m.tick(), Matched) == []  # parted at 900: apart until 1200
    m.unready("a")
    m.unready("b")
    join_ready(m, "e", "f")
    assert only(m.tick(), Matched) == []  # blocked
    m.unready("e")
    m.unready("f")
    join_ready(m, "c", "d")
    assert one(m.tick(), Matched)  # parted long ago
    (connection,) = m.view("d").connections
    assert (connection.other, connection.state, connection.at) == ("c", ConnectionState.accepted, None)
    # Having met before the restart is enough to connect; the pending request can be accepted.
    assert one(m.connect_accept("b", "a"), ConnectionChanged).state is ConnectionState.accepted


@pytest.mark.parametrize(
    "history",
    [
        {"meetings": [("a", "a", 1.0)], "blocks": [], "connections": []},
        {"meetings": [("a", "b", float("nan"))], "blocks": [], "connections": []},
        {"meetings": [], "blocks": [("a", "")], "connections": []},
        {"meetings": [], "blocks": [], "connections": [("a", "b", "c", "requested")]},
        {"meetings": [], "blocks": [], "connections": [("a", "b", "a", "friends")]},
        {"meetings": [("a", "b", "yesterday")], "blocks": [], "connections": []},
        {"meetings": [("a", "b")], "blocks": [], "connections": []},
        {"meetings": [], "blocks": [("a",)], "connections": []},
    ],
)
def test_malformed_history_is_refused_whole(make_matcher: Any, history: dict[str, Any]) -> None:
    m = make_matcher()
    good = [("x", "y", 999.0)]
    with pytest.raises(InvalidCommand):
        m.seed_history(good + history["meetings"], history["blocks"], history["connections"])
    join_ready(m, "x", "y")
    assert one(m.tick(), Matched)  # the good row was not applied either
