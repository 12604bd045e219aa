"""Forwarding an attendee's encoded media as it came: video with no effect on it, and audio.

Decoding and re-encoding a video nobody changes is most of what an attendee costs the server (the VP8
encode alone is about 4 ms a frame at 640x480). A `Relay` taps the attendee's RTP receiver: each VP8
frame aiortc reassembles (before its decoder thread gets it) is handed to every `RelaySubscription`,
and the receiver's outgoing track sends it on as an `av.Packet`, which aiortc's sender packetizes
without encoding (`Encoder.pack`).

Encoded frames depend on the ones before them, so they are never dropped one by one the way decoded
frames are (see `LatestFrameSlot`): a subscription starts at a keyframe, asks the sender for one
(RTCP PLI, rate-limited) when it needs it, and when its receiver falls `max_backlog` frames behind it
throws the backlog away and starts again at the next keyframe. Until its first keyframe the outgoing
track sends decoded frames where there are any (the video is being decoded anyway); otherwise the
receiver keeps the last picture for the round trip of a keyframe request.

The tap replaces the aiortc receiver's decoder queue with `TappedQueue` before the receiver starts
(aiortc creates its decoder thread with that queue in `RTCRtpReceiver.receive()`). Decoding is the
other large cost, so frames only go on to the decoder while `decode` is set (an effect needs the
pictures, or a receiver cannot take relayed VP8); when it is set again, decoding restarts at a
keyframe (requested at once), since the frames skipped meanwhile are gone. The same restart bounds the
delay when the decoder falls behind: more than `max_decode_backlog` frames waiting are dropped.

Audio goes the same way (`Relay(name, "opus")`): every Opus frame decodes on its own, so each one counts
as a keyframe, a receiver can join anywhere, and none is ever requested.
"""

from __future__ import annotations

import asyncio
import collections
import fractions
import time
from collections.abc import Callable
from typing import Any

import av
from aiortc import RTCRtpReceiver

from aio import cancel_and_wait
from rtc.tap import TappedQueue, tap_receiver

VIDEO_TIME_BASE = fractions.Fraction(1, 90_000)
# Encoded frames a slow receiver may fall behind before its backlog is dropped (a second at 30 fps).
MAX_BACKLOG = 30
# At most one keyframe request to the sender this often (the sender answers each with a large frame).
KEYFRAME_REQUEST_INTERVAL = 0.5
AUDIO_BACKLOG = 5  # 100 ms of 20 ms Opus frames, like the decoded audio queues
# Frames waiting for the decoder thread before they are dropped for a fresh keyframe (about 250 ms of
# video at 30 fps; aiortc's own queue has no bound, so delay would grow without limit).
MAX_DECODE_BACKLOG = 8


def is_vp8_keyframe(data: bytes) -> bool:
    """Whether a reassembled VP8 frame is a keyframe (RFC 6386 9.1: bit 0 of the frame tag is 0)."""
    return len(data) >= 3 and not data[0] & 0x01


def _standalone(data: bytes) -> bool:
    return True


_KEYFRAME_TESTS: dict[str, Callable[[bytes], bool]] = {"vp8": is_vp8_keyframe, "opus": _standalone}


class RelaySubscription:
    """One receiver's queue of encoded frames, from a keyframe on."""

    def __init__(self, relay: Relay, max_backlog: int, standalone: bool = False) -> None:
        self._relay = relay
        self._frames: collections.deque[bytes] = collections.deque()
        self._max_backlog = max_backlog
        self._standalone = standalone  # every frame decodes on its own (audio): drop just the oldest
        self._waiter: asyncio.Future[None] | None = None
        self.synced = False  # a keyframe has been queued since the last (re)start
        self.closed = False
        self.resyncs = 0
        self.dropped = 0

    def push(self, data: bytes, keyframe: bool) -> None:
        if self.closed:
            return
        if not self.synced:
            if not keyframe:
                self._relay.request_keyframe()
                return
            self.synced = True
        elif len(self._frames) >= self._max_backlog and self._standalone:
            self._frames.popleft()
            self.dropped += 1
        elif len(self._frames) >= self._max_backlog:
            # The receiver cannot keep up: skipping frames would corrupt the picture, so start over.
            self._frames.clear()
            self.resyncs += 1
            self.synced = keyframe
            if not keyframe:
                self._relay.request_keyframe()
                return
        self._frames.append(data)
        self._wake()

    def request_keyframe(self) -> None:
        self._relay.request_keyframe()

    def pop(self) -> bytes | None:
        """The next frame to send, or None when none is queued."""
        return self._frames.popleft() if self._frames else None

    def changed(self) -> asyncio.Future[None]:
        """A future resolved by the next frame (or by `close()`)."""
        if self._waiter is None or self._waiter.done():
            self._waiter = asyncio.get_running_loop().create_future()
            if self.closed or self._frames:
                self._waiter.set_result(None)
        return self._waiter

    def close(self) -> None:
        """Stop receiving frames. Safe to call twice."""
        if not self.closed:
            self.closed = True
            self._frames.clear()
            self._relay.unsubscribe(self)
            self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)
        self._waiter = None


class Relay:
    """The encoded video (or audio) of one attendee, for any number of subscriptions (see module
    docstring)."""

    def __init__(
        self,
        name: str,
        codec: str = "vp8",
        *,
        max_backlog: int = MAX_BACKLOG,
        max_decode_backlog: int = MAX_DECODE_BACKLOG,
        keyframe_interval: float = KEYFRAME_REQUEST_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if codec not in _KEYFRAME_TESTS:
            raise ValueError(f"cannot relay {codec!r}; can relay {sorted(_KEYFRAME_TESTS)}")
        self.name = name
        self.codec = codec
        self._is_keyframe = _KEYFRAME_TESTS[codec]
        self._max_backlog = max_backlog
        self._max_decode_backlog = max_decode_backlog
        self._decoder_queue: TappedQueue | None = None
        self._keyframe_interval = keyframe_interval
        self._clock = clock
        self._subscriptions: list[RelaySubscription] = []
        self._receiver: RTCRtpReceiver | None = None
        self._last_request = -float("inf")
        self._requests: set[asyncio.Task[None]] = set()
        self._decoder_synced = False  # the decoder has had a keyframe since decoding (re)started
        self.decode = True
        self.frames_in = 0
        self.keyframes_in = 0
        self.keyframe_requests = 0
        self.decode_backlog_drops = 0

    @property
    def subscriptions(self) -> int:
        return len(self._subscriptions)

    def tap(self, receiver: RTCRtpReceiver, on_frame: Callable[[], None] | None = None) -> None:
        """Look at the encoded frames `receiver` reassembles from now on. Call before the peer
        connection starts receiving (before it connects). `on_frame()` is called for every complete
        frame the receiver hands on, whatever its codec (on the event loop)."""
        tap_receiver(receiver, self.decoder_queue(on_frame))
        self._receiver = receiver

    def decoder_queue(self, on_frame: Callable[[], None] | None = None) -> TappedQueue:
        """A new decoder queue that feeds this relay (`tap()` puts one into the receiver)."""
        if on_frame is None:
            self._decoder_queue = TappedQueue(self._on_frame)
        else:
            relay_frame = self._on_frame

            def tap(codec: Any, encoded_frame: Any) -> bool:
                on_frame()
                return relay_frame(codec, encoded_frame)

            self._decoder_queue = TappedQueue(tap)
        return self._decoder_queue

    def subscribe(self) -> RelaySubscription:
        subscription = RelaySubscription(self, self._max_backlog, standalone=self._is_keyframe is _standalone)
        self._subscriptions.append(subscription)
        self.request_keyframe()
        return subscription

    def unsubscribe(self, subscription: RelaySubscription) -> None:
        if subscription in self._subscriptions:
            self._subscriptions.remove(subscription)

    def push(self, data: bytes) -> bool:
        """Hand one encoded frame to every subscription; returns whether it is a keyframe."""
        keyframe = self._is_keyframe(data)
        self.frames_in += 1
        self.keyframes_in += keyframe
        for subscription in list(self._subscriptions):
            subscription.push(data, keyframe)
        return keyframe

    def request_keyframe(self) -> None:
        """Ask the sender for a keyframe (RTCP PLI), at most once per `keyframe_interval`."""
        receiver = self._receiver
        now = self._clock()
        if receiver is None or now - self._last_request < self._keyframe_interval:
            return
        self._last_request = now
        self.keyframe_requests += 1
        for source in receiver.getSynchronizationSources():
            task = asyncio.get_running_loop().create_task(
                receiver._send_rtcp_pli(source.source), name=f"sfu-relay-pli-{self.name}"
            )
            self._requests.add(task)
            task.add_done_callback(self._requests.discard)

    async def close(self) -> None:
        """End every subscription and wait for keyframe requests in flight. Safe to call twice."""
        for subscription in list(self._subscriptions):
            subscription.close()
        self._receiver = None
        await cancel_and_wait(*self._requests)

    def _on_frame(self, codec: Any, encoded_frame: Any) -> bool:
        """Relay one reassembled frame; returns whether it goes on to the decoder."""
        data = getattr(encoded_frame, "data", None)
        ours = str(getattr(codec, "name", "")).lower() == self.codec
        if not ours or not isinstance(data, bytes) or not data:
            return True  # nothing this relay can forward: decode it as aiortc would
        keyframe = self.push(data)
        if not self.decode:
            self._decoder_synced = False
            return False
        decoder_queue = self._decoder_queue
        if self._decoder_synced and decoder_queue is not None:
            if decoder_queue.qsize() >= self._max_decode_backlog:
                # The decoder cannot keep up (a starved machine): frames waiting for it only grow the
                # delay. Drop them and start again at a keyframe, as a receiver that lost packets does.
                decoder_queue.drop_backlog()
                self.decode_backlog_drops += 1
                self._decoder_synced = False
        if not self._decoder_synced:
            if not keyframe:
                self.request_keyframe()
                return False
            self._decoder_synced = True
        return True


def relay_packet(data: bytes, pts: int, time_base: fractions.Fraction = VIDEO_TIME_BASE) -> av.Packet:
    """An encoded frame as aiortc's sender takes it for `Encoder.pack` (pts in the RTP clock)."""
    packet = av.Packet(data)
    packet.pts = pts
    packet.time_base = time_base
    return packet
