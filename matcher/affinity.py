"""Interest tags and the weighted choice of a partner among those the rules allow.

A partner who shares `s` of an attendee's interests is `1 + INTEREST_WEIGHT * min(s, MOST_SHARED)` times
as likely to be picked as one who shares none. The choice stays random, is only ever made among partners
the rules allow, and never changes how many pairs a round forms (see `matcher.augment`).

Sampling is exact and needs no index: a candidate drawn uniformly is kept with probability proportional to
its weight (`draw_weighted`), or, when few candidates are left, the weights of all are summed
(`choose_weighted`).
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence

from matcher.errors import InvalidCommand

INTEREST_WEIGHT = 4  # each shared interest adds this much to a candidate's weight of 1
MOST_SHARED = 3  # ... counting at most this many: sharing three already makes a strong match

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


def draw_weighted(
    attendee: str,
    mine: int,
    buckets: Sequence[Sequence[str]],
    total: int,
    masks: Mapping[str, int],
    never: Collection[str],
    recent: Mapping[str, float],
    not_before: float,
    random_: Callable[[], float],
    probes: int,
) -> str | None:
    """Draw a partner for `attendee` with weight `weight(mine, theirs)`, by rejection; None after `probes`
    misses.

    A candidate is drawn uniformly from `buckets` (`total` members in all) and kept with probability
    weight / (the highest weight `mine` allows), so each is kept in proportion to its weight, exactly.
    Refused: `attendee`, anyone in `never`, and whoever parted from `attendee` after `not_before`
    (`recent`). `masks`: the interests of those who have some. No index to keep: a round costs a few
    draws per attendee and nothing per removal.
    """
    # weights[s]: the weight of a candidate sharing s of `mine`; kept with probability weights[s] / highest.
    weights = [1 + INTEREST_WEIGHT * min(s, MOST_SHARED) for s in range(mine.bit_count() + 1)]
    highest = weights[-1]
    for _ in range(probes):
        at = int(random_() * total)
        for bucket in buckets:
            if at < len(bucket):
                candidate = bucket[at]
                break
            at -= len(bucket)
        if (
            candidate == attendee
            or candidate in never
            or ((last := recent.get(candidate)) is not None and last > not_before)
        ):
            continue
        if random_() * highest < weights[(mine & masks.get(candidate, 0)).bit_count()]:
            return candidate
    return None


def choose_weighted(
    candidates: Sequence[str], mine: int, masks: Mapping[str, int], random_: Callable[[], float]
) -> str:
    """Pick one of `candidates` (not empty) by `weight`, exactly (`masks`: as for `draw_weighted`)."""
    cumulative = list(itertools.accumulate(weight(mine, masks.get(c, 0)) for c in candidates))
    return candidates[bisect.bisect_right(cumulative, random_() * cumulative[-1])]
