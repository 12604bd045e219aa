"""The organiser's rules for one networking session."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from matcher.errors import InvalidRules


@dataclass(frozen=True)
class SessionRules:
    """What the organiser set for a session; validated on construction (raises `InvalidRules`)."""

    meeting_seconds: float
    allow_rematch: bool = False
    rematch_cooldown_seconds: float = 300.0
    # Ticket-type names that may meet; None = everyone. frozenset({"A"}) means A may meet A;
    # frozenset({"A", "B"}) means A may meet B (and B may meet A).
    allowed_pairs: frozenset[frozenset[str]] | None = None
    max_extensions: int = 1
    extend_window_seconds: float = 30.0  # an extension may be offered when <= this remains
    grace_seconds: float = 10.0  # a disconnected partner may come back within this
    ends_at: float | None = None  # session end (clock time); no new matches after it
    # Prefer partners who share interests (still at random, never pairing fewer); False: purely random.
    interest_weighting: bool = True

    def __post_init__(self) -> None:
        if not _finite(self.meeting_seconds) or self.meeting_seconds <= 0:
            raise InvalidRules(f"meeting_seconds must be a positive number, got {self.meeting_seconds!r}")
        for name in ("rematch_cooldown_seconds", "extend_window_seconds", "grace_seconds"):
            value = getattr(self, name)
            if not _finite(value) or value < 0:
                raise InvalidRules(f"{name} must be a number >= 0, got {value!r}")
        if isinstance(self.max_extensions, bool) or not isinstance(self.max_extensions, int):
            raise InvalidRules(f"max_extensions must be an int, got {self.max_extensions!r}")
        if self.max_extensions < 0:
            raise InvalidRules(f"max_extensions must be >= 0, got {self.max_extensions}")
        if not isinstance(self.interest_weighting, bool):
            raise InvalidRules(f"interest_weighting must be a bool, got {self.interest_weighting!r}")
        if self.ends_at is not None and not _finite(self.ends_at):
            raise InvalidRules(f"ends_at must be a finite clock time or None, got {self.ends_at!r}")
        if self.allowed_pairs is not None:
            if not isinstance(self.allowed_pairs, frozenset):
                raise InvalidRules("allowed_pairs must be a frozenset of frozensets (see pairs_from)")
            for pair in self.allowed_pairs:
                if (
                    not isinstance(pair, frozenset)
                    or not 1 <= len(pair) <= 2
                    or not all(isinstance(t, str) and t for t in pair)
                ):
                    raise InvalidRules(
                        f"each allowed pair must be a frozenset of one or two ticket-type names, got {pair!r}"
                    )

    @staticmethod
    def pairs_from(pairs: Iterable[tuple[str, str]] | None) -> frozenset[frozenset[str]] | None:
        """Build `allowed_pairs` from (type, type) tuples, as the store keeps them; None stays None."""
        if pairs is None:
            return None
        return frozenset(frozenset(pair) for pair in pairs)

    @property
    def extension_seconds(self) -> float:
        """What an accepted extension adds: half the original meeting length."""
        return self.meeting_seconds / 2

    def may_meet(self, type_a: str, type_b: str) -> bool:
        """Whether the ticket-type matrix lets a `type_a` holder meet a `type_b` holder (symmetric)."""
        if self.allowed_pairs is None:
            return True
        return frozenset((type_a, type_b)) in self.allowed_pairs

    def session_over(self, now: float) -> bool:
        """No new matches from `ends_at` on."""
        return self.ends_at is not None and now >= self.ends_at


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
