"""Segmenter: MediaPipe's landscape selfie model finds the astronaut, frame after frame."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import cv2
import numpy as np
import pytest
from effects_testing import BODY, FACE, FLAG, ROCKET, WALL, astronaut_rgb, crop, full_mask

from effects import FrameError, Segmenter, SegmenterError
from effects.segmenter import INPUT_HEIGHT, INPUT_WIDTH, MODEL_PATH


@pytest.fixture(scope="module")
def segmenter() -> Iterator[Segmenter]:
    with Segmenter() as segmenter:
        yield segmenter


def small(rgb: np.ndarray) -> np.ndarray:
    return cv2.resize(rgb, (INPUT_WIDTH, INPUT_HEIGHT), interpolation=cv2.INTER_AREA)


def test_the_bundled_landscape_model_is_used() -> None:
    assert MODEL_PATH.name == "selfie_segmentation_landscape.tflite"
    assert MODEL_PATH.is_file()


def test_person_and_background_on_every_frame_of_the_moving_clip(segmenter: Segmenter) -> None:
    for index in range(0, 60, 3):
        confidence = segmenter.segment(small(astronaut_rgb(index)))
        assert confidence.shape == (INPUT_HEIGHT, INPUT_WIDTH)
        assert confidence.dtype == np.float32
        assert 0.0 <= confidence.min() and confidence.max() <= 1.0
        mask = full_mask(np.rint(confidence * 255).astype(np.uint8))
        for box in (FACE, BODY):
            assert crop(mask, box).min() > 0.9 * 255, f"person box {box} at frame {index}"
        for box in (WALL, ROCKET):
            assert crop(mask, box).max() < 0.3 * 255, f"background box {box} at frame {index}"


def test_the_flag_is_background_on_a_still_frame(segmenter: Segmenter) -> None:
    mask = full_mask(np.rint(segmenter.segment(small(astronaut_rgb(0))) * 255).astype(np.uint8))
    assert crop(mask, FLAG).max() < 0.1 * 255
    # Most of the frame is one or the other, not undecided.
    undecided = np.count_nonzero((mask > 25) & (mask < 230)) / mask.size
    assert undecided < 0.1


def test_other_sizes_are_resized_to_the_model_input(segmenter: Segmenter) -> None:
    full = segmenter.segment(astronaut_rgb(0))
    reduced = segmenter.segment(small(astronaut_rgb(0)))
    assert full.shape == (INPUT_HEIGHT, INPUT_WIDTH)
    assert float(np.mean(np.abs(full - reduced))) < 0.02


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((INPUT_HEIGHT, INPUT_WIDTH), dtype=np.uint8),
        np.zeros((INPUT_HEIGHT, INPUT_WIDTH, 4), dtype=np.uint8),
        np.zeros((INPUT_HEIGHT, INPUT_WIDTH, 3), dtype=np.float32),
        "not a picture",
    ],
)
def test_bad_input_is_refused(segmenter: Segmenter, bad: object) -> None:
    with pytest.raises(FrameError):
        segmenter.segment(bad)  # type: ignore[arg-type]


def test_a_missing_model_file_is_a_clear_error() -> None:
    with pytest.raises(SegmenterError, match="not found"):
        Segmenter(model_path="/nonexistent/model.tflite")


def test_closed_segmenter_refuses_work_and_closes_twice() -> None:
    segmenter = Segmenter()
    segmenter.close()
    segmenter.close()
    with pytest.raises(SegmenterError, match="closed"):
        segmenter.segment(small(astronaut_rgb(0)))


def test_calls_from_several_threads_are_serialized_and_correct(segmenter: Segmenter) -> None:
    picture = small(astronaut_rgb(0))
    expected = segmenter.segment(picture)
    results: list[np.ndarray] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(5):
            mask = segmenter.segment(picture)
            with lock:
                results.append(mask)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 15
    for mask in results:
        np.testing.assert_allclose(mask, expected, atol=1e-5)
