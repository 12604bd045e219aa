"""A one-item mailbox that keeps only the newest frame, so latency can never build up.

aiortc's `RemoteStreamTrack` queue and `MediaRelay` in buffered mode are unbounded: a slow consumer makes
delay grow without limit. Between pipeline stages we keep a single slot instead; a producer overwrites it
and a consumer that falls behind simply skips frames (lower frame rate, same delay).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


class SlotClosed(Exception):
    """The slot was closed: its producer is gone for good."""


@dataclass(slots=True)
class SlotItem(Generic[T]):
    """One frame in the slot, numbered; `at` is when it was put (monotonic clock); `taken` counts the
    readers that picked it up (the first may use the frame as is, later ones must copy it)."""

    seq: int
    value: T
    at: float
    taken: int = field(default=0)

    @property
    def age(self) -> float:
        return time.monotonic() - self.at


class LatestFrameSlot(Generic[T]):
    """Holds the newest item; readers wait for an item newer than the one they saw last.

    Several readers may read the same slot; each remembers the `seq` it saw. Waiting goes through
    `changed()`, a future (not a task) resolved by the next `put()` or `close()`, so a reader can wait on
    this slot and on other futures at once without creating tasks.
    """

    def __init__(self) -> None:
        self._item: SlotItem[T] | None = None
        self._seq = 0
        self._closed = False
        self._waiter: asyncio.Future[None] | None = None
        self.put_count = 0
        self.dropped = 0  # items overwritten before any reader took them

    @property
    def seq(self) -> int:
        return self._seq

    @property
    def closed(self) -> bool:
        return self._closed

    def put(self, value: T) -> int:
        """Replace the item with a newer one and wake waiting readers; returns its sequence number."""
        if self._closed:
            raise SlotClosed("slot is closed")
        if self._item is not None and self._item.taken == 0:
            self.dropped += 1
        self._seq += 1
        self.put_count += 1
        self._item = SlotItem(self._seq, value, time.monotonic())
        self._wake()
        return self._seq

    def peek(self) -> SlotItem[T] | None:
        """The current item without taking it."""
        return self._item

    def latest_after(self, seq: int) -> SlotItem[T] | None:
        """The current item if it is newer than `seq` (marking it taken), else None."""
        item = self._item
        if item is None or item.seq <= seq:
            if self._closed:
                raise SlotClosed("slot is closed")
            return None
        item.taken += 1
        return item

    def changed(self) -> asyncio.Future[None]:
        """A future resolved by the next put() or close()."""
        if self._waiter is None or self._waiter.done():
            self._waiter = asyncio.get_running_loop().create_future()
            if self._closed:
                self._waiter.set_result(None)
        return self._waiter

    async def get(self, after: int = 0) -> SlotItem[T]:
        """Wait for an item newer than `after`; raises SlotClosed once closed and drained."""
        while True:
            item = self.latest_after(after)
            if item is not None:
                return item
            # Shielded: a cancelled reader must not cancel the future other readers share.
            await asyncio.shield(self.changed())

    def close(self) -> None:
        """Wake all readers; after the current item is read, they get SlotClosed. Safe to call twice."""
        self._closed = True
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)
        self._waiter = None
