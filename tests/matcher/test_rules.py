from __future__ import annotations

import math

import pytest

from matcher import InvalidRules, SessionRules


def test_defaults_match_the_product_rules() -> None:
    rules = SessionRules(meeting_seconds=300)
    assert rules.allow_rematch is False
    assert rules.rematch_cooldown_seconds == 300.0
    assert rules.allowed_pairs is None
    assert rules.max_extensions == 1
    assert rules.extend_window_seconds == 30.0
    assert rules.grace_seconds == 10.0
    assert rules.ends_at is None
    assert rules.extension_seconds == 150.0


def test_everyone_may_meet_without_a_matrix() -> None:
    rules = SessionRules(meeting_seconds=60)
    assert rules.may_meet("A", "A")
    assert rules.may_meet("A", "Z")


def test_matrix_pairs_are_symmetric_and_same_type_needs_its_own_entry() -> None:
    rules = SessionRules(
        meeting_seconds=60, allowed_pairs=frozenset({frozenset({"A", "B"}), frozenset({"C"})})
    )
    assert rules.may_meet("A", "B")
    assert rules.may_meet("B", "A")
    assert rules.may_meet("C", "C")
    assert not rules.may_meet("A", "A")
    assert not rules.may_meet("B", "B")
    assert not rules.may_meet("A", "C")
    assert not rules.may_meet("D", "D")


def test_pairs_from_store_tuples() -> None:
    pairs = SessionRules.pairs_from([("A", "B"), ("B", "A"), ("C", "C")])
    assert pairs == frozenset({frozenset({"A", "B"}), frozenset({"C"})})
    assert SessionRules.pairs_from(None) is None
    assert SessionRules(meeting_seconds=60, allowed_pairs=pairs).may_meet("C", "C")


def test_empty_matrix_lets_nobody_meet() -> None:
    rules = SessionRules(meeting_seconds=60, allowed_pairs=frozenset())
    assert not rules.may_meet("A", "A")


def test_session_over_from_ends_at_on() -> None:
    rules = SessionRules(meeting_seconds=60, ends_at=100.0)
    assert not rules.session_over(99.999)
    assert rules.session_over(100.0)
    assert rules.session_over(150.0)
    assert not SessionRules(meeting_seconds=60).session_over(1e12)


@pytest.mark.parametrize(
    "fields",
    [
        {"meeting_seconds": 0},
        {"meeting_seconds": -5},
        {"meeting_seconds": math.nan},
        {"meeting_seconds": math.inf},
        {"meeting_seconds": 60, "rematch_cooldown_seconds": -1},
        {"meeting_seconds": 60, "extend_window_seconds": -1},
        {"meeting_seconds": 60, "grace_seconds": math.nan},
        {"meeting_seconds": 60, "max_extensions": -1},
        {"meeting_seconds": 60, "max_extensions": 1.5},
        {"meeting_seconds": 60, "max_extensions": True},
        {"meeting_seconds": 60, "ends_at": math.inf},
        {"meeting_seconds": 60, "allowed_pairs": [("A", "B")]},
        {"meeting_seconds": 60, "allowed_pairs": frozenset({frozenset()})},
        {"meeting_seconds": 60, "allowed_pairs": frozenset({frozenset({"A", "B", "C"})})},
        {"meeting_seconds": 60, "allowed_pairs": frozenset({frozenset({""})})},
    ],
)
def test_rules_that_cannot_work_are_refused(fields: dict[str, object]) -> None:
    with pytest.raises(InvalidRules):
        SessionRules(**fields)  # type: ignore[arg-type]


def test_rules_are_immutable() -> None:
    rules = SessionRules(meeting_seconds=60)
    with pytest.raises(AttributeError):
        rules.meeting_seconds = 30  # type: ignore[misc]


def test_interest_weighting_is_on_unless_switched_off() -> None:
    assert SessionRules(meeting_seconds=60).interest_weighting is True
    assert SessionRules(meeting_seconds=60, interest_weighting=False).interest_weighting is False
    with pytest.raises(InvalidRules):
        SessionRules(meeting_seconds=60, interest_weighting="yes")  # type: ignore[arg-type]
