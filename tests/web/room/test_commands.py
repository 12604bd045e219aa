import pytest

from matcher import Matched, Matcher, SessionRules
from web.room.commands import named, run_command
from web.room.errors import CommandRejected
from wire import protocol as p


@pytest.fixture
def matcher() -> Matcher:
    m = Matcher(SessionRules(meeting_seconds=120.0), clock=lambda: 1000.0)
    for attendee in ("1", "2", "3"):
        m.join(attendee, "A")
    return m


def test_ready_makes_attendees_ready_and_the_next_tick_pairs_them(matcher: Matcher) -> None:
    run_command(matcher, "1", p.Ready())
    events = run_command(matcher, "2", p.Ready())
    assert not any(isinstance(e, Matched) for e in events)
    assert any(isinstance(e, Matched) for e in matcher.tick())


def test_unready_in_a_meeting_is_refused(matcher: Matcher) -> None:
    run_command(matcher, "1", p.Ready())
    run_command(matcher, "2", p.Ready())
    matcher.tick()
    with pytest.raises(CommandRejected) as caught:
        run_command(matcher, "1", p.Unready())
    assert caught.value.code == "invalid_command"


@pytest.mark.parametrize("message", [p.Leave(), p.ExtendOffer(), p.ExtendAccept(), p.ExtendDecline()])
def test_meeting_commands_outside_a_meeting_are_refused(matcher: Matcher, message: p.ClientMessage) -> None:
    with pytest.raises(CommandRejected) as caught:
        run_command(matcher, "3", message)
    assert caught.value.code == "not_in_meeting"


def test_a_command_names_the_partner_by_default(matcher: Matcher) -> None:
    run_command(matcher, "1", p.Ready())
    run_command(matcher, "2", p.Ready())
    matcher.tick()
    assert named(matcher, "1", None) == "2"
    assert named(matcher, "1", 3) == "3"


def test_naming_oneself_or_nobody_is_refused(matcher: Matcher) -> None:
    with pytest.raises(CommandRejected, match="your own ticket"):
        named(matcher, "1", 1)
    with pytest.raises(CommandRejected) as caught:
        named(matcher, "1", None)
    assert caught.value.code == "not_in_meeting"


def test_messages_that_are_no_matcher_command_are_refused(matcher: Matcher) -> None:
    with pytest.raises(CommandRejected) as caught:
        run_command(matcher, "1", p.Ping())
    assert caught.value.code == "bad_message"
