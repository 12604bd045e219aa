"""The ready pool of one session, bucketed by ticket type, and its random pairing round."""

from __future__ import annotations

import random
from collections.abc import Callable, Collection, Iterator

# Random probes before falling back to a full scan of the eligible buckets; the scan is also used
# directly when few candidates are eligible, so the probes almost always succeed.
_MAX_PROBES = 32
_SCAN_BELOW = 16


class ReadyPool:
    """Attendees waiting for a partner, kept in one bucket per ticket type.

    `pair_round` serves the longest-waiting attendee first and gives each a partner chosen uniformly at
    random among those eligible: sampling picks a random member of the buckets whose ticket types may meet
    theirs and rejects the few excluded by blocks or cooldown, so a round costs about O(n log n) (the sort
    by waiting time) however large the pool.
    """

    def __init__(self, may_meet: Callable[[str, str], bool], rng: random.Random) -> None:
        self._may_meet = may_meet
        self._rng = rng
        self._buckets: dict[str, list[str]] = {}  # ticket type -> members, in no order
        self._slot: dict[str, int] = {}  # attendee -> index in its bucket, for O(1) removal
        self._type: dict[str, str] = {}
        self._since: dict[str, float] = {}
        self._allowed: dict[str, tuple[str, ...]] = {}  # ticket type -> types it may meet, among known ones

    def __len__(self) -> int:
        return len(self._type)

    def __contains__(self, attendee: object) -> bool:
        return attendee in self._type

    def __iter__(self) -> Iterator[str]:
        return iter(self._type)

    def add(self, attendee: str, ticket_type: str, since: float) -> None:
        if attendee in self._type:
            raise ValueError(f"{attendee!r} is already in the ready pool")
        bucket = self._buckets.get(ticket_type)
        if bucket is None:
            bucket = self._buckets[ticket_type] = []
            self._allowed.clear()  # a new ticket type: recompute the matrix lookups lazily
        self._slot[attendee] = len(bucket)
        bucket.append(attendee)
        self._type[attendee] = ticket_type
        self._since[attendee] = since

    def remove(self, attendee: str) -> bool:
        """Take `attendee` out of the pool; False if they were not in it."""
        ticket_type = self._type.pop(attendee, None)
        if ticket_type is None:
            return False
        del self._since[attendee]
        bucket = self._buckets[ticket_type]
        slot = self._slot.pop(attendee)
        last = bucket.pop()
        if last != attendee:
            bucket[slot] = last
            self._slot[last] = slot
        return True

    def ticket_type(self, attendee: str) -> str | None:
        return self._type.get(attendee)

    def waiting_since(self, attendee: str) -> float | None:
        return self._since.get(attendee)

    def count(self, ticket_type: str) -> int:
        bucket = self._buckets.get(ticket_type)
        return len(bucket) if bucket is not None else 0

    def members(self, ticket_type: str) -> list[str]:
        return list(self._buckets.get(ticket_type, ()))

    def allowed_types(self, ticket_type: str) -> tuple[str, ...]:
        """Ticket types with members now or before that `ticket_type` may meet."""
        allowed = self._allowed.get(ticket_type)
        if allowed is None:
            allowed = tuple(t for t in self._buckets if self._may_meet(ticket_type, t))
            self._allowed[ticket_type] = allowed
        return allowed

    def longest_waiting_first(self) -> list[str]:
        """Members by waiting time; ties keep the order in which they became ready."""
        return sorted(self._since, key=self._since.__getitem__)

    def pair_round(self, excluded: Callable[[str], Collection[str]]) -> list[tuple[str, str]]:
        """Pair as many members as possible and take them out of the pool.

        Members are served longest-waiting first; each gets a uniformly random partner among the remaining
        members whose ticket type may meet theirs and who are not in `excluded(member)` (blocks, cooldown;
        it must be symmetric). When the round ends, no two remaining members may meet.
        """
        pairs: list[tuple[str, str]] = []
        for attendee in self.longest_waiting_first():
            if attendee not in self._type:
                continue  # already taken as someone's partner this round
            partner = self._pick_partner(attendee, excluded)
            if partner is not None:
                self.remove(attendee)
                self.remove(partner)
                pairs.append((attendee, partner))
        return pairs

    def _pick_partner(self, attendee: str, excluded: Callable[[str], Collection[str]]) -> str | None:
        allowed = self.allowed_types(self._type[attendee])
        buckets = [bucket for t in allowed if (bucket := self._buckets[t])]
        total = sum(len(bucket) for bucket in buckets)
        if total == 0 or (total == 1 and buckets[0][0] == attendee):
            return None
        skip = excluded(attendee)
        allowed_set = frozenset(allowed)
        # Members of the eligible buckets that cannot be picked: the attendee and their exclusions.
        unavailable = sum(1 for other in skip if self._type.get(other) in allowed_set and other != attendee)
        if self._type[attendee] in allowed_set:
            unavailable += 1
        available = total - unavailable
        if available <= 0:
            return None
        rng = self._rng
        if total >= _SCAN_BELOW and available * 4 >= total:
            # Rejection sampling: uniform over the eligible buckets, at least 1 in 4 probes succeeds.
            for _ in range(_MAX_PROBES):
                index = rng.randrange(total)
                for bucket in buckets:
                    if index < len(bucket):
                        candidate = bucket[index]
                        break
                    index -= len(bucket)
                if candidate != attendee and candidate not in skip:
                    return candidate
        candidates = [c for bucket in buckets for c in bucket if c != attendee and c not in skip]
        return rng.choice(candidates) if candidates else None
