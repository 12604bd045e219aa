"""A scripted attendee: an aiortc client that joins a session like the browser page does.

It opens the signalling WebSocket with a ticket secret, negotiates one peer connection (audio and
video, sendrecv), sends a solid-colour video with a small moving square and a sine tone
(`loadtest.pattern_tracks`), and records what it receives (`loadtest.receive`): protocol messages, a
colour summary of every received video frame, and the loudness and pitch of every received audio frame
(`loadtest.samples`). Tests and the load tester drive it with `ready()`, `leave()`, ...
and wait on what arrives with `wait_for()`, `wait_for_colour()` and `wait_for_tone()`.

    async with SyntheticPeer("http://127.0.0.1:8080", session_id=3, secret="...", colour=(255, 0, 0)) as p:
        await p.ready()
        matched = await p.wait_for("matched")
        await p.wait_for_colour(partner_colour)
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, Self, TypeVar

import aiohttp
import av
from aiortc import (
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from pydantic import BaseModel

from aio import cancel_and_wait
from loadtest.pattern_tracks import PatternVideoTrack, ToneAudioTrack
from loadtest.receive import receive_as_a_browser
from loadtest.samples import AudioSample, VideoSample, summarise_audio, summarise_video
from rtc.latest_frame import LatestFrameSlot
from rtc.peer_connection import close_peer_connection
from wire import protocol as p

logger = logging.getLogger(__name__)

S = TypeVar("S")


class PeerError(Exception):
    """The server refused the peer (an error before `welcome`), or the peer is not connected."""

    def __init__(self, message: str, code: str | None = None, close_code: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.close_code = close_code


class SyntheticPeer:
    """One attendee over WebSocket + aiortc (see module docstring). `close()` is safe to call twice."""

    def __init__(
        self,
        base_url: str,
        session_id: int,
        secret: str,
        *,
        colour: tuple[int, int, int] = (220, 40, 40),
        tone_hz: float = 440.0,
        width: int = 320,
        height: int = 240,
        fps: float = 15.0,
        ice_servers: list[RTCIceServer] | None = None,
        name: str | None = None,
        http: aiohttp.ClientSession | None = None,
        video_track: MediaStreamTrack | Callable[[], MediaStreamTrack] | None = None,
        audio_track: MediaStreamTrack | Callable[[], MediaStreamTrack] | None = None,
        keep_samples: int = 600,
        on_video_frame: Callable[[av.VideoFrame, float], None] | None = None,
        summarise: bool = True,
    ) -> None:
        # A track factory (instead of a track) gives every new peer connection a fresh track: closing a
        # peer connection stops its tracks. `on_video_frame(frame, arrival)` sees every received frame
        # (the load tester reads stamps with it); `summarise=False` skips the colour/tone summaries
        # (and so `wait_for_video`/`wait_for_audio`), which cost CPU a load generator needs elsewhere:
        # received audio is then only counted, as encoded frames, and never decoded.
        self.base_url = base_url.rstrip("/")
        self.session_id = session_id
        self.secret = secret
        self.name = name or f"peer-{secret[:6]}"
        self.colour = colour
        self.tone_hz = tone_hz
        self._video_spec = (width, height, fps)
        self._custom_video = video_track
        self._custom_audio = audio_track
        self._on_video_frame = on_video_frame
        self._summarise = summarise
        self._ice_servers = ice_servers
        self._http = http
        self._own_http = http is None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self.pc: RTCPeerConnection | None = None
        self.video_track: MediaStreamTrack | None = None
        self.audio_track: MediaStreamTrack | None = None
        self.welcome: p.Welcome | None = None
        self.messages: list[p.ServerMessage] = []
        self._cursor = 0
        self._message_waiter: asyncio.Future[None] | None = None
        self.video: deque[VideoSample] = deque(maxlen=keep_samples)
        self.audio: deque[AudioSample] = deque(maxlen=keep_samples)
        self.video_frames = 0
        self.audio_frames = 0
        self._video_slot: LatestFrameSlot[VideoSample] = LatestFrameSlot()
        self._audio_slot: LatestFrameSlot[AudioSample] = LatestFrameSlot()
        self._tasks: set[asyncio.Task[None]] = set()
        self._reader: asyncio.Task[None] | None = None
        self.close_code: int | None = None
        self.ws_closed = asyncio.Event()
        self._closed = False
        self._next_id = 0
        # False simulates a network that silently went away: the server's pings go unanswered.
        self.answer_pings = True

    # --- lifecycle --------------------------------------------------------------------------------

    @property
    def ws_url(self) -> str:
        return f"{self.base_url}/api/sessions/{self.session_id}/ws?t={self.secret}"

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def connect(self, *, negotiate: bool = True, within: float = 10.0) -> p.Welcome:
        """Open the WebSocket, wait for `welcome`, and (by default) negotiate the peer connection.

        Raises PeerError when the server answers with an error instead (bad ticket, session not live...).
        """
        if self._http is None:
            self._http = aiohttp.ClientSession()
        self.ws_closed.clear()
        self.close_code = None
        # Pings are answered by the reader (see `answer_pings`), not by aiohttp.
        self._ws = await self._http.ws_connect(
            self.ws_url, heartbeat=None, autoping=False, max_msg_size=p.MAX_MESSAGE_BYTES * 4
        )
        self._reader = asyncio.create_task(self._read(self._ws), name=f"synthetic-peer-ws-{self.name}")
        first = await self.wait_for(("welcome", "error"), within=within, since=self._cursor)
        if isinstance(first, p.Error):
            await asyncio.wait_for(self.ws_closed.wait(), within)
            raise PeerError(first.message, first.code, self.close_code)
        assert isinstance(first, p.Welcome)
        self.welcome = first
        if negotiate:
            await self.negotiate(within=within)
        return first

    async def negotiate(self, within: float = 10.0, wait_connected: bool = True) -> None:
        """Create a fresh peer connection (closing any previous one), send the offer, apply the answer,
        and (by default) wait until ICE and DTLS are connected."""
        if self.pc is not None:
            await self._close_pc()
        servers = self._ice_servers
        if servers is None:
            welcome_servers = self.welcome.ice_servers if self.welcome else []
            servers = [
                RTCIceServer(urls=s.urls, username=s.username, credential=s.credential)
                for s in welcome_servers
            ]
        pc = RTCPeerConnection(RTCConfiguration(iceServers=servers))
        self.pc = pc
        width, height, fps = self._video_spec
        video, audio = self._custom_video, self._custom_audio
        self.video_track = (video() if callable(video) else video) or PatternVideoTrack(
            self.colour, width, height, fps
        )
        self.audio_track = (audio() if callable(audio) else audio) or ToneAudioTrack(self.tone_hz)

        connected = asyncio.Event()

        @pc.on("connectionstatechange")
        def on_state() -> None:
            if pc.connectionState in ("connected", "failed", "closed"):
                connected.set()

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if self._closed:
                return
            consume = self._consume_video if track.kind == "video" else self._consume_audio
            self._spawn(consume(track), f"synthetic-peer-{track.kind}-{self.name}")

        pc.addTrack(self.audio_track)
        pc.addTrack(self.video_track)
        receive_as_a_browser(pc, None if self._summarise else self._count_encoded_audio)
        offer = await pc.createOffer()
        await pc.setLocalDescription(offer)
        since = len(self.messages)
        await self.send(p.Offer(sdp=pc.localDescription.sdp))
        answer = await self.wait_for(("answer", "error"), within=within, since=since, advance=False)
        if isinstance(answer, p.Error):
            raise PeerError(answer.message, answer.code)
        assert isinstance(answer, p.ServerAnswer)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer.sdp, type="answer"))
        if wait_connected:
            try:
                await asyncio.wait_for(connected.wait(), within)
            except TimeoutError:
                raise PeerError(f"{self.name}: media not connected within {within} s") from None
            if pc.connectionState != "connected":
                raise PeerError(f"{self.name}: media connection {pc.connectionState}")

    async def close(self) -> None:
        """Close the socket (the server sees a drop, as when a tab closes) and the peer connection."""
        self._closed = True
        if self._ws is not None and not self._ws.closed:
            await self._ws.close()
        await cancel_and_wait(self._reader)
        self._reader = None
        await self._close_pc()
        await cancel_and_wait(*self._tasks)
        if self._own_http and self._http is not None:
            await self._http.close()
            self._http = None
        self._video_slot.close()
        self._audio_slot.close()

    async def drop_socket(self) -> None:
        """Close only the WebSocket, abruptly, keeping the peer connection (a signalling-only drop)."""
        if self._ws is not None and not self._ws.closed:
            await self._ws.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)
            self._reader = None

    async def reconnect(self, *, negotiate: bool = True, within: float = 10.0) -> p.Welcome:
        """Come back after `drop_socket()` or `close_media()`: new socket, new peer connection."""
        await self.drop_socket()
        self._closed = False
        return await self.connect(negotiate=negotiate, within=within)

    async def close_media(self) -> None:
        """Close only the peer connection (the server sees the media side fail)."""
        await self._close_pc()

    async def _close_pc(self) -> None:
        pc, self.pc = self.pc, None
        if pc is not None:
            await close_peer_connection(pc)
        for track in (self.video_track, self.audio_track):
            if track is not None:
                track.stop()

    def _spawn(self, coro: Any, name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- signalling ------------------------------------------------------------------------------

    async def send(self, message: BaseModel) -> None:
        await self.send_raw(p.dump(message))

    async def send_raw(self, text: str) -> None:
        """Send any text (tests use it for malformed messages)."""
        if self._ws is None or self._ws.closed:
            raise PeerError(f"{self.name}: not connected")
        await self._ws.send_str(text)

    def _id(self) -> str:
        self._next_id += 1
        return f"{self.name}-{self._next_id}"

    async def hello(self) -> None:
        await self.send(p.Hello(id=self._id()))

    async def ready(self) -> None:
        await self.send(p.Ready(id=self._id()))

    async def unready(self) -> None:
        await self.send(p.Unready(id=self._id()))

    async def leave(self) -> None:
        await self.send(p.Leave(id=self._id()))

    async def extend_offer(self) -> None:
        await self.send(p.ExtendOffer(id=self._id()))

    async def extend_accept(self) -> None:
        await self.send(p.ExtendAccept(id=self._id()))

    async def extend_decline(self) -> None:
        await self.send(p.ExtendDecline(id=self._id()))

    async def connect_request(self, ticket_id: int | None = None) -> None:
        await self.send(p.ConnectRequest(id=self._id(), ticket_id=ticket_id))

    async def connect_accept(self, ticket_id: int | None = None) -> None:
        await self.send(p.ConnectAccept(id=self._id(), ticket_id=ticket_id))

    async def block(self, ticket_id: int | None = None) -> None:
        await self.send(p.Block(id=self._id(), ticket_id=ticket_id))

    async def report(self, reason: str, ticket_id: int | None = None) -> None:
        await self.send(p.Report(id=self._id(), ticket_id=ticket_id, reason=reason))

    async def set_background(self, background: p.Background, preview: bool | None = None) -> None:
        await self.send(p.SetBackground(id=self._id(), background=background, preview=preview))

    async def preview(self, on: bool) -> None:
        await self.send(p.Preview(id=self._id(), on=on))

    async def ping(self) -> None:
        await self.send(p.Ping(id=self._id()))

    async def wait_for(
        self,
        types: str | Sequence[str],
        predicate: Callable[[Any], bool] | None = None,
        *,
        within: float = 10.0,
        since: int | None = None,
        advance: bool = True,
    ) -> p.ServerMessage:
        """The first message of `types` (matching `predicate`) received after position `since`.

        By default the search starts after the last message a previous `wait_for` returned, and moves
        that cursor past the match (`advance=False` leaves it). `since=0` searches the whole history.
        """
        wanted = (types,) if isinstance(types, str) else tuple(types)
        index = self._cursor if since is None else since
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            while index < len(self.messages):
                message = self.messages[index]
                index += 1
                if message.type in wanted and (predicate is None or predicate(message)):
                    if advance:
                        self._cursor = index
                    return message
            remaining = deadline - loop.time()
            if remaining <= 0:
                seen = [m.type for m in self.messages[-10:]]
                raise TimeoutError(f"{self.name}: no {'/'.join(wanted)} within {within} s (last: {seen})")
            if self.ws_closed.is_set():
                raise PeerError(f"{self.name}: socket closed (code {self.close_code}) waiting for {wanted}")
            # The reader resolves this future on every message and when the socket closes.
            await asyncio.wait([self._message_waiter_future()], timeout=remaining)

    def received(self, type_: str) -> list[p.ServerMessage]:
        """All messages of one type received so far."""
        return [m for m in self.messages if m.type == type_]

    def _message_waiter_future(self) -> asyncio.Future[None]:
        if self._message_waiter is None or self._message_waiter.done():
            self._message_waiter = asyncio.get_running_loop().create_future()
        return self._message_waiter

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        try:
            async for msg in ws:
                if msg.type == aiohttp.WSMsgType.PING:
                    if self.answer_pings:
                        await ws.pong(msg.data)
                    continue
                if msg.type != aiohttp.WSMsgType.TEXT:
                    continue
                try:
                    message = p.parse_server(msg.data)
                except p.ProtocolError as exc:
                    logger.warning("%s: unparseable server message (%s): %.200s", self.name, exc, msg.data)
                    continue
                self.messages.append(message)
                if self._message_waiter is not None and not self._message_waiter.done():
                    self._message_waiter.set_result(None)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("%s: socket reader crashed", self.name)
        finally:
            self.close_code = ws.close_code
            self.ws_closed.set()
            if self._message_waiter is not None and not self._message_waiter.done():
                self._message_waiter.set_result(None)

    # --- media ------------------------------------------------------------------------------------

    async def _consume_video(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            if not isinstance(frame, av.VideoFrame):
                continue
            at = time.monotonic()
            self.video_frames += 1
            if self._on_video_frame is not None:
                self._on_video_frame(frame, at)
            if not self._summarise:
                continue
            sample = summarise_video(frame, at)
            self.video.append(sample)
            if not self._video_slot.closed:
                self._video_slot.put(sample)

    def _count_encoded_audio(self) -> None:
        self.audio_frames += 1

    async def _consume_audio(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            if not isinstance(frame, av.AudioFrame):
                continue
            self.audio_frames += 1
            if not self._summarise:
                continue
            sample = summarise_audio(frame, time.monotonic())
            self.audio.append(sample)
            if not self._audio_slot.closed:
                self._audio_slot.put(sample)

    async def wait_for_video(
        self, predicate: Callable[[VideoSample], bool], within: float = 10.0
    ) -> VideoSample:
        """The first video frame received from now on that satisfies `predicate`."""
        return await self._wait_sample(
            self.video, lambda: self.video_frames, self._video_slot, predicate, within
        )

    async def wait_for_colour(
        self, rgb: Sequence[int], tolerance: float = 40.0, within: float = 10.0
    ) -> VideoSample:
        """The first video frame received from now on whose colour is `rgb` (e.g. the partner's)."""
        return await self.wait_for_video(lambda s: s.is_colour(rgb, tolerance), within)

    async def wait_for_audio(
        self, predicate: Callable[[AudioSample], bool], within: float = 10.0
    ) -> AudioSample:
        """The first audio frame received from now on that satisfies `predicate`."""
        return await self._wait_sample(
            self.audio, lambda: self.audio_frames, self._audio_slot, predicate, within
        )

    async def wait_for_tone(self, hz: float, tolerance: float = 60.0, within: float = 10.0) -> AudioSample:
        """The first audio frame received from now on carrying a tone at `hz` (e.g. the partner's)."""
        return await self.wait_for_audio(lambda s: s.rms > 300 and abs(s.frequency - hz) <= tolerance, within)

    async def _wait_sample(
        self,
        samples: deque[S],
        count: Callable[[], int],
        slot: LatestFrameSlot[S],
        predicate: Callable[[S], bool],
        within: float,
    ) -> S:
        # Scan every sample (not just the newest) so the first matching frame's arrival time is exact.
        next_index = count()
        try:
            async with asyncio.timeout(within):
                while True:
                    total = count()
                    first_kept = total - len(samples)
                    for index in range(max(next_index, first_kept), total):
                        sample = samples[index - first_kept]
                        if predicate(sample):
                            return sample
                    next_index = total
                    await asyncio.shield(slot.changed())
        except TimeoutError:
            raise TimeoutError(f"{self.name}: no matching media within {within} s") from None
