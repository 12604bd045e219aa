"""SegmenterPool: models loaded on demand up to the pool size, each lent to one thread at a time."""

from __future__ import annotations

import threading
import time

import cv2
import numpy as np
import pytest
from effects_testing import astronaut_rgb

from effects import Segmenter, SegmenterError, SegmenterPool

PICTURE = cv2.resize(astronaut_rgb(0), (256, 144), interpolation=cv2.INTER_AREA)


def test_models_are_loaded_on_first_need_and_reused() -> None:
    pool = SegmenterPool(2)
    try:
        assert pool.loaded == 0
        with pool.borrow() as first:
            first.segment(PICTURE)
        with pool.borrow() as again:
            assert again is first
        assert pool.loaded == 1
    finally:
        pool.close()


def test_concurrent_borrowers_never_share_a_segmenter_and_the_pool_stays_bounded() -> None:
    pool = SegmenterPool(2)
    in_use: set[int] = set()
    overlaps: list[int] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(4):
            with pool.borrow() as segmenter:
                with lock:
                    if id(segmenter) in in_use:
                        overlaps.append(id(segmenter))
                    in_use.add(id(segmenter))
                mask = segmenter.segment(PICTURE)
                time.sleep(0.002)
                with lock:
                    in_use.discard(id(segmenter))
                assert mask.shape == (144, 256)

    threads = [threading.Thread(target=work) for _ in range(4)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert overlaps == []
        assert pool.loaded == 2
    finally:
        pool.close()


def test_a_closed_pool_refuses_new_models_and_closes_its_segmenters() -> None:
    pool = SegmenterPool(1)
    with pool.borrow() as segmenter:
        pass
    pool.close()
    pool.close()
    with pytest.raises(SegmenterError), pool.borrow() as again:
        again.segment(PICTURE)
    assert segmenter is again  # the idle one came back, closed: it refuses work


def test_the_pool_uses_its_factory() -> None:
    made: list[Segmenter] = []

    def factory() -> Segmenter:
        segmenter = Segmenter()
        made.append(segmenter)
        return segmenter

    pool = SegmenterPool(1, factory=factory)
    try:
        with pool.borrow() as segmenter:
            assert np.isfinite(segmenter.segment(PICTURE)).all()
        assert made == [segmenter]
    finally:
        pool.close()


def test_pool_size_must_be_positive() -> None:
    with pytest.raises(ValueError):
        SegmenterPool(0)


def test_warming_loads_models_ahead_of_need_and_borrowers_use_them() -> None:
    pool = SegmenterPool(2)
    try:
        assert pool.warm(1) == 1
        assert pool.warm() == 2  # up to the size, no further
        assert pool.warm(5) == 2
        with pool.borrow() as first, pool.borrow() as second:
            assert first is not second
            assert np.isfinite(second.segment(PICTURE)).all()
        assert pool.loaded == 2
    finally:
        pool.close()
    assert pool.warm() == 0  # a closed pool loads nothing
