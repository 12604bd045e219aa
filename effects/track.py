"""`EffectTrack`: an aiortc video track that applies an attendee's background effect to another track.

A reader task drains the source track as fast as frames arrive and keeps only the newest one, so neither
aiortc's unbounded receive queue nor the delay can build up behind a slow effect: when processing falls
behind, frames are skipped (a lower frame rate, never a growing delay). `recv()` takes the newest frame
and runs the effect on it in a worker thread, never on the event loop. With the effect off, frames pass
through untouched (same objects, no pixel work). Timestamps (pts, time base) are kept.

A frame the effect fails on is passed through unprocessed and the failure logged (once per kind of
error), so a broken effect never costs the attendee their video.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Executor, Future, ThreadPoolExecutor

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from effects.background import BackgroundEffect
from effects.processor import BackgroundProcessor

logger = logging.getLogger(__name__)


class EffectTrack(MediaStreamTrack):
    """Video of `source` with a background effect; switch it any time with `set_effect()`.

    `processor` (made from `effect` when not given) holds the per-stream state and is owned by the
    track; `executor` runs the per-frame work (by default a thread of the track's own). The source
    track is not stopped by this track: its owner decides. `stop()` (aiortc's synchronous hook) ends
    the track and releases everything; `close()` does so and awaits it.
    """

    kind = "video"

    def __init__(
        self,
        source: MediaStreamTrack,
        effect: BackgroundEffect | None = None,
        *,
        processor: BackgroundProcessor | None = None,
        executor: Executor | None = None,
    ) -> None:
        super().__init__()
        if source.kind != "video":
            raise ValueError(f"EffectTrack needs a video track, got {source.kind!r}")
        self.source = source
        self.processor = processor if processor is not None else BackgroundProcessor()
        if effect is not None:
            self.processor.set_effect(effect)
        self._own_executor = executor is None
        self._executor: Executor = (
            executor if executor is not None else ThreadPoolExecutor(1, thread_name_prefix="effects")
        )
        self._latest: av.VideoFrame | None = None
        self._arrived: asyncio.Event | None = None
        self._reader: asyncio.Task[None] | None = None
        self._source_ended = False
        self._released: Future[None] | None = None
        self._logged_errors: set[type[BaseException]] = set()
        self.frames_in = 0
        self.frames_out = 0
        self.frames_dropped = 0  # replaced by a newer frame before recv() took them
        self.frames_processed = 0
        self.errors = 0

    @property
    def effect(self) -> BackgroundEffect:
        return self.processor.effect

    def set_effect(self, effect: BackgroundEffect) -> None:
        """Apply `effect` from the next frame on; an invalid one raises and the current effect stays."""
        self.processor.set_effect(effect)

    async def recv(self) -> av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        frame = await self._next_frame()
        if self.processor.effect.active:
            loop = asyncio.get_running_loop()
            try:
                frame = await loop.run_in_executor(self._executor, self.processor.process_frame, frame)
                self.frames_processed += 1
            except Exception as exc:
                if self.readyState != "live":  # stopped meanwhile: the processor is being released
                    raise MediaStreamError from exc
                self.errors += 1
                if type(exc) not in self._logged_errors:
                    self._logged_errors.add(type(exc))
                    logger.exception("background effect failed; passing frames through unprocessed")
        self.frames_out += 1
        return frame

    def stop(self) -> None:
        """End the track (aiortc's synchronous hook): cancel the reader and release the processor once
        any frame in flight is done. `close()` does the same and awaits both."""
        super().stop()
        if self._reader is not None:
            self._reader.cancel()
        if self._arrived is not None:
            self._arrived.set()  # wake a waiting recv() so it sees the end
        if self._released is None:
            try:
                # Queued behind any frame still being processed (the processor's lock orders it too).
                self._released = self._executor.submit(self.processor.close)
            except RuntimeError:  # a shared executor already shut down by its owner
                self.processor.close()
                self._released = Future()
                self._released.set_result(None)
            if self._own_executor:
                self._executor.shutdown(wait=False)

    async def close(self) -> None:
        """Stop, then await the reader task and the processor's release. Safe to call twice."""
        self.stop()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)
        assert self._released is not None
        await asyncio.wrap_future(self._released)

    # --- reading the source -----------------------------------------------------------------------

    async def _next_frame(self) -> av.VideoFrame:
        if self._arrived is None:
            self._arrived = asyncio.Event()
        if self._reader is None:
            self._reader = asyncio.create_task(self._read(), name=f"effect-track-reader-{self.id}")
        while self._latest is None:
            if self._source_ended or self.readyState != "live":
                self.stop()
                raise MediaStreamError
            self._arrived.clear()
            await self._arrived.wait()
        frame, self._latest = self._latest, None
        return frame

    async def _read(self) -> None:
        assert self._arrived is not None
        try:
            while True:
                frame = await self.source.recv()
                if not isinstance(frame, av.VideoFrame):
                    raise TypeError(f"source track gave {type(frame).__name__}, not a video frame")
                if self._latest is not None:
                    self.frames_dropped += 1
                self._latest = frame
                self.frames_in += 1
                self._arrived.set()
        except MediaStreamError:
            pass  # the source ended
        except Exception:
            logger.exception("reading the source track of an effect track failed")
        finally:
            self._source_ended = True
            self._arrived.set()
