"""Waiting-status support: the reasons a waiting attendee is shown, and when busy people become free.

The matcher tells every waiting attendee how many eligible people are waiting, how many eligible people are
in meetings that end soon, and an estimate of the wait. The estimate is the time at which enough eligible
partners become free for the attendee's place in the queue: people in meetings become free at their
meeting's deadline, recent partners at the end of their cooldown.
"""

from __future__ import annotations

import bisect
from collections.abc import Collection, Iterable, Sequence

PAIRING_NOW = "An eligible partner is waiting: you will be paired in a moment"
WAITING_FOR_MEETINGS = "Waiting for an eligible partner: some are in meetings that end soon"
WAITING_FOR_PARTNER = "Waiting for an eligible partner"
WAITING_FOR_READY = "Waiting for an eligible partner: those here now are not ready yet"
NOBODY_ELIGIBLE = "Waiting for an eligible partner: nobody you may meet is here right now"
NOT_BEFORE_END = "No eligible partner is likely to be free before the session ends"
SESSION_ENDED = "The session has ended: no new matches"


class FreeTimeIndex:
    """People now in meetings, by ticket type, sorted by when they become free.

    Built once per change of the running meetings and shared by every waiting attendee's estimate.
    """

    def __init__(self, entries: Iterable[tuple[float, str, str]]) -> None:
        """`entries`: (free_at, attendee, ticket_type) for each connected attendee in a meeting."""
        self._free_at: dict[str, float] = {}
        self._type: dict[str, str] = {}
        by_type: dict[str, list[tuple[float, str]]] = {}
        for free_at, attendee, ticket_type in entries:
            self._free_at[attendee] = free_at
            self._type[attendee] = ticket_type
            by_type.setdefault(ticket_type, []).append((free_at, attendee))
        self._by_type = by_type
        self._merged: dict[tuple[str, ...], tuple[list[float], dict[str, int]]] = {}
        self._sorted_times = sorted(self._free_at.values())

    def __len__(self) -> int:
        return len(self._free_at)

    def __contains__(self, attendee: object) -> bool:
        return attendee in self._free_at

    def free_at(self, attendee: str) -> float | None:
        return self._free_at.get(attendee)

    def ticket_type(self, attendee: str) -> str | None:
        return self._type.get(attendee)

    def count_until(self, types: Sequence[str], until: float) -> int:
        """How many people of `types` become free at or before `until`."""
        times, _ = self._merged_for(types)
        return bisect.bisect_right(times, until)

    def next_free_after(self, after: float) -> float | None:
        """The earliest free time strictly after `after`, over all types."""
        i = bisect.bisect_right(self._sorted_times, after)
        return self._sorted_times[i] if i < len(self._sorted_times) else None

    def kth_free_time(
        self, types: Sequence[str], k: int, excluded: Collection[str], extras: Iterable[float]
    ) -> float | None:
        """The (k+1)-th earliest time someone becomes free, counting people of `types` except `excluded`,
        plus the free times in `extras`; None if there are not that many.

        Costs O(|excluded| * |extras|) after the per-types merge, whatever the number of people.
        """
        if k < 0:
            raise ValueError("k must be >= 0")
        times, position = self._merged_for(types)
        skipped = sorted(position[e] for e in excluded if e in position)
        more = sorted(extras)

        def nth_kept(n: int) -> float | None:
            # The n-th (0-based) time of `times` once the `skipped` positions are removed.
            i = n
            for p in skipped:
                if p > i:
                    break
                i += 1
            return times[i] if i < len(times) else None

        best: float | None = None
        # Take t of the extras and k+1-t of the kept times; the answer is the best split.
        for t in range(min(len(more), k + 1) + 1):
            need = k + 1 - t
            if need > 0:
                kept = nth_kept(need - 1)
                if kept is None:
                    continue
                value = kept if t == 0 else max(kept, more[t - 1])
            else:
                value = more[t - 1]
            if best is None or value < best:
                best = value
        return best

    def _merged_for(self, types: Sequence[str]) -> tuple[list[float], dict[str, int]]:
        key = tuple(types)
        merged = self._merged.get(key)
        if merged is None:
            rows = sorted(row for t in key for row in self._by_type.get(t, ()))
            merged = ([free_at for free_at, _ in rows], {attendee: i for i, (_, attendee) in enumerate(rows)})
            self._merged[key] = merged
        return merged
