"""BackgroundProcessor on a real person: blur, colour and image backgrounds on the moving astronaut."""

from __future__ import annotations

import fractions
import itertools
import threading
import time
from collections.abc import Iterator

import av
import cv2
import numpy as np
import pytest
from effects_testing import (
    BACKGROUND_BOXES,
    FACE,
    FLAG,
    PERSON_BOXES,
    ROCKET,
    WALL,
    astronaut_bgr,
    astronaut_i420,
    astronaut_rgb,
    crop,
    full_mask,
    laplacian_variance,
    luma,
    png_header_only,
    psnr,
)

from effects import (
    BackgroundEffect,
    BackgroundProcessor,
    EffectError,
    FrameError,
    FrameLayout,
    ImageError,
    ImageTooLarge,
    InvalidSetting,
    SegmenterPool,
    UnknownEffect,
    cover_fit,
    load_image,
)

BLUE = (30, 144, 255)


@pytest.fixture
def processor(segmenters: SegmenterPool) -> Iterator[BackgroundProcessor]:
    # No mask goes stale on a slow, shared test machine unless a test asks for it.
    processor = BackgroundProcessor(segmenters=segmenters, stale_after=60.0)
    yield processor
    processor.close()


def run(processor: BackgroundProcessor, frames: list[np.ndarray]) -> list[np.ndarray]:
    return [processor.process(frame) for frame in frames]


def checkerboard(width: int, height: int, cell: int) -> np.ndarray:
    """An RGB checkerboard of square `cell`-pixel cells in two colours."""
    yy, xx = np.mgrid[0:height, 0:width]
    odd = ((yy // cell + xx // cell) % 2).astype(bool)
    picture = np.empty((height, width, 3), dtype=np.uint8)
    picture[odd] = (240, 200, 40)
    picture[~odd] = (20, 60, 120)
    return picture


def background_pixels(processor: BackgroundProcessor) -> np.ndarray:
    """Where the current mask, at frame size, is pure background."""
    assert processor.mask is not None
    return full_mask(processor.mask) == 0


# --- blur ---------------------------------------------------------------------------------------------


def test_blur_keeps_the_face_and_wipes_out_background_detail(processor: BackgroundProcessor) -> None:
    processor.set_effect(BackgroundEffect.blurred(0.5))
    frames = [astronaut_i420(i) for i in range(0, 30)]
    outputs = run(processor, frames)
    for frame, out in list(zip(frames, outputs, strict=True))[4:]:
        assert out.shape == frame.shape and out.dtype == np.uint8
        assert psnr(crop(luma(out), FACE), crop(luma(frame), FACE)) > 40
        before = laplacian_variance(crop(luma(frame), ROCKET))
        after = laplacian_variance(crop(luma(out), ROCKET))
        assert after < before / 10, f"{before:.1f} -> {after:.1f}"


def test_blur_on_a_still_frame_including_the_flag(processor: BackgroundProcessor) -> None:
    processor.set_effect(BackgroundEffect.blurred(0.5))
    frame = astronaut_i420(0)
    out = run(processor, [frame] * 6)[-1]
    for box in PERSON_BOXES:
        assert psnr(crop(luma(out), box), crop(luma(frame), box)) > 40
    before = laplacian_variance(crop(luma(frame), FLAG))
    assert laplacian_variance(crop(luma(out), FLAG)) < before / 10
    # The blurred background keeps its colours: a blur, not a fill.
    assert abs(float(crop(luma(out), FLAG).mean()) - float(crop(luma(frame), FLAG).mean())) < 12


def test_stronger_blur_removes_more(segmenters: SegmenterPool) -> None:
    frame = astronaut_i420(0)
    residue = []
    for strength in (0.0, 0.5, 1.0):
        processor = BackgroundProcessor(BackgroundEffect.blurred(strength), segmenters=segmenters)
        out = run(processor, [frame] * 3)[-1]
        residue.append(laplacian_variance(crop(luma(out), ROCKET)))
    assert residue[0] > residue[1] > residue[2]


def test_blur_on_bgr_frames(processor: BackgroundProcessor) -> None:
    processor.set_effect(BackgroundEffect.blurred(0.7))
    frame = astronaut_bgr(0)
    out = run(processor, [frame] * 3)[-1]
    assert out.shape == frame.shape
    assert psnr(crop(out, FACE), crop(frame, FACE)) > 40
    gray_in, gray_out = (cv2.cvtColor(p, cv2.COLOR_BGR2GRAY) for p in (frame, out))
    assert laplacian_variance(crop(gray_out, ROCKET)) < laplacian_variance(crop(gray_in, ROCKET)) / 10


# --- colour -------------------------------------------------------------------------------------------


def test_colour_background_pixels_equal_the_colour_bgr(processor: BackgroundProcessor) -> None:
    processor.set_effect(BackgroundEffect.solid(BLUE))
    for index in range(0, 20):
        frame = astronaut_bgr(index)
        out = processor.process(frame)
        background = background_pixels(processor)
        assert (out[background] == BLUE[::-1]).all()
        for box in (WALL, ROCKET):
            assert crop(background, box).mean() > 0.95  # the background boxes are background indeed
        np.testing.assert_array_equal(crop(out, FACE), crop(frame, FACE))


def test_colour_background_on_i420_frames(processor: BackgroundProcessor) -> None:
    processor.set_effect(BackgroundEffect.solid(BLUE))
    frame = astronaut_i420(0)
    out = run(processor, [frame] * 3)[-1]
    layout = FrameLayout.of(out)
    (y_value,), (u_value,), (v_value,) = layout.color_values(BLUE)
    y, u, v = layout.planes(out)
    background = background_pixels(processor)
    assert (y[background] == y_value).all()
    # Chroma masks are scaled from the model's mask on their own: compare well inside the background.
    inner = cv2.erode(background.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    chroma_background = inner[::2, ::2]
    assert (u[chroma_background] == u_value).all() and (v[chroma_background] == v_value).all()
    rgb = cv2.cvtColor(out, cv2.COLOR_YUV2RGB_I420)
    for box in BACKGROUND_BOXES:
        assert np.abs(crop(rgb, box).astype(int) - BLUE).max() <= 3
    np.testing.assert_array_equal(crop(luma(out), FACE), crop(luma(frame), FACE))


# --- image --------------------------------------------------------------------------------------------


def test_image_background_is_fitted_by_cover_not_stretched(processor: BackgroundProcessor) -> None:
    picture = checkerboard(1280, 400, 40)  # 3.2:1, square cells
    processor.set_effect(BackgroundEffect.picture(picture))
    frame = astronaut_bgr(0)
    out = run(processor, [frame] * 3)[-1]
    expected = cv2.cvtColor(cover_fit(picture, 640, 480), cv2.COLOR_RGB2BGR)
    background = background_pixels(processor)
    np.testing.assert_array_equal(out[background], expected[background])
    stretched = cv2.cvtColor(cv2.resize(picture, (640, 480), interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2BGR)
    assert np.mean(np.abs(out[background].astype(int) - stretched[background]) < 30) < 0.8
    # Cells stay square: 40 px scaled by 480/400 = 48 px both ways.
    row = crop(out, WALL)[10, :, 0].astype(int)
    column = crop(out, ROCKET)[:, 10, 0].astype(int)
    assert np.count_nonzero(np.abs(np.diff(row)) > 60) <= 2  # 60 px wide box: at most 2 cell edges
    assert 3 <= np.count_nonzero(np.abs(np.diff(column)) > 60) <= 5  # 220 px tall: 4 or 5 edges
    np.testing.assert_array_equal(crop(out, FACE), crop(frame, FACE))


def test_image_background_on_i420_frames(processor: BackgroundProcessor) -> None:
    picture = load_image(
        cv2.imencode(".png", cv2.cvtColor(checkerboard(800, 900, 50), cv2.COLOR_RGB2BGR))[1].tobytes()
    )
    processor.set_effect(BackgroundEffect.picture(picture))
    out = run(processor, [astronaut_i420(0)] * 3)[-1]
    expected = cover_fit(picture, 640, 480)
    rgb = cv2.cvtColor(out, cv2.COLOR_YUV2RGB_I420)
    for box in BACKGROUND_BOXES:
        assert psnr(crop(rgb, box), crop(expected, box)) > 25


# --- mask over time -----------------------------------------------------------------------------------


def test_the_mask_is_steady_on_a_still_noisy_picture(processor: BackgroundProcessor) -> None:
    processor.set_effect(BackgroundEffect.blurred())
    rng = np.random.default_rng(3)
    still = astronaut_rgb(0).astype(np.float32)
    noisy = [np.clip(still + rng.normal(0.0, 4.0, still.shape), 0, 255).astype(np.uint8) for _ in range(24)]
    masks = []
    for picture in noisy:
        processor.process(cv2.cvtColor(picture, cv2.COLOR_RGB2YUV_I420))
        assert processor.mask is not None
        masks.append(processor.mask.astype(np.int16))
    changes = [np.abs(b - a) for a, b in itertools.pairwise(masks[4:])]
    assert max(float(change.mean()) for change in changes) < 1.0
    assert max(np.count_nonzero(change > 64) / change.size for change in changes) < 0.002


def test_the_mask_follows_a_moving_person(processor: BackgroundProcessor, segmenters: SegmenterPool) -> None:
    processor.set_effect(BackgroundEffect.blurred())
    with segmenters.borrow() as segmenter:
        for index in range(0, 40):
            frame = astronaut_i420(index, frames=40)  # a faster sway than the default clip
            processor.process(frame)
            assert processor.mask is not None
            fresh = segmenter.segment(
                cv2.resize(astronaut_rgb(index, 40), (256, 144), interpolation=cv2.INTER_AREA)
            )
            ours, truth = processor.mask > 127, fresh > 0.5
            iou = np.count_nonzero(ours & truth) / np.count_nonzero(ours | truth)
            assert iou > 0.93, f"frame {index}: IoU {iou:.3f}"


def test_segmentation_runs_every_second_frame(segmenters: SegmenterPool) -> None:
    processor = BackgroundProcessor(BackgroundEffect.blurred(), segmenters=segmenters, stale_after=60.0)
    run(processor, [astronaut_i420(i) for i in range(20)])
    assert (processor.frames, processor.segmentations) == (20, 10)
    every = BackgroundProcessor(
        BackgroundEffect.blurred(), segmenters=segmenters, segment_every=1, stale_after=60.0
    )
    run(every, [astronaut_i420(i) for i in range(6)])
    assert every.segmentations == 6


def test_a_still_picture_is_segmented_less_often(segmenters: SegmenterPool) -> None:
    processor = BackgroundProcessor(BackgroundEffect.blurred(), segmenters=segmenters, stale_after=60.0)
    rng = np.random.default_rng(5)
    still = astronaut_rgb(0).astype(np.float32)
    noisy = [np.clip(still + rng.normal(0.0, 4.0, still.shape), 0, 255).astype(np.uint8) for _ in range(16)]
    for picture in noisy:  # a still person, with camera noise
        processor.process(cv2.cvtColor(picture, cv2.COLOR_RGB2YUV_I420))
    assert processor.segmentations == 4  # every 4th frame
    run(processor, [astronaut_i420(i) for i in range(1, 17)])  # moving again
    assert processor.segmentations == 4 + 8  # every 2nd frame
    with pytest.raises(InvalidSetting):
        BackgroundProcessor(segment_every=3, segment_every_still=2)


def test_a_stale_mask_is_not_reused_after_a_pause(segmenters: SegmenterPool) -> None:
    processor = BackgroundProcessor(BackgroundEffect.solid(BLUE), segmenters=segmenters, stale_after=0.2)
    run(processor, [astronaut_bgr(0)] * 3)
    processor.set_effect(BackgroundEffect.none())
    time.sleep(0.3)
    processor.set_effect(BackgroundEffect.solid(BLUE))
    moved = np.ascontiguousarray(np.roll(astronaut_bgr(0), 120, axis=1))  # the person moved meanwhile
    before = processor.segmentations
    out = processor.process(moved)
    assert processor.segmentations == before + 1  # the very first frame is segmented afresh
    face = (FACE[0] + 120, FACE[1], FACE[2] + 120, FACE[3])
    np.testing.assert_array_equal(crop(out, face), crop(moved, face))


def test_after_a_pause_the_blurred_background_is_made_afresh(segmenters: SegmenterPool) -> None:
    blur = BackgroundEffect.blurred()
    processor = BackgroundProcessor(blur, segmenters=segmenters, stale_after=0.2)
    run(processor, [astronaut_i420(0)] * 2)
    processor.set_effect(BackgroundEffect.none())
    time.sleep(0.3)
    processor.set_effect(blur)  # the same effect again
    changed = astronaut_i420(0)
    x0, y0, x1, y1 = ROCKET
    luma(changed)[y0:y1, x0:x1] = 16  # the shuttle model was taken away meanwhile
    out = processor.process(changed)
    middle = (x0 + 40, y0 + 40, x1 - 40, y1 - 40)
    assert crop(luma(out), middle).max() < 60


def test_a_new_frame_size_starts_afresh(processor: BackgroundProcessor) -> None:
    processor.set_effect(BackgroundEffect.solid(BLUE))
    run(processor, [astronaut_i420(0)] * 2)
    small = cv2.cvtColor(
        cv2.resize(astronaut_rgb(0), (320, 240), interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2YUV_I420
    )
    out = processor.process(small)
    assert out.shape == (360, 320)
    rgb = cv2.cvtColor(out, cv2.COLOR_YUV2RGB_I420)
    assert np.abs(rgb[5:60, 210:300].astype(int) - BLUE).max() <= 3  # the rocket half-size: background


# --- switching effects --------------------------------------------------------------------------------


def test_switching_effects_applies_from_the_very_next_frame(processor: BackgroundProcessor) -> None:
    frame = astronaut_bgr(0)
    processor.set_effect(BackgroundEffect.blurred())
    blurred = run(processor, [frame] * 3)[-1]
    processor.set_effect(BackgroundEffect.solid(BLUE))
    coloured = processor.process(frame)
    assert (crop(coloured, WALL) == BLUE[::-1]).all()
    picture = checkerboard(640, 480, 32)
    processor.set_effect(BackgroundEffect.picture(picture))
    pictured = processor.process(frame)
    np.testing.assert_array_equal(crop(pictured, ROCKET), crop(picture[..., ::-1], ROCKET))
    processor.set_effect(BackgroundEffect.none())
    assert processor.process(frame) is frame
    processor.set_effect(BackgroundEffect.blurred())
    again = processor.process(frame)
    assert psnr(crop(again, ROCKET), crop(blurred, ROCKET)) > 30
    for out in (blurred, coloured, pictured, again):
        np.testing.assert_array_equal(crop(out, FACE), crop(frame, FACE))


def test_bad_settings_leave_the_current_effect_in_place(processor: BackgroundProcessor) -> None:
    current = BackgroundEffect.blurred(0.6)
    processor.set_effect(current)
    frame = astronaut_i420(0)
    run(processor, [frame] * 2)

    def attempts() -> Iterator[object]:
        yield lambda: processor.set_effect(BackgroundEffect(kind="sparkle"))  # type: ignore[arg-type]
        yield lambda: processor.set_effect(BackgroundEffect.blurred(3.0))
        yield lambda: processor.set_effect(BackgroundEffect.solid((300, 0, 0)))
        yield lambda: processor.set_effect(BackgroundEffect.picture(load_image(b"GIF89a garbage")))
        yield lambda: processor.set_effect(
            BackgroundEffect.picture(load_image(png_header_only(20_000, 20_000)))
        )
        yield lambda: processor.set_effect("blur")  # type: ignore[arg-type]
        yield lambda: processor.set_effect(None)  # type: ignore[arg-type]

    expected_errors = [
        UnknownEffect,
        InvalidSetting,
        InvalidSetting,
        ImageError,
        ImageTooLarge,
        InvalidSetting,
        InvalidSetting,
    ]
    for attempt, error in zip(attempts(), expected_errors, strict=True):
        with pytest.raises(error) as caught:
            attempt()  # type: ignore[operator]
        assert isinstance(caught.value, EffectError)
        assert str(caught.value)
        assert processor.effect is current
    out = processor.process(frame)
    assert laplacian_variance(crop(luma(out), ROCKET)) < laplacian_variance(crop(luma(frame), ROCKET)) / 10


def test_switching_from_another_thread_while_processing(processor: BackgroundProcessor) -> None:
    effects = [BackgroundEffect.blurred(0.3), BackgroundEffect.solid(BLUE), BackgroundEffect.none()]
    stop = threading.Event()

    def switcher() -> None:
        i = 0
        while not stop.is_set():
            processor.set_effect(effects[i % len(effects)])
            i += 1
            time.sleep(0.001)

    thread = threading.Thread(target=switcher)
    thread.start()
    try:
        frame = astronaut_i420(0)
        for _ in range(30):
            out = processor.process(frame)
            assert out.shape == frame.shape
            np.testing.assert_array_equal(crop(luma(out), FACE), crop(luma(frame), FACE))
    finally:
        stop.set()
        thread.join()


# --- frames in and out --------------------------------------------------------------------------------


def test_none_passes_frames_through_untouched(processor: BackgroundProcessor) -> None:
    frame = astronaut_i420(0)
    assert processor.process(frame) is frame
    video = av.VideoFrame.from_ndarray(frame, format="yuv420p")
    assert processor.process_frame(video) is video
    assert processor.frames == 0 and processor.segmentations == 0


def test_pyav_frames_keep_their_timestamps(processor: BackgroundProcessor) -> None:
    processor.set_effect(BackgroundEffect.solid(BLUE))
    for index in range(4):
        video = av.VideoFrame.from_ndarray(astronaut_i420(index), format="yuv420p")
        video.pts = 123_000 + index * 3000
        video.time_base = fractions.Fraction(1, 90_000)
        out = processor.process(video)  # process() takes PyAV frames too
        assert out is not video
        assert (out.pts, out.time_base) == (video.pts, video.time_base)
        assert (out.width, out.height, out.format.name) == (640, 480, "yuv420p")
        rgb = out.to_ndarray(format="rgb24")
        assert np.abs(crop(rgb, WALL).astype(int) - BLUE).max() <= 4
        np.testing.assert_array_equal(
            crop(luma(out.to_ndarray()), FACE), crop(luma(astronaut_i420(index)), FACE)
        )


def test_pyav_frames_in_other_formats_and_padded_rows(processor: BackgroundProcessor) -> None:
    processor.set_effect(BackgroundEffect.solid(BLUE))
    rgb_frame = av.VideoFrame.from_ndarray(astronaut_rgb(0), format="rgb24")
    out = processor.process_frame(rgb_frame)
    assert out.format.name == "yuv420p"
    assert np.abs(crop(out.to_ndarray(format="rgb24"), WALL).astype(int) - BLUE).max() <= 4
    # A width whose rows PyAV pads (line size > width).
    odd = cv2.cvtColor(
        cv2.resize(astronaut_rgb(0), (650, 488), interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2YUV_I420
    )
    padded = av.VideoFrame.from_ndarray(odd, format="yuv420p")
    result = processor.process_frame(padded).to_ndarray()
    np.testing.assert_array_equal(crop(luma(result), FACE), crop(luma(odd), FACE))


def test_odd_sized_and_garbage_frames_are_refused(processor: BackgroundProcessor) -> None:
    processor.set_effect(BackgroundEffect.blurred())
    with pytest.raises(FrameError):
        processor.process_frame(av.VideoFrame(641, 480, "yuv420p"))
    with pytest.raises(FrameError):
        processor.process(np.zeros((10, 10, 4), dtype=np.uint8))
    with pytest.raises(FrameError):
        processor.process(np.zeros((720, 640), dtype=np.float64))  # type: ignore[arg-type]


def test_close_is_final_and_idempotent(segmenters: SegmenterPool) -> None:
    processor = BackgroundProcessor(BackgroundEffect.blurred())  # loads its own model
    processor.process(astronaut_i420(0))
    processor.close()
    processor.close()
    with pytest.raises(RuntimeError, match="closed"):
        processor.process(astronaut_i420(0))
    with pytest.raises(InvalidSetting):
        BackgroundProcessor(segment_every=0)
    with pytest.raises(InvalidSetting):
        BackgroundProcessor(segment_every_still=True)
    with pytest.raises(InvalidSetting):
        BackgroundProcessor(stale_after=0)


def test_opencv_runs_single_threaded_unless_told_otherwise() -> None:
    cv2.setNumThreads(2)
    try:
        BackgroundProcessor(opencv_threads=None).close()
        assert cv2.getNumThreads() == 2
        BackgroundProcessor().close()
        assert cv2.getNumThreads() == 1
    finally:
        cv2.setNumThreads(1)
