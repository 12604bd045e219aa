"""Waiting-status support: the reasons a waiting attendee is shown, and when busy people become free.

The matcher tells every waiting attendee how many eligible people are waiting, how many eligible people are
in meetings that end soon, and an estimate of the wait. The estimate is the time at which enough eligible
partners become free for the attendee's place in the queue: people in meetings become free at their
meeting's deadline, recent partners at the end of their cooldown.
"""

from __future__ import annotations

import bisect
import operator
from collections.abc import Collection, Iterable, Mapping, Sequence

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

    def __init__(self, rows: Mapping[str, list[tuple[float, str]]]) -> None:
        """`rows`: by ticket type, (free_at, attendee) for each connected attendee in a meeting.
        The lists are taken over (sorted in place)."""
        by_type = dict(rows)
        for type_rows in by_type.values():
            type_rows.sort(key=_FREE_AT)
        self._by_type = by_type
        self._size = sum(map(len, by_type.values()))
        self._merged: dict[tuple[str, ...], list[tuple[float, str]]] = {}
        self._times: dict[tuple[str, ...], list[float]] = {}
        self._positions: dict[tuple[str, ...], dict[str, int]] = {}
        self._all_times: list[float] | None = None

    @classmethod
    def from_entries(cls, entries: Iterable[tuple[float, str, str]]) -> FreeTimeIndex:
        """From (free_at, attendee, ticket_type) triples."""
        rows: dict[str, list[tuple[float, str]]] = {}
        for free_at, attendee, ticket_type in entries:
            rows.setdefault(ticket_type, []).append((free_at, attendee))
        return cls(rows)

    def __len__(self) -> int:
        return self._size

    def count_until(self, types: Sequence[str], until: float) -> int:
        """How many people of `types` become free at or before `until`."""
        return bisect.bisect_right(self._times_for(types), until)

    def next_free_after(self, after: float) -> float | None:
        """The earliest free time strictly after `after`, over all types."""
        if self._all_times is None:
            self._all_times = sorted(free_at for rows in self._by_type.values() for free_at, _ in rows)
        i = bisect.bisect_right(self._all_times, after)
        return self._all_times[i] if i < len(self._all_times) else None

    def kth_free_time(
        self, types: Sequence[str], k: int, excluded: Collection[str], extras: Iterable[float]
    ) -> float | None:
        """The (k+1)-th earliest time someone becomes free, counting people of `types` except `excluded`,
        plus the free times in `extras`; None if there are not that many.

        Costs O(|excluded| * |extras|) after the per-types merge, whatever the number of people.
        """
        if k < 0:
            raise ValueError("k must be >= 0")
        times = self._times_for(types)
        if excluded:
            position = self._positions_for(types)
            skipped = sorted(position[e] for e in excluded if e in position)
        else:
            skipped = []
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

    def _merged_for(self, types: Sequence[str]) -> list[tuple[float, str]]:
        key = tuple(types)
        merged = self._merged.get(key)
        if merged is None:
            if len(key) == 1:
                merged = self._by_type.get(key[0], [])
            else:
                # Each type's rows are sorted already: Timsort merges the runs in about linear time.
                merged = sorted((row for t in key for row in self._by_type.get(t, ())), key=_FREE_AT)
            self._merged[key] = merged
        return merged

    def _times_for(self, types: Sequence[str]) -> list[float]:
        key = tuple(types)
        times = self._times.get(key)
        if times is None:
            times = self._times[key] = [free_at for free_at, _ in self._merged_for(key)]
        return times

    def _positions_for(self, types: Sequence[str]) -> dict[str, int]:
        key = tuple(types)
        positions = self._positions.get(key)
        if positions is None:
            merged = self._merged_for(key)
            positions = self._positions[key] = {attendee: i for i, (_, attendee) in enumerate(merged)}
        return positions


_FREE_AT = operator.itemgetter(0)
