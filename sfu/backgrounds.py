"""Virtual backgrounds for the media plane: protocol settings -> `effects` processors, per attendee.

Each attendee who turns a background on gets one `effects.BackgroundProcessor` (it keeps the per-stream
mask smoothing), all sharing one small `SegmenterPool` (the model is loaded a few times, not per
attendee). The attendee's `VideoSource` runs it in an executor, only while someone receives the video.
Image backgrounds are organiser assets of the event or the attendee's own uploads; decoded images are
kept in a small cache (decoding is blocking: done in an executor).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np

from effects.background import BackgroundEffect, load_image
from effects.errors import EffectError
from effects.processor import BackgroundProcessor
from effects.segmenter_pool import SegmenterPool
from sfu.participant import Participant
from sfu.video_source import FrameProcessor
from web.store import Store
from wire import protocol as p

logger = logging.getLogger(__name__)

IMAGE_CACHE_SIZE = 16


class BackgroundUnavailable(LookupError):
    """The requested background cannot be used (unknown asset, someone else's, unreadable image)."""


class _EffectProcessor:
    """`FrameProcessor` over an `effects.BackgroundProcessor` (PyAV frames in and out)."""

    def __init__(self, processor: BackgroundProcessor) -> None:
        self.processor = processor

    def process(self, frame: av.VideoFrame) -> av.VideoFrame:
        return self.processor.process_frame(frame)


class Backgrounds:
    """Makes and keeps the attendees' background processors. `close()` frees the models (safe twice)."""

    def __init__(
        self,
        store: Store,
        media_path: Callable[[str], Path | None],
        *,
        pool_size: int = 2,
        pool: SegmenterPool | None = None,
    ) -> None:
        self._store = store
        self._media_path = media_path
        self._pool = pool if pool is not None else SegmenterPool(pool_size)
        self._processors: dict[int, BackgroundProcessor] = {}  # id(participant) -> its processor
        self._images: OrderedDict[int, np.ndarray] = OrderedDict()
        self._closed = False
        self._warm_task: asyncio.Task[None] | None = None

    @property
    def models_loaded(self) -> int:
        """Segmentation models loaded so far (shared by every attendee's effect)."""
        return self._pool.loaded

    def start(self) -> None:
        """Load the segmentation models in the background now, so that the first attendee to pick a
        background does not see their video stall while a model loads (MediaPipe's first import alone
        takes a second or more of CPU)."""
        if self._warm_task is None and not self._closed:
            self._warm_task = asyncio.create_task(self._warm(), name="sfu-backgrounds-warm")

    async def _warm(self) -> None:
        started = time.perf_counter()
        try:
            loaded = await asyncio.get_running_loop().run_in_executor(None, self._pool.warm)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("could not preload the segmentation models; they load on first use")
            return
        logger.info("%d segmentation model(s) ready in %.1f s", loaded, time.perf_counter() - started)

    async def processor_for(
        self, participant: Participant, background: p.Background, event_id: int
    ) -> FrameProcessor | None:
        """The processor to run on the attendee's video for `background` (None: no processing).

        Raises BackgroundUnavailable (a LookupError) or an effects `EffectError` (a ValueError)."""
        effect = await self._effect(background, event_id, participant.ticket_id)
        if not effect.active:
            return None
        processor = self._processors.get(id(participant))
        if processor is None:
            processor = BackgroundProcessor(segmenters=self._pool)
            self._processors[id(participant)] = processor
        processor.set_effect(effect)
        return _EffectProcessor(processor)

    def release(self, participant: Participant) -> None:
        processor = self._processors.pop(id(participant), None)
        if processor is not None:
            processor.close()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        task, self._warm_task = self._warm_task, None
        if task is not None:
            # A model load under way finishes in its thread; close() below then frees it.
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        for processor in self._processors.values():
            processor.close()
        self._processors.clear()
        # Closing the models may wait for a frame still being segmented: off the event loop.
        await asyncio.get_running_loop().run_in_executor(None, self._pool.close)

    def _load(self, filename: str) -> np.ndarray:
        """Find and decode a stored image (blocking: file system and decoding)."""
        path = self._media_path(filename)
        if path is None:
            raise BackgroundUnavailable(f"the file of background image {filename!r} is missing")
        return load_image(path)

    async def _effect(self, background: p.Background, event_id: int, ticket_id: int) -> BackgroundEffect:
        match background:
            case p.NoBackground():
                return BackgroundEffect.none()
            case p.BlurBackground(strength=strength):
                return BackgroundEffect.blurred(strength)
            case p.ColorBackground(rgb=rgb):
                return BackgroundEffect.solid(rgb)
            case p.ImageBackground(asset_id=asset_id):
                return BackgroundEffect.picture(await self._image(asset_id, event_id, ticket_id))
        raise BackgroundUnavailable(f"unknown background {background!r}")

    async def _image(self, asset_id: int, event_id: int, ticket_id: int) -> np.ndarray:
        asset = await self._store.get_asset(asset_id)
        usable = (
            asset is not None
            and asset.event_id == event_id
            and asset.purpose == "background"
            and asset.kind == "image"
            and asset.ticket_id in (None, ticket_id)
        )
        if asset is None or not usable:
            raise BackgroundUnavailable(f"no background image {asset_id} for you")
        cached = self._images.get(asset_id)
        if cached is not None:
            self._images.move_to_end(asset_id)
            return cached
        loop = asyncio.get_running_loop()
        try:
            image = await loop.run_in_executor(None, self._load, asset.filename)
        except EffectError as exc:
            raise BackgroundUnavailable(f"background image {asset_id} cannot be used: {exc}") from exc
        self._images[asset_id] = image
        while len(self._images) > IMAGE_CACHE_SIZE:
            self._images.popitem(last=False)
        return image
