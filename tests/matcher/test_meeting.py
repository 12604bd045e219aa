from __future__ import annotations

import pytest

from matcher import (
    EndReason,
    ExtendAccepted,
    ExtendDeclined,
    ExtendOffered,
    InvalidCommand,
    Meeting,
    MeetingDeadlineChanged,
    MeetingEnded,
    PartnerDisconnected,
    PartnerReconnected,
    SessionRules,
)

RULES = SessionRules(meeting_seconds=120, extend_window_seconds=30, grace_seconds=10, max_extensions=1)


def meeting(rules: SessionRules = RULES, started_at: float = 0.0) -> Meeting:
    return Meeting("m1", "a", "b", started_at, rules)


def test_deadline_is_absolute_from_the_start() -> None:
    m = meeting(started_at=500.0)
    assert m.ends_at == 620.0
    assert m.remaining(530.0) == 90.0
    assert m.remaining(700.0) == 0.0
    assert m.running
    assert m.partner_of("a") == "b" and m.partner_of("b") == "a"
    with pytest.raises(InvalidCommand):
        m.partner_of("c")


def test_cannot_meet_oneself() -> None:
    with pytest.raises(InvalidCommand):
        Meeting("m1", "a", "a", 0.0, RULES)


def test_extend_offer_only_in_the_last_window() -> None:
    m = meeting()
    with pytest.raises(InvalidCommand, match="last 30 seconds"):
        m.offer_extension("a", 89.9)
    assert not m.can_offer_extension("a", 89.9)
    assert m.extend_window_opens_at == 90.0
    assert m.can_offer_extension("a", 90.0)
    assert m.offer_extension("a", 90.0) == [ExtendOffered("m1", "a")]
    assert m.offer_by == "a"


def test_extend_offer_refused_at_or_after_the_deadline() -> None:
    m = meeting()
    with pytest.raises(InvalidCommand):
        m.offer_extension("a", 120.0)
    assert m.offer_by is None


def test_offer_is_idempotent_and_an_offer_back_accepts() -> None:
    m = meeting()
    m.offer_extension("a", 100.0)
    assert m.offer_extension("a", 101.0) == []
    events = m.offer_extension("b", 102.0)
    assert events == [ExtendAccepted("m1", "b", 180.0), MeetingDeadlineChanged("m1", 180.0)]


def test_accept_adds_half_the_meeting_length_and_uses_up_the_extension() -> None:
    m = meeting()
    m.offer_extension("a", 95.0)
    events = m.accept_extension("b", 96.0)
    assert events == [ExtendAccepted("m1", "b", 180.0), MeetingDeadlineChanged("m1", 180.0)]
    assert m.ends_at == 180.0
    assert m.extensions == 1 and m.extensions_left == 0
    assert m.offer_by is None
    # The one extension is used: no further offer, even in the new last 30 seconds.
    assert not m.can_offer_extension("a", 170.0)
    with pytest.raises(InvalidCommand, match="no extensions left"):
        m.offer_extension("a", 170.0)


def test_several_extensions_when_the_rules_allow() -> None:
    m = meeting(SessionRules(meeting_seconds=60, max_extensions=2))
    m.offer_extension("a", 40.0)
    m.accept_extension("b", 41.0)
    assert m.ends_at == 90.0
    # The window reopens only when <= 30 s remain again.
    with pytest.raises(InvalidCommand):
        m.offer_extension("b", 59.0)
    m.offer_extension("b", 60.0)
    m.accept_extension("a", 61.0)
    assert m.ends_at == 120.0 and m.extensions == 2
    assert not m.can_offer_extension("a", 100.0)


def test_no_extensions_at_all_when_max_is_zero() -> None:
    m = meeting(SessionRules(meeting_seconds=60, max_extensions=0))
    with pytest.raises(InvalidCommand):
        m.offer_extension("a", 50.0)


def test_accept_needs_an_offer_from_the_partner() -> None:
    m = meeting()
    with pytest.raises(InvalidCommand, match="no extension offer"):
        m.accept_extension("b", 100.0)
    m.offer_extension("a", 100.0)
    with pytest.raises(InvalidCommand, match="partner"):
        m.accept_extension("a", 100.0)
    assert m.offer_by == "a" and m.ends_at == 120.0


def test_accept_after_the_deadline_is_refused() -> None:
    m = meeting()
    m.offer_extension("a", 100.0)
    with pytest.raises(InvalidCommand):
        m.accept_extension("b", 120.0)
    assert m.ends_at == 120.0 and m.offer_by == "a"


def test_decline_and_withdraw_make_the_offer_disappear() -> None:
    m = meeting()
    with pytest.raises(InvalidCommand):
        m.decline_extension("b", 100.0)
    m.offer_extension("a", 100.0)
    assert m.decline_extension("b", 101.0) == [ExtendDeclined("m1", "b")]
    assert m.offer_by is None
    m.offer_extension("b", 102.0)
    assert m.decline_extension("b", 103.0) == [ExtendDeclined("m1", "b")]  # withdrawn by the offerer
    # A declined offer does not use up the extension.
    assert m.can_offer_extension("a", 104.0)


def test_deadline_ends_the_meeting_as_timeout_and_lapses_a_pending_offer() -> None:
    m = meeting()
    m.offer_extension("a", 110.0)
    assert m.expire(119.99) == []
    assert m.next_due() == 120.0
    events = m.expire(121.5)
    assert events == [
        ExtendDeclined("m1", None),
        MeetingEnded("m1", "a", "b", 0.0, 120.0, EndReason.timeout, 0, None),
    ]
    assert not m.running and m.ended_at == 120.0 and m.end_reason is EndReason.timeout
    assert m.expire(200.0) == []


def test_commands_refused_once_ended() -> None:
    m = meeting()
    m.end(EndReason.left, 50.0, left_by="a")
    for command in (m.offer_extension, m.accept_extension, m.decline_extension, m.disconnect):
        with pytest.raises(InvalidCommand, match="already ended"):
            command("b", 100.0)
    with pytest.raises(InvalidCommand):
        m.end(EndReason.left, 60.0)


def test_end_records_who_left() -> None:
    m = meeting()
    assert m.end(EndReason.left, 42.0, left_by="b") == MeetingEnded(
        "m1", "a", "b", 0.0, 42.0, EndReason.left, 0, "b"
    )
    assert m.left_by == "b"
    with pytest.raises(InvalidCommand):
        meeting().end(EndReason.left, 42.0, left_by="z")


def test_outsiders_cannot_command_the_meeting() -> None:
    m = meeting()
    with pytest.raises(InvalidCommand, match="not in meeting"):
        m.offer_extension("z", 100.0)


def test_disconnect_starts_a_grace_period_and_reconnect_resumes() -> None:
    m = meeting()
    assert m.disconnect("b", 30.0) == [PartnerDisconnected("m1", "b", 40.0)]
    assert m.disconnect("b", 35.0) == []  # keeps the first grace period
    assert m.grace_until("b") == 40.0 and not m.both_connected
    assert m.next_due() == 40.0
    assert m.expire(39.0) == []
    assert m.reconnect("b") == [PartnerReconnected("m1", "b")]
    assert m.reconnect("b") == []
    assert m.next_due() == 120.0 and m.both_connected
    assert m.expire(45.0) == []
    assert m.running


def test_grace_running_out_ends_as_partner_left() -> None:
    m = meeting()
    m.disconnect("a", 30.0)
    assert m.expire(41.0) == [MeetingEnded("m1", "a", "b", 0.0, 40.0, EndReason.partner_left, 0, "a")]


def test_deadline_inside_the_grace_period_is_a_timeout() -> None:
    m = meeting()
    m.disconnect("a", 115.0)
    events = m.expire(126.0)
    assert events == [MeetingEnded("m1", "a", "b", 0.0, 120.0, EndReason.timeout, 0, None)]


def test_both_disconnected_the_first_grace_to_expire_ends_it() -> None:
    m = meeting()
    m.disconnect("a", 30.0)
    m.disconnect("b", 32.0)
    (ended,) = m.expire(50.0)
    assert isinstance(ended, MeetingEnded)
    assert ended.left_by == "a" and ended.ended_at == 40.0


def test_zero_grace_is_due_at_once() -> None:
    m = meeting(SessionRules(meeting_seconds=60, grace_seconds=0))
    m.disconnect("a", 10.0)
    assert m.next_due() == 10.0
    (ended,) = m.expire(10.0)
    assert isinstance(ended, MeetingEnded) and ended.reason is EndReason.partner_left
