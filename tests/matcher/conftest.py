"""Shared helpers for the matcher tests: a hand-driven clock and a matcher factory."""

from __future__ import annotations

import random
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

# With pytest's default import mode, `tests/` is on sys.path, and `tests/matcher/` (no __init__.py) would
# then be found as a namespace package named `matcher` before the editable install's import hook runs.
# The repository root first on sys.path makes `import matcher` find the real package.
_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from matcher import Matcher, SessionRules  # noqa: E402


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
