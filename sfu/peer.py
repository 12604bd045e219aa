"""One attendee's media for their whole stay: their sources, their peer connection and what it sends.

A `MediaPeer` lives from `AddPeer` to `RemovePeer` (see `sfu.interface`). It holds:

* the attendee's `VideoSource` and `AudioSource`: their decoded (and processed) camera and their
  microphone, read by whoever receives them. They outlive peer connections, so a partner who reloads
  the page keeps feeding the same sources the other side's tracks already point at;
* the current peer connection (if any), which receives the attendee's camera and microphone into
  those sources and sends one `SwitchableVideoTrack` and one `SwitchableAudioTrack`;
* the route of those outgoing tracks: the waiting slate and silence, the attendee's own processed video
  without audio (background preview), or a partner peer's sources. Every new peer connection gets the
  route at once.

A new offer is applied to a new peer connection first; only once its answer is made does it replace
the current one, so an offer that cannot be applied leaves a working connection as it was.

Events (`PeerStateChanged`, `FirstFrame`) go to `on_event`, on the event loop. They are only sent for
the current peer connection: one replaced or closed by a command says nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor

from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription

from rtc import jitter_buffer
from rtc.peer_connection import close_peer_connection
from sfu.audio_source import AudioSource
from sfu.errors import NegotiationFailed
from sfu.interface import FirstFrame, MediaEvent, PeerStateChanged, RouteTarget
from sfu.negotiation import forward_keyframe_requests, ice_candidate, sends
from sfu.slate import Slate
from sfu.switchable_track import SwitchableAudioTrack, SwitchableVideoTrack
from sfu.video_source import FrameProcessor, VideoSource
from wire.protocol import Background, IceCandidate, NoBackground

logger = logging.getLogger(__name__)

_REPORTED_STATES = ("connected", "failed", "closed")


def _ignore(event: MediaEvent) -> None:
    pass


class PeerClosed(LookupError):
    """The peer was removed: it takes no more commands."""


class MediaPeer:
    """See module docstring. `close()` frees everything (safe twice); the peer is unusable after it."""

    def __init__(
        self,
        peer_id: str,
        *,
        slate: Slate,
        ice_servers: Sequence[RTCIceServer] = (),
        executor: Executor | None = None,
        effect_fps: float | None = None,
        label: str = "",
        on_event: Callable[[MediaEvent], None] = _ignore,
    ) -> None:
        self.id = peer_id
        self.label = label or peer_id
        self._slate = slate
        self._ice_servers = list(ice_servers)
        self._on_event = on_event
        self.video = VideoSource(f"v-{peer_id}", executor, max_fps=effect_fps)
        self.audio = AudioSource(f"a-{peer_id}")
        self.pc: RTCPeerConnection | None = None
        self.video_out: SwitchableVideoTrack | None = None
        self.audio_out: SwitchableAudioTrack | None = None
        self.target: RouteTarget = "slate"
        self.partner: MediaPeer | None = None
        self.background: Background = NoBackground()
        self.lock = asyncio.Lock()  # held by whoever carries out a command for this peer
        self.closed = False
        self.offers_answered = 0
        self.last_frame_at: float | None = None  # monotonic time of the last frame on the current connection
        self.silent = False
        self._frames_out_before = 0  # video frames sent on peer connections already gone

    # --- figures ----------------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """Whether the current peer connection is up."""
        return self.pc is not None and self.pc.connectionState == "connected"

    @property
    def has_effect(self) -> bool:
        """Whether a background effect runs on the attendee's video."""
        return self.video.processor is not None

    @property
    def video_frames_in(self) -> int:
        """Video frames received from the attendee (decoded, or relayed without decoding)."""
        return max(self.video.frames_in, self.video.relay.frames_in)

    @property
    def video_frames_out(self) -> int:
        """Video frames sent to the attendee, over every peer connection of their stay."""
        current = self.video_out.frames_sent if self.video_out is not None else 0
        return self._frames_out_before + current

    # --- commands ---------------------------------------------------------------------------------

    async def answer(self, sdp: str) -> str:
        """Answer the attendee's offer with a new peer connection, which then replaces the current one;
        returns the answer SDP. Raises NegotiationFailed (the current connection is left as it was)."""
        self._check_open()
        pc = RTCPeerConnection(RTCConfiguration(iceServers=self._ice_servers))
        self._report_states(pc)
        video_out: SwitchableVideoTrack | None = None
        audio_out: SwitchableAudioTrack | None = None
        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
            kinds = {transceiver.kind for transceiver in pc.getTransceivers()}
            if not kinds & {"audio", "video"}:
                raise NegotiationFailed("the offer has neither audio nor video")
            if "video" in kinds:
                video_out = SwitchableVideoTrack(self._slate)
                forward_keyframe_requests(pc.addTrack(video_out), video_out.keyframe_requested)
            if "audio" in kinds:
                audio_out = SwitchableAudioTrack()
                pc.addTrack(audio_out)
            await pc.setLocalDescription(await pc.createAnswer())
            answer = str(pc.localDescription.sdp)
            # Relaying needs the codec the partner's media came in: VP8 and Opus, what browsers send.
            # (Set before the route subscribes the tracks to a source: it subscribes as the flag says.)
            if video_out is not None:
                video_out.relay_enabled = sends(answer, "video", "video/vp8")
            if audio_out is not None:
                audio_out.relay_enabled = sends(answer, "audio", "audio/opus")
            if self.closed:
                raise PeerClosed(f"peer {self.id} was removed")
        except BaseException as exc:
            for track in (video_out, audio_out):
                if track is not None:
                    track.stop()
            await self._close_quietly(pc)
            if isinstance(exc, NegotiationFailed | PeerClosed) or not isinstance(exc, Exception):
                raise
            raise NegotiationFailed(f"could not apply the offer: {exc or type(exc).__name__}") from exc
        # From here on the new connection is the peer's. No await until its receivers are set up: aiortc
        # starts receiving once ICE and DTLS are up, and the taps must be in place before that.
        old = self.pc, self.video_out, self.audio_out
        self.pc, self.video_out, self.audio_out = pc, video_out, audio_out
        self.last_frame_at, self.silent = None, False
        self.offers_answered += 1
        tracks = []
        for transceiver in pc.getTransceivers():
            kind = transceiver.kind
            if kind not in ("audio", "video"):
                continue
            # Each frame goes on once it is complete, not one frame (audio: four) later.
            jitter_buffer.install(transceiver.receiver, kind)
            source = self.video if kind == "video" else self.audio
            source.relay.tap(transceiver.receiver, on_frame=self._first_frame_watch(pc, kind))
            tracks.append((kind, transceiver.receiver.track))
        self._apply_route()
        try:
            for kind, incoming in tracks:
                if kind == "video":
                    await self.video.attach(incoming)
                else:
                    await self.audio.attach(incoming)
        finally:
            await self._close_connection(*old)
        return answer

    async def add_ice_candidate(self, candidate: IceCandidate | None) -> None:
        """Apply a trickled candidate from the attendee (end-of-candidates needs nothing)."""
        self._check_open()
        if candidate is None or not candidate.candidate:
            return
        if self.pc is None:
            raise NegotiationFailed("no peer connection yet: send an offer first")
        ice = ice_candidate(candidate)
        try:
            await self.pc.addIceCandidate(ice)
        except Exception as exc:
            raise NegotiationFailed(f"could not add the ICE candidate: {exc}") from exc

    def route(self, target: RouteTarget, partner: MediaPeer | None = None) -> None:
        """What the outgoing tracks carry from now on (and on every later peer connection)."""
        self._check_open()
        if (target == "partner") != (partner is not None):
            raise ValueError("a partner is named exactly when routing to a partner")
        if partner is self:
            raise ValueError("a peer cannot be routed to itself")
        self.target, self.partner = target, partner
        self._apply_route()

    def set_processor(self, processor: FrameProcessor | None, background: Background) -> None:
        """Run `processor` on the attendee's video from the next frame (None: no effect)."""
        self._check_open()
        self.video.set_processor(processor)
        self.background = background

    async def close_pc(self) -> None:
        """Close the peer connection (if any) without an event; sources, route and effect stay."""
        old = self.pc, self.video_out, self.audio_out
        self.pc = self.video_out = self.audio_out = None
        self.last_frame_at, self.silent = None, False
        await self._close_connection(*old)

    async def close(self) -> None:
        """Close the peer connection and the sources (receivers fall back to the slate and silence)."""
        self.closed = True
        self.partner = None
        await self.close_pc()
        await self.video.close()
        await self.audio.close()

    # --- internals --------------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self.closed:
            raise PeerClosed(f"peer {self.id} was removed")

    def _apply_route(self) -> None:
        partner = self.partner
        if self.target == "partner" and partner is not None:
            video: VideoSource | None = partner.video
            audio: AudioSource | None = partner.audio
        elif self.target == "preview":
            video, audio = self.video, None  # their own processed video, no echo of their voice
        else:
            video, audio = None, None
        if self.video_out is not None:
            self.video_out.switch_to(video)
        if self.audio_out is not None:
            self.audio_out.switch_to(audio)

    def _report_states(self, pc: RTCPeerConnection) -> None:
        @pc.on("connectionstatechange")
        def on_state() -> None:
            state = pc.connectionState
            if pc is self.pc and not self.closed and state in _REPORTED_STATES:
                logger.info("%s: peer connection %s", self.label, state)
                self._on_event(PeerStateChanged(peer=self.id, state=state))

    def _first_frame_watch(self, pc: RTCPeerConnection, kind: str) -> Callable[[], None]:
        seen = False

        def on_frame() -> None:
            nonlocal seen
            if pc is not self.pc or self.closed:
                return
            self.last_frame_at = time.monotonic()
            if self.silent:
                self.silent = False
                logger.info("%s: media flows again", self.label)
                self._on_event(PeerStateChanged(peer=self.id, state="connected"))
            if not seen:
                seen = True
                self._on_event(FirstFrame(peer=self.id, kind="video" if kind == "video" else "audio"))

        return on_frame

    def check_silence(self, now: float, after: float) -> None:
        """Report the peer `silent` when its connection is up but no frame has come for `after` seconds
        (its network went quiet: nothing closes, packets just stop); `connected` follows when frames come
        again. `now` is `time.monotonic()`."""
        if self.silent or self.closed or self.last_frame_at is None or not self.connected:
            return
        if now - self.last_frame_at > after:
            self.silent = True
            logger.info("%s: no media for %.1f s", self.label, now - self.last_frame_at)
            self._on_event(PeerStateChanged(peer=self.id, state="silent"))

    async def _close_connection(
        self,
        pc: RTCPeerConnection | None,
        video_out: SwitchableVideoTrack | None,
        audio_out: SwitchableAudioTrack | None,
    ) -> None:
        if video_out is not None:
            self._frames_out_before += video_out.frames_sent
            video_out.stop()
        if audio_out is not None:
            audio_out.stop()
        if pc is not None:
            await self._close_quietly(pc)

    async def _close_quietly(self, pc: RTCPeerConnection) -> None:
        try:
            await close_peer_connection(pc)
        except Exception:
            logger.exception("%s: closing a peer connection failed", self.label)
