"""The ready pool of one session, bucketed by ticket type, and its random pairing round."""

from __future__ import annotations

import random
from collections.abc import Callable, Collection, Iterator, Mapping

from matcher import augment
from matcher.affinity import INTEREST_WEIGHT, MOST_SHARED, NO_INTERESTS, TagBits, choose_weighted

# Random probes before falling back to a full scan of the eligible buckets. Probing is used only when at
# least a quarter of the eligible buckets' members can be picked, so it nearly always succeeds at once.
_MAX_PROBES = 32
_SCAN_BELOW = 16  # below this many candidates a scan is as cheap as sampling
# A weighted draw keeps an eligible candidate with probability >= 1/9 (weight 1 of at most 9): 128 tries
# fail about once in 3 million draws even when nobody shares an interest; the exact scan decides then.
_MAX_WEIGHTED_PROBES = 128

_NOBODY: frozenset[str] = frozenset()
_NO_MASKS: Mapping[str, int] = {}
_NO_HISTORY: Mapping[str, float] = {}

# For one ticket type: the types it may meet, their buckets, and those types as a set.
_Eligible = tuple[tuple[str, ...], tuple[list[str], ...], frozenset[str]]


class ReadyPool:
    """Attendees waiting for a partner, kept in one bucket per ticket type.

    `pair_round` serves the longest-waiting attendee first and gives each a partner chosen at random among
    those eligible: uniformly, or weighted by shared interests (`matcher.affinity`). Sampling picks a
    random member of the buckets whose ticket types may meet theirs and rejects the few excluded by blocks
    or cooldown, so a round costs about O(n log n) (the sort by waiting time) however large the pool and
    however long everyone's history. The greedy choice is then completed to a maximum pairing
    (`matcher.augment`), so how many pairs a round forms never depends on who was chosen.
    """

    def __init__(self, may_meet: Callable[[str, str], bool], rng: random.Random) -> None:
        self._may_meet = may_meet
        self._rng = rng
        self._buckets: dict[str, list[str]] = {}  # ticket type -> members, in no order
        self._slot: dict[str, int] = {}  # attendee -> index in its bucket, for O(1) removal
        self._type: dict[str, str] = {}
        self._since: dict[str, float] = {}
        self._tag_bits = TagBits()
        self._masks: dict[str, int] = {}  # the interests of those who have some, as `TagBits` masks
        # Buckets are never replaced, only mutated, so this holds until a new ticket type appears.
        self._eligible: dict[str, _Eligible] = {}

    def __len__(self) -> int:
        return len(self._type)

    def __contains__(self, attendee: object) -> bool:
        return attendee in self._type

    def __iter__(self) -> Iterator[str]:
        return iter(self._type)

    def set_may_meet(self, may_meet: Callable[[str, str], bool]) -> None:
        """Use a new ticket-type matrix from the next round on."""
        self._may_meet = may_meet
        self._eligible.clear()

    def add(
        self, attendee: str, ticket_type: str, since: float, interests: frozenset[str] = NO_INTERESTS
    ) -> None:
        if attendee in self._type:
            raise ValueError(f"{attendee!r} is already in the ready pool")
        bucket = self._buckets.get(ticket_type)
        if bucket is None:
            bucket = self._buckets[ticket_type] = []
            self._eligible.clear()  # a new ticket type: recompute the matrix lookups lazily
        self._slot[attendee] = len(bucket)
        bucket.append(attendee)
        self._type[attendee] = ticket_type
        self._since[attendee] = since
        if interests:
            self._masks[attendee] = self._tag_bits.mask(interests)

    def remove(self, attendee: str) -> bool:
        """Take `attendee` out of the pool; False if they were not in it."""
        ticket_type = self._type.pop(attendee, None)
        if ticket_type is None:
            return False
        del self._since[attendee]
        if self._masks:
            self._masks.pop(attendee, None)
        bucket = self._buckets[ticket_type]
        slot = self._slot.pop(attendee)
        last = bucket.pop()
        if last != attendee:
            bucket[slot] = last
            self._slot[last] = slot
        return True

    def retype(self, attendee: str, ticket_type: str) -> None:
        """Move a member to another ticket type's bucket, keeping their place in the queue."""
        if attendee not in self._type:
            raise ValueError(f"{attendee!r} is not in the ready pool")
        queue = list(self._since.items())  # equal waiting times are served in this order
        interests = self.interests(attendee)
        self.remove(attendee)
        self.add(attendee, ticket_type, 0.0, interests)
        self._since = dict(queue)

    def set_interests(self, attendee: str, interests: frozenset[str]) -> None:
        """A member's interests changed: weigh their next pairing by the new ones."""
        if attendee not in self._type:
            raise ValueError(f"{attendee!r} is not in the ready pool")
        if interests:
            self._masks[attendee] = self._tag_bits.mask(interests)
        else:
            self._masks.pop(attendee, None)

    def interests(self, attendee: str) -> frozenset[str]:
        mask = self._masks.get(attendee)
        return self._tag_bits.tags(mask) if mask else NO_INTERESTS

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
        """Ticket types seen in the pool (now or before) that `ticket_type` may meet."""
        return self._eligible_for(ticket_type)[0]

    def longest_waiting_first(self) -> list[str]:
        """Members by waiting time; ties keep the order in which they became ready."""
        return sorted(self._since, key=self._since.__getitem__)

    def pair_round(
        self,
        now: float,
        blocked: Mapping[str, Collection[str]],
        parted: Mapping[str, Mapping[str, float]],
        cooldown: float | None,
        *,
        weighting: bool = True,
    ) -> list[tuple[str, str]]:
        """Pair as many members as possible and take them out of the pool.

        Members are served longest-waiting first; each gets a random partner among the remaining members
        whose ticket type may meet theirs, who are not in `blocked[member]` and, unless `cooldown` is
        None, who did not part from them (`parted[member][partner]`, a clock time) less than `cooldown`
        seconds before `now`. Both mappings must be symmetric. The partner is uniformly random, or, with
        `weighting`, weighted by shared interests. The pairing is then completed to a maximum one: when
        the round ends, nobody left could have been paired by pairing the others differently (and no two
        remaining members may meet). In each pair, the first waited longer.
        """
        pairs: list[tuple[str, str]] = []
        types = self._type
        random_ = self._rng.random
        remove = self.remove
        gap = cooldown if cooldown is not None else 0.0
        eligible = {t: self._eligible_for(t)[1:] for t in self._buckets}
        order = self.longest_waiting_first()
        # Everyone of this round, for the completion.
        type_of = dict(types)
        members = {t: list(bucket) for t, bucket in self._buckets.items() if bucket}
        masks = self._masks if weighting else _NO_MASKS
        mask_of = masks.get
        for attendee in order:
            ticket_type = types.get(attendee)
            if ticket_type is None:
                continue  # already taken as someone's partner this round
            buckets, allowed = eligible[ticket_type]
            total = sum(map(len, buckets))
            itself = 1 if ticket_type in allowed else 0
            if total <= itself:
                continue
            never = blocked.get(attendee, _NOBODY)
            recent = parted.get(attendee, _NO_HISTORY) if cooldown is not None else _NO_HISTORY
            partner: str | None = None
            # At most this many of the `total` cannot be picked; sample when that leaves plenty.
            sample = total >= _SCAN_BELOW and (total - itself - len(never) - len(recent)) * 4 >= total
            mine = mask_of(attendee) if masks else None
            if sample:
                # A uniform draw; with interests, kept with probability weight / highest: exactly the
                # weighted choice of `affinity.weight` (a candidate sharing `top` or more has the highest).
                top = min(mine.bit_count(), MOST_SHARED) if mine else 0
                highest = 1 + INTEREST_WEIGHT * top
                for _ in range(_MAX_WEIGHTED_PROBES if mine else _MAX_PROBES):
                    index = int(random_() * total)
                    for bucket in buckets:
                        if index < len(bucket):
                            candidate = bucket[index]
                            break
                        index -= len(bucket)
                    if (
                        candidate != attendee
                        and candidate not in never
                        and ((last := recent.get(candidate)) is None or last + gap <= now)
                    ):
                        if mine:
                            shared = (mine & mask_of(candidate, 0)).bit_count()
                            if shared < top and random_() * highest >= 1 + INTEREST_WEIGHT * shared:
                                continue
                        partner = candidate
                        break
            if partner is None and mine:
                partner = self._scan_weighted(attendee, mine, buckets, never, recent, now - gap)
                if partner is None:
                    continue
            if partner is None:
                candidates = [
                    c
                    for bucket in buckets
                    for c in bucket
                    if c != attendee
                    and c not in never
                    and ((last := recent.get(c)) is None or last + gap <= now)
                ]
                if not candidates:
                    continue
                partner = candidates[int(random_() * len(candidates))]
            remove(attendee)
            remove(partner)
            pairs.append((attendee, partner))
        if len(types) < 2:
            return pairs

        def may_meet_now(x: str, y: str) -> bool:
            if y in blocked.get(x, _NOBODY):
                return False
            last = parted.get(x, _NO_HISTORY).get(y) if cooldown is not None else None
            return last is None or last + gap <= now

        waiting = [x for x in order if x in types]
        mate, changed = augment.complete(
            pairs, waiting, members, type_of, lambda t: eligible[t][1], may_meet_now, random_
        )
        if not changed:
            return pairs
        for attendee in waiting:
            if attendee in mate:
                remove(attendee)
        # The pairs nobody changed keep their place; the new ones follow, longest-waiting first.
        pairs = [pair for pair in pairs if pair[0] not in changed]
        seen: set[str] = set()
        for attendee in [x for x in order if x in changed]:
            if attendee not in seen:
                seen.add(mate[attendee])
                pairs.append((attendee, mate[attendee]))
        return pairs

    def _scan_weighted(
        self,
        attendee: str,
        mine: int,
        buckets: tuple[list[str], ...],
        never: Collection[str],
        recent: Mapping[str, float],
        not_before: float,
    ) -> str | None:
        """The exact weighted draw over every eligible candidate, when sampling is not worth it."""
        candidates = [
            c
            for bucket in buckets
            for c in bucket
            if c != attendee and c not in never and ((last := recent.get(c)) is None or last <= not_before)
        ]
        if not candidates:
            return None
        return choose_weighted(candidates, mine, self._masks, self._rng.random)

    def _eligible_for(self, ticket_type: str) -> _Eligible:
        eligible = self._eligible.get(ticket_type)
        if eligible is None:
            allowed = tuple(t for t in self._buckets if self._may_meet(ticket_type, t))
            eligible = (allowed, tuple(self._buckets[t] for t in allowed), frozenset(allowed))
            self._eligible[ticket_type] = eligible
        return eligible
