"""Fixtures for the effects tests: one pool of loaded segmentation models per test module."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import numpy as np
import pytest

from effects import SegmenterPool


def warm(pool: SegmenterPool) -> SegmenterPool:
    """Load all of the pool's models now, as a server would at start-up: tests time frames, not loading."""
    with ExitStack() as stack:
        for _ in range(pool.size):
            stack.enter_context(pool.borrow()).segment(np.zeros((144, 256, 3), dtype=np.uint8))
    return pool


@pytest.fixture(scope="module")
def segmenters() -> Iterator[SegmenterPool]:
    pool = warm(SegmenterPool(2))
    yield pool
    pool.close()
