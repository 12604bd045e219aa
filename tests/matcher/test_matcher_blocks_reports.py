"""The matcher: blocks and reports."""

from __future__ import annotations

from typing import Any

import pytest
from matcher_testing import join_ready, meet, one, state

from matcher import (
    AttendeeState,
    Blocked,
    EndReason,
    InvalidCommand,
    MeetingEnded,
    Reported,
)
from matcher.relations import MAX_REPORTS

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
