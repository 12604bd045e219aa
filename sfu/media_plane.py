"""The media plane in this process: `LocalMediaPlane` carries out the media interface's commands.

It implements `sfu.interface.MediaPlane` over `MediaPeer`s (see `sfu.peer`) and owns what they share:
the waiting slate, the background effects (`Backgrounds`) and the thread pool the effects run on. Every
failure of a command becomes a `Refused` reply, never an exception.

Each command runs as a task of the plane's own, shielded from its caller: a command that was sent is
carried out even if the caller stops waiting for its reply (as it would be across a process boundary),
and `stop()` ends the ones still running. Commands addressed to one peer run one after another in the
order they were sent (a lock per peer, taken before the task's first await). `RemovePeer` routes the
peers that received the removed one to the slate.

Every `LOAD_SECONDS` the plane reports its `Load`: peers, peers with a background effect, the process's
CPU seconds, and the share of the interval the event loop's thread was busy (its CPU time over the wall
time: the loop runs all of aiortc's per-packet work, which no other thread can share).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from aiortc import RTCIceServer

from aio import cancel_and_wait, log_crash, logged_task, repeat
from rtc import patches
from sfu.backgrounds import Backgrounds, BackgroundUnavailable
from sfu.codecs import SERVER_CODECS
from sfu.errors import NegotiationFailed
from sfu.interface import (
    AddIceCandidate,
    AddPeer,
    Answered,
    AnswerOffer,
    ClosePeerConnection,
    Command,
    EventListener,
    GetStats,
    Load,
    MediaEvent,
    Ok,
    Refused,
    RemovePeer,
    Reply,
    Route,
    SetBackground,
    Stats,
)
from sfu.metrics import MediaMetrics
from sfu.peer import MediaPeer, PeerClosed
from sfu.slate import Slate
from sfu.video_source import FrameProcessor
from wire.protocol import IceServer

logger = logging.getLogger(__name__)

LOAD_SECONDS = 2.0
# A connected peer from whom no frame came for this long is reported `silent` (checked this often).
SILENCE_SECONDS = 3.0
SILENCE_CHECK_SECONDS = 0.5


def _unknown(peer: str) -> Refused:
    return Refused(code="unknown_peer", message=f"No media peer {peer!r}")


class LocalMediaPlane:
    """See module docstring. `start()` once; `stop()` cancels and awaits everything (safe twice)."""

    def __init__(
        self,
        *,
        ice_servers: list[IceServer],
        slate_text: str = "Waiting for your next match",
        effect_fps: float | None = None,
        image_path: Callable[[str], Path | None] | None = None,  # None: backgrounds off
        worker: str = "local",
        preload_effects: bool = False,
        metrics: MediaMetrics | None = None,
        effect_threads: int | None = None,  # None: ThreadPoolExecutor's default
        load_seconds: float = LOAD_SECONDS,
        silence_seconds: float = SILENCE_SECONDS,
    ) -> None:
        if effect_fps is not None and not effect_fps > 0:
            raise ValueError(f"effect_fps must be positive, got {effect_fps!r}")
        if not load_seconds > 0:
            raise ValueError(f"load_seconds must be positive, got {load_seconds!r}")
        self.worker = worker
        self._ice_servers = [
            RTCIceServer(urls=list(s.urls), username=s.username, credential=s.credential) for s in ice_servers
        ]
        self._slate = Slate(slate_text)
        self._effect_fps = effect_fps
        self._image_path = image_path
        self._preload_effects = preload_effects
        self._metrics = metrics
        self._effect_threads = effect_threads
        self._load_seconds = load_seconds
        self._peers: dict[str, MediaPeer] = {}
        self._listeners: list[EventListener] = []
        self._commands: set[asyncio.Task[Reply]] = set()
        self._executor: ThreadPoolExecutor | None = None
        self._backgrounds: Backgrounds | None = None
        self._load_task: asyncio.Task[None] | None = None
        self._silence_seconds = silence_seconds
        self._watch_task: asyncio.Task[None] | None = None
        self._load_at = 0.0  # monotonic time of the last load report
        self._load_cpu = 0.0  # CPU time of the loop's thread then
        self._started = False
        self._stopped = False

    # --- lifecycle --------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._started and not self._stopped

    async def start(self) -> None:
        if self._started:
            return
        self._started = True
        # The codec wrappers also make relayed and encoded media follow one another cleanly (a keyframe
        # after relayed video, one clock for relayed and encoded audio), and VP8 is encoded with the
        # server's own settings.
        timing = patches.install(SERVER_CODECS)
        patches.install(patches.SPEEDUPS)
        if self._metrics is not None:
            self._metrics.register_codecs(timing)
        self._executor = ThreadPoolExecutor(self._effect_threads, thread_name_prefix="sfu-effect")
        if self._image_path is not None:
            self._backgrounds = Backgrounds(self._image_path, executor=self._executor)
            if self._preload_effects:
                self._backgrounds.start()
        self._load_at, self._load_cpu = time.monotonic(), time.thread_time()
        self._load_task = logged_task(self._report_load_forever(), name="sfu-media-load", log=logger)
        self._watch_task = logged_task(
            repeat(self._watch_silence, SILENCE_CHECK_SECONDS, log=logger, what="silence check"),
            name="sfu-media-silence",
            log=logger,
        )

    async def stop(self) -> None:
        """End running commands and the load reports, close every peer, free the effects."""
        if self._stopped:
            return
        self._stopped = True
        await cancel_and_wait(self._load_task, self._watch_task, *self._commands)
        self._load_task = self._watch_task = None
        peers, self._peers = list(self._peers.values()), {}
        await asyncio.gather(*(self._close(peer) for peer in peers), return_exceptions=True)
        if self._backgrounds is not None:
            await self._backgrounds.close()
        executor, self._executor = self._executor, None
        if executor is not None:
            # Waits for an effect frame still in a worker (its task is gone): off the event loop.
            await asyncio.to_thread(executor.shutdown, wait=True)
        self._listeners.clear()

    # --- the media interface ----------------------------------------------------------------------

    def add_listener(self, listener: EventListener) -> None:
        self._listeners.append(listener)

    async def request(self, command: Command) -> Reply:
        if not self.running:
            return Refused(code="internal", message="The media plane is not running")
        task = asyncio.create_task(self._carry_out(command), name=f"sfu-media-{command.type}")
        self._commands.add(task)
        task.add_done_callback(self._commands.discard)
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            caller = asyncio.current_task()
            if task.cancelled() and (caller is None or not caller.cancelling()):
                # stop() ended the command, not the caller's own cancellation.
                return Refused(code="internal", message="The media plane stopped")
            raise

    # --- for the server's own figures and tests ---------------------------------------------------

    def peer(self, peer_id: str) -> MediaPeer | None:
        return self._peers.get(peer_id)

    @property
    def peer_count(self) -> int:
        return len(self._peers)

    @property
    def backgrounds(self) -> Backgrounds | None:
        """The background effects (None: off, or not started)."""
        return self._backgrounds

    @property
    def executor(self) -> ThreadPoolExecutor | None:
        """The pool the background effects run on (None before start and after stop)."""
        return self._executor

    def load(self) -> Load:
        """The load since the last report (and the start of a new interval)."""
        now, cpu = time.monotonic(), time.thread_time()
        wall = now - self._load_at
        busy = (cpu - self._load_cpu) / wall if wall > 0 else 0.0
        self._load_at, self._load_cpu = now, cpu
        return Load(
            worker=self.worker,
            peers=len(self._peers),
            peers_with_effects=sum(1 for peer in self._peers.values() if peer.has_effect),
            cpu_seconds=time.process_time(),
            loop_busy=max(0.0, busy),
        )

    # --- commands ---------------------------------------------------------------------------------

    async def _carry_out(self, command: Command) -> Reply:
        try:
            match command:
                case AddPeer():
                    return self._add_peer(command)
                case GetStats():
                    return self._stats(command)
                case RemovePeer():
                    return await self._remove_peer(command.peer)
                case AnswerOffer() | AddIceCandidate() | Route() | SetBackground() | ClosePeerConnection():
                    peer = self._peers.get(command.peer)
                    if peer is None:
                        return _unknown(command.peer)
                    async with peer.lock:
                        return await self._on_peer(peer, command)
            return Refused(code="bad_command", message=f"Not a media command: {type(command).__name__}")
        except PeerClosed:
            return _unknown(getattr(command, "peer", ""))
        except NegotiationFailed as exc:
            return Refused(code="negotiation_failed", message=str(exc))
        except BackgroundUnavailable as exc:
            return Refused(code="background_unavailable", message=str(exc))
        except Exception:
            logger.exception("media command %s failed", getattr(command, "type", type(command).__name__))
            return Refused(code="internal", message="The media plane could not carry out the command")

    async def _on_peer(
        self,
        peer: MediaPeer,
        command: AnswerOffer | AddIceCandidate | Route | SetBackground | ClosePeerConnection,
    ) -> Reply:
        if peer.closed:
            return _unknown(peer.id)
        match command:
            case AnswerOffer():
                return Answered(sdp=await peer.answer(command.sdp))
            case AddIceCandidate():
                await peer.add_ice_candidate(command.candidate)
            case Route(to="partner", partner=str(partner_id)):
                partner = self._peers.get(partner_id)
                if partner is None:
                    return _unknown(partner_id)
                peer.route("partner", partner)
            case Route():
                peer.route(command.to)
            case SetBackground():
                return await self._set_background(peer, command)
            case ClosePeerConnection():
                await peer.close_pc()
        return Ok()

    def _add_peer(self, command: AddPeer) -> Reply:
        if command.peer in self._peers:
            return Refused(code="peer_exists", message=f"Media peer {command.peer!r} exists")
        self._peers[command.peer] = MediaPeer(
            command.peer,
            slate=self._slate,
            ice_servers=self._ice_servers,
            executor=self._executor,
            effect_fps=self._effect_fps,
            label=command.label,
            on_event=self._emit,
        )
        return Ok()

    async def _remove_peer(self, peer_id: str) -> Reply:
        peer = self._peers.pop(peer_id, None)
        if peer is None:
            return Ok()
        for other in self._peers.values():
            if other.partner is peer:
                other.route("slate")
        await self._close(peer)
        return Ok()

    async def _close(self, peer: MediaPeer) -> None:
        async with peer.lock:  # after the commands sent to it before
            await peer.close()
        if self._backgrounds is not None:
            self._backgrounds.release(peer.id)

    async def _set_background(self, peer: MediaPeer, command: SetBackground) -> Reply:
        processor: FrameProcessor | None = None
        if self._backgrounds is not None:
            processor = await self._backgrounds.processor_for(peer.id, command.background, command.image)
        elif command.background.kind != "none":
            return Refused(code="effects_off", message="Virtual backgrounds are off on this server")
        if processor is not None and self._metrics is not None:
            processor = self._metrics.timed(processor)
        peer.set_processor(processor, command.background)
        return Ok()

    def _stats(self, command: GetStats) -> Stats:
        peers = [peer for peer in map(self._peers.get, dict.fromkeys(command.peers)) if peer is not None]
        return Stats(
            peer_connections=sum(1 for peer in peers if peer.connected),
            video_frames_in=sum(peer.video_frames_in for peer in peers),
            video_frames_out=sum(peer.video_frames_out for peer in peers),
        )

    # --- events -----------------------------------------------------------------------------------

    def _emit(self, event: MediaEvent) -> None:
        for listener in list(self._listeners):
            with log_crash(logger, "media event listener (%s)", event.type):
                listener(event)

    async def _report_load_forever(self) -> None:
        await asyncio.sleep(self._load_seconds)
        await repeat(self._report_load, self._load_seconds, log=logger, what="load report")

    async def _watch_silence(self) -> None:
        now = time.monotonic()
        for peer in list(self._peers.values()):
            peer.check_silence(now, self._silence_seconds)

    async def _report_load(self) -> None:
        self._emit(self.load())
