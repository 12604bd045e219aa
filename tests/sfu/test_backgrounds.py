"""Background settings turned into per-peer effect processors: image files found through `image_path`,
every unusable background refused with BackgroundUnavailable, the models preloaded on request."""

from __future__ import annotations

import fractions
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image
from sfu_testing import wait_until

from sfu.backgrounds import Backgrounds, BackgroundUnavailable
from wire import protocol as p

GREEN = (0, 200, 0)
GREY = (128, 128, 128)


def frame(rgb: tuple[int, int, int] = GREY) -> av.VideoFrame:
    """A 160x120 picture with nobody in it."""
    image = np.empty((120, 160, 3), dtype=np.uint8)
    image[:] = rgb
    out = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")
    out.pts, out.time_base = 0, fractions.Fraction(1, 90_000)
    return out


def colour_of(picture: av.VideoFrame) -> tuple[int, int, int]:
    median = np.median(picture.to_ndarray(format="rgb24").reshape(-1, 3), axis=0)
    return int(median[0]), int(median[1]), int(median[2])


def close_to(rgb: tuple[int, int, int], expected: tuple[int, int, int], tolerance: int = 25) -> bool:
    return max(abs(a - b) for a, b in zip(rgb, expected, strict=True)) <= tolerance


@pytest.fixture
async def backgrounds(tmp_path: Path) -> AsyncIterator[Backgrounds]:
    def image_path(name: str) -> Path | None:
        path = tmp_path / name
        return path if path.is_file() else None

    executor = ThreadPoolExecutor(2, thread_name_prefix="test-effects")
    made = Backgrounds(image_path, executor=executor)
    try:
        yield made
    finally:
        await made.close()
        await made.close()  # safe twice
        executor.shutdown(wait=True)


def write_png(folder: Path, name: str, rgb: tuple[int, int, int]) -> str:
    Image.new("RGB", (64, 48), rgb).save(folder / name, format="PNG")
    return name


async def test_no_background_needs_no_processor(backgrounds: Backgrounds) -> None:
    assert await backgrounds.processor_for("a", p.NoBackground()) is None
    assert backgrounds.active == 0


async def test_a_colour_background_replaces_an_empty_picture_and_each_peer_has_its_own_processor(
    backgrounds: Backgrounds,
) -> None:
    processor = await backgrounds.processor_for("a", p.ColorBackground(rgb=GREEN))
    assert processor is not None
    assert close_to(colour_of(processor.process(frame())), GREEN)
    blur = await backgrounds.processor_for("b", p.BlurBackground(strength=0.8))
    assert blur is not None and close_to(colour_of(blur.process(frame())), GREY)
    assert backgrounds.active == 2
    # Switching a peer's background keeps its processor (and its mask smoothing).
    assert await backgrounds.processor_for("a", p.NoBackground()) is None
    assert backgrounds.active == 2
    backgrounds.release("a")
    backgrounds.release("a")
    assert backgrounds.active == 1


async def test_an_image_background_is_read_through_image_path(
    backgrounds: Backgrounds, tmp_path: Path
) -> None:
    name = write_png(tmp_path, "beach.png", (250, 250, 0))
    processor = await backgrounds.processor_for("a", p.ImageBackground(asset_id=7), name)
    assert processor is not None
    assert close_to(colour_of(processor.process(frame())), (250, 250, 0))
    # Decoded once: the cache serves it while the file is gone.
    (tmp_path / name).unlink()
    assert await backgrounds.processor_for("b", p.ImageBackground(asset_id=7), name) is not None


async def test_unusable_backgrounds_are_refused(backgrounds: Backgrounds, tmp_path: Path) -> None:
    (tmp_path / "broken.png").write_bytes(b"not a picture")
    for image, message in (
        (None, "needs its image file"),
        ("missing.png", "file is missing"),
        ("broken.png", "cannot be used"),
    ):
        with pytest.raises(BackgroundUnavailable, match=message) as refused:
            await backgrounds.processor_for("a", p.ImageBackground(asset_id=1), image)
        assert str(tmp_path) not in str(refused.value)  # no paths in what the attendee may read
    assert backgrounds.active == 0


async def test_after_close_nothing_more_is_made(backgrounds: Backgrounds) -> None:
    await backgrounds.close()
    with pytest.raises(BackgroundUnavailable):
        await backgrounds.processor_for("a", p.BlurBackground())


async def test_the_models_load_at_start_not_when_the_first_attendee_picks_a_background(
    backgrounds: Backgrounds,
) -> None:
    assert backgrounds.models_loaded == 0
    backgrounds.start()
    await wait_until(lambda: backgrounds.models_loaded == 2, within=60, what="models preloaded")
