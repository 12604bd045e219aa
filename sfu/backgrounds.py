"""Virtual backgrounds for the media plane: background settings -> `effects` processors, per peer.

Each peer that turns a background on gets one `effects.BackgroundProcessor` (it keeps the per-stream
mask smoothing), all sharing one small `SegmenterPool` (the model is loaded a few times, not per peer).
The peer's `VideoSource` runs it on the media plane's effect executor, only while someone receives the
video. Image backgrounds are files the control plane has checked and names by their stored file name;
`image_path` finds them. Decoded images are kept in a small cache (decoding is blocking: done on the
executor).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Executor
from pathlib import Path

import av
import numpy as np

from aio import cancel_and_wait
from effects.background import BackgroundEffect, load_image
from effects.errors import EffectError
from effects.processor import BackgroundProcessor
from effects.segmenter_pool import SegmenterPool
from sfu.video_source import FrameProcessor
from wire import protocol as p

logger = logging.getLogger(__name__)

IMAGE_CACHE_SIZE = 16


class BackgroundUnavailable(LookupError):
    """The requested background cannot be used (missing or unreadable image, bad setting)."""


class _EffectProcessor:
    """`FrameProcessor` over an `effects.BackgroundProcessor` (PyAV frames in and out)."""

    def __init__(self, processor: BackgroundProcessor) -> None:
        self.processor = processor

    def process(self, frame: av.VideoFrame) -> av.VideoFrame:
        return self.processor.process_frame(frame)


class Backgrounds:
    """Makes and keeps the peers' background processors. `close()` frees the models (safe twice).

    Blocking work (model loads, image decoding, freeing the models) runs on `executor` (None: the
    event loop's default executor)."""

    def __init__(
        self,
        image_path: Callable[[str], Path | None],
        *,
        executor: Executor | None = None,
        pool_size: int = 2,
        pool: SegmenterPool | None = None,
    ) -> None:
        self._image_path = image_path
        self._executor = executor
        self._pool = pool if pool is not None else SegmenterPool(pool_size)
        self._processors: dict[str, BackgroundProcessor] = {}  # peer key -> its processor
        self._images: OrderedDict[str, np.ndarray] = OrderedDict()  # file name -> decoded image
        self._closed = False
        self._warm_task: asyncio.Task[None] | None = None

    @property
    def models_loaded(self) -> int:
        """Segmentation models loaded so far (shared by every peer's effect)."""
        return self._pool.loaded

    @property
    def active(self) -> int:
        """Peers holding a processor."""
        return len(self._processors)

    def start(self) -> None:
        """Load the segmentation models in the background now, so that the first attendee to pick a
        background does not see their video stall while a model loads (MediaPipe's first import alone
        takes a second or more of CPU)."""
        if self._warm_task is None and not self._closed:
            self._warm_task = asyncio.create_task(self._warm(), name="sfu-backgrounds-warm")

    async def _warm(self) -> None:
        started = time.perf_counter()
        try:
            loaded = await asyncio.get_running_loop().run_in_executor(self._executor, self._pool.warm)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("could not preload the segmentation models; they load on first use")
            return
        logger.info("%d segmentation model(s) ready in %.1f s", loaded, time.perf_counter() - started)

    async def processor_for(
        self, peer_key: str, background: p.Background, image: str | None = None
    ) -> FrameProcessor | None:
        """The processor to run on the peer's video for `background` (None: no processing). `image` is
        the stored file of an image background. Raises BackgroundUnavailable."""
        if self._closed:
            raise BackgroundUnavailable("backgrounds are shutting down")
        effect = await self._effect(background, image)
        if not effect.active:
            return None  # the peer's processor (if any) is kept for its next background
        processor = self._processors.get(peer_key)
        if processor is None:
            processor = BackgroundProcessor(segmenters=self._pool)
            self._processors[peer_key] = processor
        processor.set_effect(effect)
        return _EffectProcessor(processor)

    def release(self, peer_key: str) -> None:
        """Free the peer's processor, if any."""
        processor = self._processors.pop(peer_key, None)
        if processor is not None:
            processor.close()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        task, self._warm_task = self._warm_task, None
        # A model load under way finishes in its thread; close() below then frees it.
        await cancel_and_wait(task)
        for processor in self._processors.values():
            processor.close()
        self._processors.clear()
        self._images.clear()
        # Closing the models may wait for a frame still being segmented: off the event loop.
        await asyncio.get_running_loop().run_in_executor(self._executor, self._pool.close)

    def _load(self, filename: str) -> np.ndarray:
        """Find and decode a stored image (blocking: file system and decoding)."""
        path = self._image_path(filename)
        if path is None:
            raise BackgroundUnavailable("the background image's file is missing")
        return load_image(path)

    async def _effect(self, background: p.Background, image: str | None) -> BackgroundEffect:
        try:
            match background:
                case p.NoBackground():
                    return BackgroundEffect.none()
                case p.BlurBackground(strength=strength):
                    return BackgroundEffect.blurred(strength)
                case p.ColorBackground(rgb=rgb):
                    return BackgroundEffect.solid(rgb)
                case p.ImageBackground():
                    if image is None:
                        raise BackgroundUnavailable("an image background needs its image file")
                    return BackgroundEffect.picture(await self._image(image))
        except EffectError as exc:
            raise BackgroundUnavailable(f"the background cannot be used: {exc}") from exc
        raise BackgroundUnavailable(f"unknown background {background.kind!r}")

    async def _image(self, filename: str) -> np.ndarray:
        cached = self._images.get(filename)
        if cached is not None:
            self._images.move_to_end(filename)
            return cached
        loop = asyncio.get_running_loop()
        try:
            image = await loop.run_in_executor(self._executor, self._load, filename)
        except EffectError as exc:
            raise BackgroundUnavailable(f"the background image cannot be used: {exc}") from exc
        self._images[filename] = image
        while len(self._images) > IMAGE_CACHE_SIZE:
            self._images.popitem(last=False)
        return image
