"""Outgoing tracks whose source switches (partner, own preview, slate/silence) with no renegotiation.

The server adds one `SwitchableVideoTrack` and one `SwitchableAudioTrack` to each attendee's peer
connection for their whole stay. When the attendee is matched, the room points them at the partner's
sources; between meetings at the slate and silence. The RTP stream the browser sees never changes: only
the pictures and sound in it do.

Timestamps come from each track's own `MediaClock`, not from the source frames: sources differ (another
attendee's clock, the slate), and a jump backwards in RTP time would make the browser drop or stall video.

A video source with no effect on it is relayed: its encoded frames go out as they came (`av.Packet`s,
see `sfu.relay`), with no decode and re-encode. Whenever the source has an effect, and until the relay
reaches a keyframe if the source is being decoded anyway, the decoded (processed) frames go out
instead; the sender re-encodes those, starting with a keyframe (`sfu.codecs` makes the encoder do so
after relayed frames).
"""

from __future__ import annotations

import asyncio
import fractions
import time
from collections.abc import Callable

import av
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from rtc.latest_frame import SlotClosed
from sfu.audio_source import AudioQueue, AudioSource
from sfu.frames import copy_video_frame
from sfu.relay import RelaySubscription, relay_packet
from sfu.slate import Slate
from sfu.video_source import VideoSource

VIDEO_CLOCK_RATE = 90_000
VIDEO_TIME_BASE = fractions.Fraction(1, VIDEO_CLOCK_RATE)
AUDIO_SAMPLE_RATE = 48_000
AUDIO_TIME_BASE = fractions.Fraction(1, AUDIO_SAMPLE_RATE)
AUDIO_PTIME = 0.020
AUDIO_SAMPLES = int(AUDIO_SAMPLE_RATE * AUDIO_PTIME)

# A source frame older than this when a track switches to it is not shown (it would be a stale picture).
STALE_FRAME_SECONDS = 0.5
# How long a receiver waits for a new frame before re-checking its source (cheap; keeps recv responsive).
SOURCE_POLL_SECONDS = 1.0
# When the partner's audio stalls this long past due, silence fills in so the stream keeps flowing.
AUDIO_STALL_SECONDS = 0.06


class MediaClock:
    """Presentation timestamps for one outgoing track: follows its own monotonic clock, never goes back,
    and never overlaps the previous frame (a frame lasting `duration` ticks pushes the next pts on)."""

    def __init__(self, rate: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self._clock = clock
        self._start: float | None = None
        self._next = 0

    def stamp(self, duration: int = 1) -> int:
        now = self._clock()
        if self._start is None:
            self._start = now
        pts = max(self._next, round((now - self._start) * self.rate))
        self._next = pts + max(duration, 1)
        return pts


class _SwitchableTrack(MediaStreamTrack):
    def __init__(self, clock: Callable[[], float]) -> None:
        super().__init__()
        self._clock = clock
        self._switched: asyncio.Future[None] | None = None
        self._subscription: RelaySubscription | None = None  # the source's relay, while relaying
        self.relay_enabled = False  # set by the connection when the negotiated codec can carry relayed frames
        self.switches = 0
        self.frames_sent = 0
        self.frames_relayed = 0

    def _unsubscribe(self) -> None:
        subscription, self._subscription = self._subscription, None
        if subscription is not None:
            subscription.close()

    def _switched_future(self) -> asyncio.Future[None]:
        if self._switched is None or self._switched.done():
            self._switched = asyncio.get_running_loop().create_future()
        return self._switched

    def _wake(self) -> None:
        if self._switched is not None and not self._switched.done():
            self._switched.set_result(None)
        self._switched = None

    def _check_live(self) -> None:
        if self.readyState != "live":
            raise MediaStreamError

    def stop(self) -> None:
        super().stop()
        self._wake()


class SwitchableVideoTrack(_SwitchableTrack):
    """Video sent to one attendee: frames of the current `VideoSource`, or the slate when there is none."""

    kind = "video"

    def __init__(self, slate: Slate, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(clock)
        self._slate = slate
        self._slate_frame = slate.frame()  # reused: the sender encodes one frame at a time
        self._next_slate_at = 0.0
        self._source: VideoSource | None = None
        self._last_seq = 0
        self._media_clock = MediaClock(VIDEO_CLOCK_RATE, clock)
        self._added_relayed = False  # what the current source was told (see VideoSource.add_consumer)
        self.slate_frames = 0

    @property
    def source(self) -> VideoSource | None:
        return self._source

    def switch_to(self, source: VideoSource | None) -> None:
        """Send `source`'s frames from the next frame on (None: the slate). Idempotent."""
        if source is self._source:
            return
        if self._source is not None:
            self._source.remove_consumer(self._added_relayed)
        self._unsubscribe()
        self._source = source
        self._last_seq = 0
        if source is not None:
            self._added_relayed = self.relay_enabled
            source.add_consumer(self._added_relayed)
            item = source.output.peek()
            if item is not None and item.age > STALE_FRAME_SECONDS:
                self._last_seq = item.seq  # do not show an old picture; wait for a fresh one
        else:
            self._next_slate_at = 0.0  # show the slate at once
        self.switches += 1
        self._wake()

    def stop(self) -> None:
        if self._source is not None:
            self._source.remove_consumer(self._added_relayed)
            self._source = None
        self._unsubscribe()
        super().stop()

    @property
    def relaying(self) -> bool:
        """Whether the frames going out now are the source's own encoded frames."""
        return self._subscription is not None and self._subscription.synced

    def keyframe_requested(self) -> None:
        """The receiver lost pictures (RTCP PLI/FIR): while relaying, only the source can send a keyframe."""
        if self._subscription is not None:
            self._subscription.request_keyframe()

    async def recv(self) -> av.VideoFrame | av.Packet:
        while True:
            self._check_live()
            source = self._source
            if source is not None:
                subscription = self._follow_relay(source)
                if subscription is not None and subscription.synced:
                    data = subscription.pop()
                    if data is not None:
                        self.frames_relayed += 1
                        self.frames_sent += 1
                        return relay_packet(data, self._media_clock.stamp(1))
                    await asyncio.wait(
                        [self._switched_future(), subscription.changed()],
                        timeout=SOURCE_POLL_SECONDS,
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                    continue
                try:
                    item = source.output.latest_after(self._last_seq)
                except SlotClosed:
                    item = None
                    closed = True
                else:
                    closed = False
                if item is not None:
                    self._last_seq = item.seq
                    # The first reader of a frame may stamp it; later readers stamp their own copy.
                    frame = item.value if item.taken == 1 else copy_video_frame(item.value)
                    return self._emit(frame)
                waiters: list[asyncio.Future[None]] = [self._switched_future()]
                if not closed:
                    waiters.append(source.output.changed())
                if subscription is not None:
                    waiters.append(subscription.changed())  # its first keyframe
                await asyncio.wait(waiters, timeout=SOURCE_POLL_SECONDS, return_when=asyncio.FIRST_COMPLETED)
                continue
            now = self._clock()
            if now < self._next_slate_at:
                await asyncio.wait([self._switched_future()], timeout=self._next_slate_at - now)
                continue
            self._next_slate_at = now + 1.0 / self._slate.fps
            self.slate_frames += 1
            return self._emit(self._slate_frame)

    def _follow_relay(self, source: VideoSource) -> RelaySubscription | None:
        """Subscribe to the source's relay while it has no effect on; leave it when it gets one."""
        wanted = self.relay_enabled and source.processor is None
        if not wanted:
            self._unsubscribe()
        elif self._subscription is None or self._subscription.closed:
            self._subscription = source.relay.subscribe()
        return self._subscription

    def _emit(self, frame: av.VideoFrame) -> av.VideoFrame:
        frame.pts = self._media_clock.stamp(1)
        frame.time_base = VIDEO_TIME_BASE
        self.frames_sent += 1
        return frame


class SwitchableAudioTrack(_SwitchableTrack):
    """Audio sent to one attendee: the current `AudioSource`'s frames, or silence, paced at 20 ms.

    With `relay_enabled` (the attendee receives Opus), the source's Opus frames go out as they came;
    silence, and audio that came in another codec, are encoded by the sender. Both carry this track's
    timestamps (see `sfu.codecs`), so they can follow one another in any order.
    """

    kind = "audio"

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(clock)
        self._source: AudioSource | None = None
        self._queue: AudioQueue | None = None
        self._due: float | None = None
        self._media_clock = MediaClock(AUDIO_SAMPLE_RATE, clock)
        self._silence = _silence_frame()
        self._resampler: av.AudioResampler | None = None
        self.silence_frames = 0

    @property
    def source(self) -> AudioSource | None:
        return self._source

    def switch_to(self, source: AudioSource | None) -> None:
        """Send `source`'s audio from now on (None: silence). Idempotent."""
        if source is self._source:
            return
        if self._source is not None and self._queue is not None:
            self._source.unsubscribe(self._queue)
        self._unsubscribe()
        self._source = source
        self._queue = source.subscribe(relayed=self.relay_enabled) if source is not None else None
        if source is not None and self.relay_enabled:
            self._subscription = source.relay.subscribe()
        self.switches += 1
        self._wake()

    def stop(self) -> None:
        self.switch_to(None)
        super().stop()

    @property
    def relaying(self) -> bool:
        return self._subscription is not None

    async def recv(self) -> av.AudioFrame | av.Packet:
        while True:
            self._check_live()
            subscription = self._subscription
            if subscription is not None:
                data = subscription.pop()
                if data is not None:
                    samples = opus_samples(data)
                    self._advance(samples)
                    self.frames_relayed += 1
                    return relay_packet(data, self._media_clock.stamp(samples), AUDIO_TIME_BASE)
            queue = self._queue
            if queue is not None:
                frame = queue.pop()
                if frame is not None:
                    return self._emit(self._normalise(frame))
            now = self._clock()
            if self._due is None:
                due = now
            else:
                due = self._due + (AUDIO_STALL_SECONDS if queue is not None else 0.0)
            if now >= due:
                self.silence_frames += 1
                return self._emit(self._silence)
            waiters: list[asyncio.Future[None]] = [self._switched_future()]
            if queue is not None:
                waiters.append(queue.changed())
            if subscription is not None:
                waiters.append(subscription.changed())
            await asyncio.wait(waiters, timeout=due - now, return_when=asyncio.FIRST_COMPLETED)

    def _normalise(self, frame: av.AudioFrame) -> av.AudioFrame:
        """Keep one format on the wire (s16 stereo 48 kHz, what aiortc's Opus decoder gives)."""
        if (
            frame.format.name == "s16"
            and frame.layout.name == "stereo"
            and frame.sample_rate == AUDIO_SAMPLE_RATE
        ):
            return frame
        if self._resampler is None:
            self._resampler = av.AudioResampler(format="s16", layout="stereo", rate=AUDIO_SAMPLE_RATE)
        frame.pts = None
        out = self._resampler.resample(frame)
        if not out:
            return self._silence
        if len(out) == 1:
            return out[0]
        samples = np.concatenate([f.to_ndarray() for f in out], axis=1)
        joined = av.AudioFrame.from_ndarray(samples, format="s16", layout="stereo")
        joined.sample_rate = AUDIO_SAMPLE_RATE
        return joined

    def _emit(self, frame: av.AudioFrame) -> av.AudioFrame:
        samples = frame.samples
        frame.pts = self._media_clock.stamp(samples)
        frame.time_base = AUDIO_TIME_BASE
        self._advance(samples)
        return frame

    def _advance(self, samples: int) -> None:
        # Pace by a schedule, not by "now + 20 ms", so silence does not drift slower than real time.
        now = self._clock()
        duration = samples / AUDIO_SAMPLE_RATE
        if self._due is None or now - self._due > 0.1:
            self._due = now + duration
        else:
            self._due += duration
        self.frames_sent += 1


def opus_samples(data: bytes) -> int:
    """Samples (at 48 kHz) in one Opus packet, from its TOC byte (RFC 6716 3.1); 20 ms if unreadable."""
    if not data:
        return AUDIO_SAMPLES
    config, code = data[0] >> 3, data[0] & 0x03
    if config < 12:  # SILK: 10, 20, 40, 60 ms
        frame = (480, 960, 1920, 2880)[config % 4]
    elif config < 16:  # hybrid: 10, 20 ms
        frame = (480, 960)[config % 2]
    else:  # CELT: 2.5, 5, 10, 20 ms
        frame = (120, 240, 480, 960)[config % 4]
    if code == 0:
        frames = 1
    elif code in (1, 2):
        frames = 2
    else:
        frames = data[1] & 0x3F if len(data) > 1 else 1
    return frame * max(frames, 1)


def _silence_frame() -> av.AudioFrame:
    frame = av.AudioFrame.from_ndarray(
        np.zeros((1, AUDIO_SAMPLES * 2), dtype=np.int16), format="s16", layout="stereo"
    )
    frame.sample_rate = AUDIO_SAMPLE_RATE
    return frame
