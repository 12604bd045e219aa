"""Interest tags and the weighted choice of a partner among those the rules allow.

A partner who shares `s` of an attendee's interests is `1 + INTEREST_WEIGHT * min(s, MOST_SHARED)` times
as likely to be picked as one who shares none. The choice stays random, is only ever made among partners
the rules allow, and never changes how many pairs a round forms (see `matcher.augment`).

Sampling is exact and needs no index: the pairing round (`ReadyPool.pair_round`) keeps a candidate drawn
uniformly with probability weight / (the highest weight the chooser's interests allow), or, when few
candidates are left, sums the weights of all (`choose_weighted`). Interests are `TagBits` masks, so
counting shared ones is an `&` and a bit count.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence

from matcher.errors import InvalidCommand

INTEREST_WEIGHT = 4  # each shared interest adds this much to a candidate's weight of 1
# ... counting at most two: sharing three of five interests is rare, and a lower highest weight keeps the
# rejection draw of a pairing round short (about 2 draws per attendee instead of 3).
MOST_SHARED = 2

NO_INTERESTS: frozenset[str] = frozenset()


def interests_from(tags: Iterable[str]) -> frozenset[str]:
    """A set of interest tags: non-empty strings (raises `InvalidCommand` otherwise)."""
    if isinstance(tags, str):
        raise InvalidCommand("interests must be a collection of tags, not one string")
    try:
        result = frozenset(tags)
    except TypeError:
        raise InvalidCommand("interests must be a collection of tags") from None
    if not all(isinstance(tag, str) and tag for tag in result):
        raise InvalidCommand("each interest must be a non-empty string")
    return result


class TagBits:
    """Interest tags as bits of an int, so that counting shared interests is one `&` and a bit count."""

    __slots__ = ("_bit", "_tags")

    def __init__(self) -> None:
        self._bit: dict[str, int] = {}
        self._tags: list[str] = []

    def mask(self, tags: Iterable[str]) -> int:
        mask = 0
        for tag in sorted(tags):  # bits in a fixed order: the same masks in every process
            bit = self._bit.get(tag)
            if bit is None:
                bit = self._bit[tag] = len(self._tags)
                self._tags.append(tag)
            mask |= 1 << bit
        return mask

    def tags(self, mask: int) -> frozenset[str]:
        return frozenset(tag for bit, tag in enumerate(self._tags) if mask >> bit & 1)


def weight(mine: int, theirs: int) -> int:
    """A candidate's weight: 1, plus `INTEREST_WEIGHT` for each interest both share (up to `MOST_SHARED`).
    Interests as `TagBits` masks."""
    return 1 + INTEREST_WEIGHT * min((mine & theirs).bit_count(), MOST_SHARED)


def choose_weighted(
    candidates: Sequence[str], mine: int, masks: Mapping[str, int], random_: Callable[[], float]
) -> str:
    """Pick one of `candidates` (not empty) by `weight`, exactly (`masks`: the interests of those who have
    some)."""
    cumulative = list(itertools.accumulate(weight(mine, masks.get(c, 0)) for c in candidates))
    return candidates[bisect.bisect_right(cumulative, random_() * cumulative[-1])]
