"""One attendee's incoming video: decoded once, processed once, handed to every receiver.

The pipeline has two stages joined by latest-frame slots, never queues:

    remote track --drain--> [raw slot] --process (only with demand)--> [output slot] --> receivers

* The drain task always reads the remote track as fast as frames come, so aiortc's unbounded queue never
  grows; it keeps only the newest frame.
* With no processor (no background effect), frames go straight to the output slot: no extra work. Receivers
  then take the encoded frames from `relay` instead (see `sfu.relay`), and while all of them can, the
  frames are not even decoded.
* With a processor, the process task runs it (in an executor, off the event loop) on the newest raw frame,
  but only while someone consumes the output: a video nobody receives costs no processing. A slow
  processor lowers the frame rate; the delay stays one frame. `max_fps` caps the processed rate.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import Executor
from typing import Protocol

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from aio import cancel_and_wait, logged_task
from rtc.latest_frame import LatestFrameSlot, SlotClosed
from sfu.relay import Relay

logger = logging.getLogger(__name__)


class FrameProcessor(Protocol):
    """Per-frame video processing (a virtual background). Blocking: always called in an executor."""

    def process(self, frame: av.VideoFrame) -> av.VideoFrame: ...


class VideoSource:
    """The processed video of one attendee, for any number of receivers (see module docstring)."""

    def __init__(self, name: str, executor: Executor | None = None, max_fps: float | None = None) -> None:
        if max_fps is not None and not max_fps > 0:
            raise ValueError(f"max_fps must be positive, got {max_fps!r}")
        self.name = name
        self.max_fps = max_fps
        self.output: LatestFrameSlot[av.VideoFrame] = LatestFrameSlot()
        self.relay = Relay(name)  # the encoded frames, for receivers while no effect is on
        self._raw: LatestFrameSlot[av.VideoFrame] = LatestFrameSlot()
        self._executor = executor
        self._processor: FrameProcessor | None = None
        self._consumers = 0
        self._decoded_consumers = 0  # receivers that cannot take relayed frames
        self._demand = asyncio.Event()
        self._track: MediaStreamTrack | None = None
        self._drain_task: asyncio.Task[None] | None = None
        self._process_task: asyncio.Task[None] | None = None
        self._closed = False
        self.frames_in = 0
        self.frames_processed = 0
        self.process_errors = 0
        self.frames_skipped = 0  # by the frame-rate cap
        self.process_seconds = 0.0  # wall time spent in the processor
        self.last_frame_at: float | None = None
        self._update_decoding()  # nobody watches yet: nothing to decode

    # --- inputs -----------------------------------------------------------------------------------

    @property
    def track(self) -> MediaStreamTrack | None:
        return self._track

    async def attach(self, track: MediaStreamTrack) -> None:
        """Read frames from `track` (replacing any previous track, e.g. after a new peer connection)."""
        if self._closed:
            raise RuntimeError(f"video source {self.name} is closed")
        if track is self._track:
            return
        await self._stop_drain()
        self._track = track
        self._drain_task = logged_task(self._drain(track), name=f"sfu-video-drain-{self.name}", log=logger)

    async def detach(self) -> None:
        """Stop reading the current track (the peer connection went away); receivers keep the last frame."""
        await self._stop_drain()
        self._track = None

    def set_processor(self, processor: FrameProcessor | None) -> None:
        """Switch processing on/off at any time; takes effect from the next frame."""
        if self._closed:
            return
        self._processor = processor
        self._update_decoding()
        if processor is not None and self._process_task is None:
            self._process_task = logged_task(
                self._process(), name=f"sfu-video-process-{self.name}", log=logger
            )

    @property
    def processor(self) -> FrameProcessor | None:
        return self._processor

    # --- receivers --------------------------------------------------------------------------------

    @property
    def consumers(self) -> int:
        return self._consumers

    def add_consumer(self, relayed: bool = False) -> None:
        """A receiver starts watching; `relayed`: it takes the encoded frames while no effect is on."""
        self._consumers += 1
        self._decoded_consumers += not relayed
        self._demand.set()
        self._update_decoding()

    def remove_consumer(self, relayed: bool = False) -> None:
        """A receiver stops watching (with the `relayed` it was added with)."""
        self._consumers = max(0, self._consumers - 1)
        if not relayed:
            self._decoded_consumers = max(0, self._decoded_consumers - 1)
        if self._consumers == 0:
            self._demand.clear()
        self._update_decoding()

    def _update_decoding(self) -> None:
        # Decoded pictures are needed for an effect and for receivers that cannot take relayed VP8.
        self.relay.decode = self._processor is not None or self._decoded_consumers > 0

    # --- lifecycle --------------------------------------------------------------------------------

    async def close(self) -> None:
        """Stop both stages and wake receivers (they fall back to the slate). Safe to call twice."""
        self._closed = True
        await self._stop_drain()
        self._track = None
        task, self._process_task = self._process_task, None
        await cancel_and_wait(task)
        self._raw.close()
        self.output.close()
        await self.relay.close()

    async def _stop_drain(self) -> None:
        task, self._drain_task = self._drain_task, None
        await cancel_and_wait(task)

    async def _drain(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                try:
                    frame = await track.recv()
                except MediaStreamError:
                    logger.debug("video source %s: track ended", self.name)
                    return
                if not isinstance(frame, av.VideoFrame):
                    continue
                self.frames_in += 1
                self.last_frame_at = time.monotonic()
                if self._processor is None:
                    self.output.put(frame)
                else:
                    self._raw.put(frame)
        except SlotClosed:
            return

    async def _process(self) -> None:
        loop = asyncio.get_running_loop()
        seen = 0
        failures_logged = 0
        # Frame-rate cap as a token bucket over arrival times: each frame earns max_fps * its gap in
        # credit; a frame is processed while credit lasts. Frames are taken as they arrive (no waiting,
        # no added delay), and the average rate is the cap even when frames come unevenly.
        credit, last_at = 1.0, None
        try:
            while True:
                await self._demand.wait()
                item = await self._raw.get(seen)
                if not self._demand.is_set():
                    continue  # the last receiver left while we waited; keep the frame for later demand
                seen = item.seq
                processor = self._processor
                if processor is None:
                    continue
                if self.max_fps is not None:
                    gap = 1.0 if last_at is None else item.at - last_at
                    last_at = item.at
                    credit = min(1.5, credit + gap * self.max_fps)
                    if credit < 0.5:
                        self.frames_skipped += 1
                        continue
                    credit -= 1.0
                started = time.perf_counter()
                try:
                    out = await loop.run_in_executor(self._executor, processor.process, item.value)
                except Exception:
                    # A broken effect must not cost the attendee their video: pass the frame through.
                    self.process_errors += 1
                    if failures_logged < 5:
                        failures_logged += 1
                        logger.exception(
                            "video source %s: processing failed; passing frame through", self.name
                        )
                    out = item.value
                self.process_seconds += time.perf_counter() - started
                self.frames_processed += 1
                if not self.output.closed:
                    self.output.put(out)
        except SlotClosed:
            return
