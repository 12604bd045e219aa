"""Shared helpers for the matcher tests: a hand-driven clock and a matcher factory."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from matcher import Matcher, SessionRules


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


MakeMatcher = Callable[..., Matcher]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_matcher(clock: FakeClock) -> MakeMatcher:
    """Build a matcher on the test's clock with a seeded rng; keyword arguments go to SessionRules."""

    def make(seed: int = 7, ending_soon_seconds: float = 60.0, **rules: object) -> Matcher:
        rules.setdefault("meeting_seconds", 120.0)
        return Matcher(
            SessionRules(**rules),  # type: ignore[arg-type]
            clock,
            random.Random(seed),
            ending_soon_seconds=ending_soon_seconds,
        )

    return make
