"""Fixtures for the effects tests: one pool of loaded segmentation models per test module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from effects_testing import warm

from effects import SegmenterPool


@pytest.fixture(scope="module")
def segmenters() -> Iterator[SegmenterPool]:
    pool = warm(SegmenterPool(2))
    yield pool
    pool.close()
