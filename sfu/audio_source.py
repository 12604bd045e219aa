"""One attendee's incoming audio, fanned out to its receivers through short bounded queues.

Audio cannot skip to the newest frame like video (every 20 ms chunk is sound), but it must not build up
delay either: each receiver gets a queue of at most `AUDIO_QUEUE_FRAMES` chunks; when a receiver falls
behind, the oldest chunks are dropped.

Receivers that take Opus get the encoded frames from `relay` (see `sfu.relay`), with the same bound;
while all of them do, the audio is not even decoded.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from aio import cancel_and_wait, logged_task
from sfu.frames import copy_audio_frame
from sfu.relay import AUDIO_BACKLOG, Relay

logger = logging.getLogger(__name__)

AUDIO_QUEUE_FRAMES = 5  # 100 ms of 20 ms Opus frames


class AudioQueue:
    """A bounded queue of audio frames for one receiver; waiting goes through a shared future."""

    def __init__(self, maxlen: int = AUDIO_QUEUE_FRAMES) -> None:
        self._frames: deque[av.AudioFrame] = deque()
        self._maxlen = maxlen
        self._waiter: asyncio.Future[None] | None = None
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._frames)

    def put(self, frame: av.AudioFrame) -> None:
        if len(self._frames) >= self._maxlen:
            self._frames.popleft()
            self.dropped += 1
        self._frames.append(frame)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)
        self._waiter = None

    def pop(self) -> av.AudioFrame | None:
        return self._frames.popleft() if self._frames else None

    def changed(self) -> asyncio.Future[None]:
        """A future resolved by the next put()."""
        if self._waiter is None or self._waiter.done():
            self._waiter = asyncio.get_running_loop().create_future()
        return self._waiter


class AudioSource:
    """Reads one attendee's remote audio track and copies each frame into its receivers' queues."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._queues: list[AudioQueue] = []
        self._decoded_queues: set[AudioQueue] = set()  # of receivers that cannot take relayed Opus
        self.relay = Relay(name, "opus", max_backlog=AUDIO_BACKLOG)
        self.relay.decode = False
        self._track: MediaStreamTrack | None = None
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self.frames_in = 0

    @property
    def track(self) -> MediaStreamTrack | None:
        return self._track

    @property
    def consumers(self) -> int:
        return len(self._queues)

    def subscribe(self, relayed: bool = False) -> AudioQueue:
        """A queue of the decoded frames; `relayed`: the receiver takes the Opus frames from `relay`
        and reads this queue only for audio that came in another codec."""
        queue = AudioQueue()
        self._queues.append(queue)
        if not relayed:
            self._decoded_queues.add(queue)
        self.relay.decode = bool(self._decoded_queues)
        return queue

    def unsubscribe(self, queue: AudioQueue) -> None:
        if queue in self._queues:
            self._queues.remove(queue)
        self._decoded_queues.discard(queue)
        self.relay.decode = bool(self._decoded_queues)

    async def attach(self, track: MediaStreamTrack) -> None:
        """Read frames from `track` (replacing any previous one)."""
        if self._closed:
            raise RuntimeError(f"audio source {self.name} is closed")
        if track is self._track:
            return
        await self.detach()
        self._track = track
        self._task = logged_task(self._drain(track), name=f"sfu-audio-drain-{self.name}", log=logger)

    async def detach(self) -> None:
        task, self._task = self._task, None
        self._track = None
        await cancel_and_wait(task)

    async def close(self) -> None:
        """Stop reading; receivers fall back to silence. Safe to call twice."""
        self._closed = True
        await self.detach()
        self._queues.clear()
        self._decoded_queues.clear()
        await self.relay.close()

    async def _drain(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                logger.debug("audio source %s: track ended", self.name)
                return
            if not isinstance(frame, av.AudioFrame):
                continue
            self.frames_in += 1
            # Receivers that take relayed Opus already have this sound when it came as Opus.
            relayed = self.relay.frames_in > 0
            queues = [q for q in self._queues if not relayed or q in self._decoded_queues]
            # Receivers restamp what they get, so each needs its own frame object.
            for i, queue in enumerate(queues):
                queue.put(frame if i == 0 else copy_audio_frame(frame))
