"""A small pool of segmenters shared by many streams, so loading the model is paid a few times, not per
attendee.

The model keeps no state between pictures (each call stands alone; the temporal smoothing lives in each
stream's processor), so any stream may borrow any segmenter. A borrowed segmenter belongs to one thread
until it is returned: never used by two threads at once.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from effects.errors import SegmenterError
from effects.segmenter import Segmenter


class SegmenterPool:
    """Up to `size` segmenters, made on first need; `borrow()` waits while all are in use."""

    def __init__(self, size: int = 1, factory: Callable[[], Segmenter] = Segmenter) -> None:
        if size < 1:
            raise ValueError(f"pool size must be at least 1, got {size}")
        self.size = size
        self._factory = factory
        self._idle: queue.LifoQueue[Segmenter] = queue.LifoQueue()
        self._all: list[Segmenter] = []
        self._lock = threading.Lock()
        self._closed = False

    @property
    def loaded(self) -> int:
        """How many segmenters have been made so far."""
        return len(self._all)

    @contextmanager
    def borrow(self) -> Iterator[Segmenter]:
        """A segmenter for this thread alone until the block ends."""
        segmenter = self._take()
        try:
            yield segmenter
        finally:
            self._idle.put(segmenter)

    def _take(self) -> Segmenter:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            if self._closed:
                raise SegmenterError("segmenter pool is closed")
            if len(self._all) < self.size:
                segmenter = self._factory()
                self._all.append(segmenter)
                return segmenter
        return self._idle.get()

    def warm(self, count: int | None = None) -> int:
        """Load segmenters now, up to `count` (default: the pool's size), so that the first streams do
        not wait for a model load (a second or more, with MediaPipe's first import). Blocking: call it
        in a worker thread. Returns how many are loaded."""
        target = self.size if count is None else min(count, self.size)
        while True:
            with self._lock:
                if self._closed or len(self._all) >= target:
                    return len(self._all)
                segmenter = self._factory()
                self._all.append(segmenter)
                self._idle.put(segmenter)

    def close(self) -> None:
        """Free every model. Segmenters still borrowed refuse their next call. Safe to call twice."""
        with self._lock:
            self._closed = True
            segmenters, self._all = self._all, []
        for segmenter in segmenters:
            segmenter.close()
