"""The matcher: what a waiting attendee is told, on a hand-driven clock."""

from __future__ import annotations

from typing import Any

from matcher_testing import join_ready, meet, one, only

from matcher import (
    Matched,
    SessionRules,
    WaitingStatus,
)
from matcher import waiting as reasons

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
