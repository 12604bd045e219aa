from __future__ import annotations

import pytest

from matcher import InvalidCommand, InvalidRules, MatcherError, SessionRules, UnknownAttendee


def test_hierarchy_lets_callers_catch_everything_the_matcher_refuses() -> None:
    assert issubclass(UnknownAttendee, MatcherError)
    assert issubclass(InvalidCommand, MatcherError)
    assert issubclass(InvalidRules, MatcherError)
    # Bad rules are bad values too: config validation code catching ValueError sees them.
    assert issubclass(InvalidRules, ValueError)


def test_unknown_attendee_names_the_attendee() -> None:
    error = UnknownAttendee("42")
    assert error.attendee == "42"
    assert "42" in str(error)


def test_invalid_rules_raised_by_rules() -> None:
    with pytest.raises(MatcherError):
        SessionRules(meeting_seconds=0)
