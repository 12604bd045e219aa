"""One attendee's live connection: the signalling WebSocket and the peer connection negotiated over it.

Messages to the client go through a bounded outbox drained by a sender task, so a client that stops
reading can never stall the room (it is dropped when its outbox overflows).

The peer connection receives the attendee's camera and microphone (attached to the attendee's
`VideoSource`/`AudioSource`) and sends one `SwitchableVideoTrack` and one `SwitchableAudioTrack`; the
room points those at whatever the attendee should see and hear. A new offer replaces the peer
connection (e.g. after a network change); nothing else ever renegotiates.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from aiohttp import web
from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.sdp import SessionDescription, candidate_from_sdp
from pydantic import BaseModel

from rtc import jitter_buffer
from rtc.peer_connection import close_peer_connection
from sfu.audio_source import AudioSource
from sfu.errors import NegotiationFailed
from sfu.slate import Slate
from sfu.switchable_track import SwitchableAudioTrack, SwitchableVideoTrack
from sfu.video_source import VideoSource
from wire import protocol as p

logger = logging.getLogger(__name__)

_CLOSE_SENTINEL = object()


class AttendeeConnection:
    """A WebSocket plus (once negotiated) a peer connection. `close()` is safe to call twice."""

    def __init__(
        self,
        ws: web.WebSocketResponse,
        name: str,
        *,
        ice_servers: list[RTCIceServer],
        slate: Slate,
        outbox_size: int = 512,
        on_media_failed: Callable[[AttendeeConnection], None] | None = None,
    ) -> None:
        self.ws = ws
        self.name = name
        self._ice_servers = ice_servers
        self._slate = slate
        self._outbox: asyncio.Queue[str | object] = asyncio.Queue(maxsize=outbox_size)
        self._sender = asyncio.create_task(self._send_loop(), name=f"sfu-ws-send-{name}")
        self._on_media_failed = on_media_failed
        self.pc: RTCPeerConnection | None = None
        self.video_out: SwitchableVideoTrack | None = None
        self.audio_out: SwitchableAudioTrack | None = None
        self.media_failed = False
        self.closed = False
        self.bad_messages = 0
        self.messages_sent = 0

    # --- signalling -------------------------------------------------------------------------------

    def send(self, message: BaseModel) -> None:
        """Queue a message for the client; never blocks. A client whose outbox overflows is dropped."""
        if self.closed:
            return
        try:
            self._outbox.put_nowait(p.dump(message))
        except asyncio.QueueFull:
            logger.warning("%s: client is not reading its messages; dropping the connection", self.name)
            self.closed = True
            # The sender task closes the socket; the handler's read loop then ends as for any drop.
            self._sender.cancel()

    def send_error(self, code: p.ErrorCode, message: str, ref: str | None = None) -> None:
        self.send(p.Error(code=code, message=message, ref=ref))

    async def close(self, code: int = 1000, message: str = "") -> None:
        """Flush queued messages (briefly), close the socket with `code`, close the peer connection."""
        if not self.closed:
            self.closed = True
            with contextlib.suppress(asyncio.QueueFull):
                self._outbox.put_nowait(_CLOSE_SENTINEL)
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(self._sender), 1.0)
        self._sender.cancel()
        await asyncio.gather(self._sender, return_exceptions=True)
        if not self.ws.closed:
            with contextlib.suppress(Exception):
                await self.ws.close(code=code, message=message.encode()[:120])
        await self.close_pc()

    async def _send_loop(self) -> None:
        try:
            while True:
                item = await self._outbox.get()
                if item is _CLOSE_SENTINEL:
                    return
                assert isinstance(item, str)
                if self.ws.closed:
                    continue
                await self.ws.send_str(item)
                self.messages_sent += 1
        except asyncio.CancelledError:
            if not self.ws.closed and self.closed:
                # Dropped for not reading: close the socket so the read loop ends.
                with contextlib.suppress(Exception):
                    await self.ws.close(code=p.CloseCode.PROTOCOL_ERROR, message=b"not reading")
            raise
        except (ConnectionError, RuntimeError) as exc:
            logger.info("%s: socket send failed: %s", self.name, exc)
        except Exception:
            logger.exception("%s: sender loop crashed", self.name)

    # --- media ------------------------------------------------------------------------------------

    async def negotiate(self, sdp: str, video_in: VideoSource, audio_in: AudioSource) -> str:
        """Answer the client's offer with a fresh peer connection; returns the answer SDP."""
        await self.close_pc()
        self.media_failed = False
        pc = RTCPeerConnection(RTCConfiguration(iceServers=self._ice_servers))
        self.pc = pc

        @pc.on("connectionstatechange")
        def on_state() -> None:
            if pc is self.pc and pc.connectionState in ("failed", "closed") and not self.closed:
                logger.info("%s: peer connection %s", self.name, pc.connectionState)
                self.media_failed = True
                if self._on_media_failed is not None:
                    self._on_media_failed(self)

        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
            video_out = SwitchableVideoTrack(self._slate)
            audio_out = SwitchableAudioTrack()
            kinds = set()
            for transceiver in pc.getTransceivers():
                kinds.add(transceiver.kind)
                track = transceiver.receiver.track
                if transceiver.kind in ("audio", "video"):
                    # Each frame goes on once it is complete, not one frame (audio: four) later.
                    jitter_buffer.install(transceiver.receiver, transceiver.kind)
                if transceiver.kind == "video":
                    video_in.relay.tap(transceiver.receiver)
                    await video_in.attach(track)
                elif transceiver.kind == "audio":
                    audio_in.relay.tap(transceiver.receiver)
                    await audio_in.attach(track)
            if not kinds & {"audio", "video"}:
                raise NegotiationFailed("the offer has neither audio nor video")
            if "video" in kinds:
                forward_keyframe_requests(pc.addTrack(video_out), video_out.keyframe_requested)
            if "audio" in kinds:
                pc.addTrack(audio_out)
            answer = await pc.createAnswer()
            await pc.setLocalDescription(answer)
            # Relaying needs the codec the partner's media came in: VP8 and Opus, what browsers send.
            # (Set before the room can see the tracks: a source is subscribed to as the flag says.)
            video_out.relay_enabled = sends(pc.localDescription.sdp, "video", "video/vp8")
            audio_out.relay_enabled = sends(pc.localDescription.sdp, "audio", "audio/opus")
            if "video" in kinds:
                self.video_out = video_out
            if "audio" in kinds:
                self.audio_out = audio_out
        except NegotiationFailed:
            await self.close_pc()
            raise
        except Exception as exc:
            await self.close_pc()
            raise NegotiationFailed(f"could not apply the offer: {exc or type(exc).__name__}") from exc
        return str(pc.localDescription.sdp)

    async def add_ice_candidate(self, candidate: p.IceCandidate | None) -> None:
        """Apply a trickled candidate from the client (end-of-candidates needs nothing)."""
        if candidate is None or not candidate.candidate:
            return
        if self.pc is None:
            raise NegotiationFailed("no peer connection yet: send an offer first")
        text = candidate.candidate
        if text.startswith("candidate:"):
            text = text[len("candidate:") :]
        try:
            ice = candidate_from_sdp(text)
        except Exception as exc:  # aiortc's parser asserts on malformed input
            raise NegotiationFailed(f"malformed ICE candidate: {candidate.candidate[:80]!r}") from exc
        ice.sdpMid = candidate.sdpMid
        ice.sdpMLineIndex = candidate.sdpMLineIndex
        try:
            await self.pc.addIceCandidate(ice)
        except Exception as exc:
            raise NegotiationFailed(f"could not add the ICE candidate: {exc}") from exc

    async def close_pc(self) -> None:
        """Close the peer connection and stop the outgoing tracks. Safe to call twice."""
        pc, self.pc = self.pc, None
        for track in (self.video_out, self.audio_out):
            if track is not None:
                track.stop()
        self.video_out = self.audio_out = None
        if pc is not None:
            try:
                await close_peer_connection(pc)
            except Exception:
                logger.exception("%s: closing the peer connection failed", self.name)


def sends(answer_sdp: str, kind: str, mime_type: str) -> bool:
    """Whether the `kind` media this answer sends uses `mime_type` (the first codec of its section).
    Only then can the relay forward what the partner sent; otherwise the server re-encodes."""
    for media in SessionDescription.parse(answer_sdp).media:
        if media.kind == kind and media.rtp.codecs:
            return media.rtp.codecs[0].mimeType.lower() == mime_type
    return False


def forward_keyframe_requests(sender: RTCRtpSender, callback: Callable[[], None]) -> None:
    """Call `callback` too when the receiver asks `sender` for a keyframe (RTCP PLI or FIR): the
    sender's own encoder can only answer for frames it encodes, not for relayed ones."""
    own = sender._send_keyframe

    def send_keyframe() -> None:
        own()
        callback()

    sender._send_keyframe = send_keyframe  # type: ignore[method-assign]
