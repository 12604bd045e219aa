"""Test helpers for the media plane: a plain aiortc attendee, the media interface over JSON, and a
recorder of its events.

`MediaClient` is what an attendee's page does with its peer connection, minus the signalling socket: it
sends a solid colour and a sine tone, hands its offer to `answer` (a `MediaPeer`, or the media plane
through `AnswerOffer`), applies the answer and records the colour and pitch of what it receives.
"""

from __future__ import annotations

import asyncio
import fractions
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import av
import numpy as np
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from aio import cancel_and_wait
from loadtest.pattern_tracks import ToneAudioTrack
from loadtest.samples import AudioSample, VideoSample, summarise_audio, summarise_video
from rtc.peer_connection import close_peer_connection
from sfu.interface import (
    Answered,
    AnswerOffer,
    Command,
    EventListener,
    MediaError,
    MediaEvent,
    MediaPlane,
    Refused,
    Reply,
    dump,
    parse_command,
    parse_event,
    parse_reply,
)
from sfu.slate import Slate

S = TypeVar("S")

COLOURS = [(220, 40, 40), (40, 60, 220), (40, 200, 60)]
TONES = [440.0, 1000.0, 700.0]
VIDEO_TIME_BASE = fractions.Fraction(1, 90_000)
AUDIO_RATE = 48_000
AUDIO_SAMPLES = 960  # 20 ms


def slate_colour() -> tuple[int, int, int]:
    """The waiting slate's dominant colour (RGB), as a receiver's summary sees it."""
    median = np.median(Slate().image.reshape(-1, 3), axis=0)
    return int(median[2]), int(median[1]), int(median[0])


# --- what the client sends ------------------------------------------------------------------------


class ColourTrack(MediaStreamTrack):
    """A solid colour, 320x240 at 15 frames a second."""

    kind = "video"

    def __init__(self, rgb: tuple[int, int, int], fps: float = 15.0) -> None:
        super().__init__()
        image = np.empty((240, 320, 3), dtype=np.uint8)
        image[:] = rgb
        self._yuv = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p").to_ndarray()
        self._fps = fps
        self._index = 0
        self._start: float | None = None

    async def recv(self) -> av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        now = time.monotonic()
        if self._start is None:
            self._start = now
        due = self._start + self._index / self._fps
        if due > now:
            await asyncio.sleep(due - now)
        frame = av.VideoFrame.from_ndarray(self._yuv, format="yuv420p")
        frame.pts, frame.time_base = round(self._index * 90_000 / self._fps), VIDEO_TIME_BASE
        self._index += 1
        return frame


Answerer = Callable[[str], Awaitable[str]]


class MediaClient:
    """One attendee's peer connection (see module docstring). `close()` is safe to call twice."""

    def __init__(self, name: str, rgb: tuple[int, int, int], tone_hz: float, answer: Answerer) -> None:
        self.name = name
        self.rgb = rgb
        self.tone_hz = tone_hz
        self._answer = answer
        self.pc: RTCPeerConnection | None = None
        self.video: deque[VideoSample] = deque(maxlen=300)
        self.audio: deque[AudioSample] = deque(maxlen=300)
        self.video_frames = 0
        self.audio_frames = 0
        self._tasks: set[asyncio.Task[None]] = set()

    async def connect(self, within: float = 10.0) -> None:
        """Offer a new peer connection, apply the answer, wait until it is connected; a previous one is
        closed only then (so the server replaces a connection that still works)."""
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        connected = asyncio.Event()

        @pc.on("connectionstatechange")
        def on_state() -> None:
            if pc.connectionState in ("connected", "failed", "closed"):
                connected.set()

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            consume = self._consume_video if track.kind == "video" else self._consume_audio
            task = asyncio.create_task(consume(track), name=f"media-client-{self.name}-{track.kind}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        pc.addTrack(ToneAudioTrack(self.tone_hz))
        pc.addTrack(ColourTrack(self.rgb))
        await pc.setLocalDescription(await pc.createOffer())
        try:
            answer = await self._answer(pc.localDescription.sdp)
            await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
            await asyncio.wait_for(connected.wait(), within)
        except BaseException:
            await close_peer_connection(pc)
            raise
        assert pc.connectionState == "connected", f"{self.name}: media {pc.connectionState}"
        old, self.pc = self.pc, pc
        if old is not None:
            await close_peer_connection(old)

    async def offer(self) -> str:
        """The SDP of a fresh offer (from a peer connection closed again at once)."""
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        try:
            pc.addTrack(ToneAudioTrack(self.tone_hz))
            pc.addTrack(ColourTrack(self.rgb))
            await pc.setLocalDescription(await pc.createOffer())
            return str(pc.localDescription.sdp)
        finally:
            await close_peer_connection(pc)

    async def close(self) -> None:
        pc, self.pc = self.pc, None
        if pc is not None:
            await close_peer_connection(pc)
        await cancel_and_wait(*self._tasks)

    async def _consume_video(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            self.video.append(summarise_video(frame, time.monotonic()))
            self.video_frames += 1

    async def _consume_audio(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            self.audio.append(summarise_audio(frame, time.monotonic()))
            self.audio_frames += 1

    async def wait_for_colour(
        self, rgb: Sequence[int], tolerance: float = 40.0, within: float = 10.0
    ) -> VideoSample:
        """The first video frame received from now on whose colour is `rgb`."""
        return await _wait(
            self.video, lambda: self.video_frames, lambda s: s.is_colour(rgb, tolerance), within, self.name
        )

    async def wait_for_audio(
        self, predicate: Callable[[AudioSample], bool], within: float = 10.0
    ) -> AudioSample:
        return await _wait(self.audio, lambda: self.audio_frames, predicate, within, self.name)

    async def wait_for_tone(self, hz: float, tolerance: float = 60.0, within: float = 10.0) -> AudioSample:
        """The first audio frame received from now on carrying a tone at `hz`."""
        return await self.wait_for_audio(lambda s: s.rms > 300 and abs(s.frequency - hz) <= tolerance, within)


async def _wait(
    samples: deque[S], count: Callable[[], int], predicate: Callable[[S], bool], within: float, name: str
) -> S:
    seen = count()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        total = count()
        fresh = min(total - seen, len(samples))
        for sample in list(samples)[len(samples) - fresh :]:
            if predicate(sample):
                return sample
        seen = total
        if loop.time() > deadline:
            raise AssertionError(f"{name}: no matching media within {within} s")
        await asyncio.sleep(0.01)


# --- the media interface over JSON ----------------------------------------------------------------


class JsonMediaPlane:
    """A media plane seen through its JSON form: every command, reply and event is dumped and parsed
    again on its way, and must come out unchanged (as it would cross a process boundary)."""

    def __init__(self, plane: MediaPlane) -> None:
        self.plane = plane

    async def request(self, command: Command) -> Reply:
        sent = parse_command(dump(command))
        assert sent == command, f"{command!r} changed on the wire: {sent!r}"
        reply = await self.plane.request(sent)
        received = parse_reply(dump(reply))
        assert received == reply, f"{reply!r} changed on the wire: {received!r}"
        return received

    def add_listener(self, listener: EventListener) -> None:
        def on_event(event: MediaEvent) -> None:
            received = parse_event(dump(event))
            assert received == event, f"{event!r} changed on the wire: {received!r}"
            listener(received)

        self.plane.add_listener(on_event)

    def answerer(self, peer: str) -> Answerer:
        """`MediaClient`'s `answer` through `AnswerOffer` (a refusal raises MediaError)."""

        async def answer(sdp: str) -> str:
            reply = await self.request(AnswerOffer(peer=peer, sdp=sdp))
            if isinstance(reply, Refused):
                raise MediaError(reply)
            assert isinstance(reply, Answered)
            return reply.sdp

        return answer


class EventLog:
    """Every event a media plane sends, for a test to wait on."""

    def __init__(self) -> None:
        self.events: list[MediaEvent] = []

    def __call__(self, event: MediaEvent) -> None:
        self.events.append(event)

    def of(self, type_: type[S]) -> list[S]:
        return [event for event in self.events if isinstance(event, type_)]

    async def wait_for_event(self, event: MediaEvent, within: float = 10.0) -> None:
        """Until `event` (an equal one) has been sent."""
        await self.wait_for(lambda sent: sent == event, within)

    async def wait_for(self, predicate: Callable[[MediaEvent], bool], within: float = 10.0) -> MediaEvent:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            for event in self.events:
                if predicate(event):
                    return event
            if loop.time() > deadline:
                raise AssertionError(f"no such event within {within} s; got {self.events!r}")
            await asyncio.sleep(0.01)
