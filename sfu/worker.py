"""`speedmeet worker`: a media worker. It connects to the bus, runs a media plane (peer connections,
effects, forwarding; no store, no browser WebSocket) and serves it to the control plane over NATS
(`sfu.bus`), reporting its load every ~2 s and the address browsers reach it on.

SIGTERM (or SIGINT) drains it: it refuses new attendees (`AddPeer` gets `DRAINING`), reports
"draining" so that no more are placed on it, waits until no meeting runs on it (no peer routed to a
partner) or the drain deadline passes, then reports "stopped" and exits. A second signal ends the
drain at once. The attendees still on it then are asked by the control plane for a new offer.

The command line is built in `web.cli`; this module imports nothing of the control plane.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from nats.aio.client import Client

from aio import cancel_and_wait
from sfu.bus import BusSettings, MediaServer, connect, serve_media_plane
from sfu.interface import (
    AddPeer,
    Answered,
    Command,
    EventListener,
    MediaPlane,
    Ok,
    Refused,
    RemovePeer,
    Reply,
    Route,
)
from sfu.public_address import announce
from wire.protocol import IceServer

logger = logging.getLogger(__name__)

# The refusal of `AddPeer` by a draining worker. The control plane places the attendee elsewhere.
DRAINING = Refused(code="internal", message="This media worker is draining: it takes no new attendees")
DRAIN_SECONDS = 900.0  # meetings last minutes; systemd's TimeoutStopSec must be longer


def default_worker_id() -> str:
    """``<host>-<pid>``, made a valid worker id."""
    host = re.sub(r"[^A-Za-z0-9_-]", "-", socket.gethostname().split(".")[0]) or "worker"
    return f"{host[:50]}-{os.getpid()}"


@dataclass(frozen=True)
class WorkerOptions:
    bus: BusSettings
    worker_id: str = field(default_factory=default_worker_id)
    public_ip: str | None = None  # written into answers as the host candidates' address
    ice_servers: tuple[IceServer, ...] = ()  # STUN/TURN for the worker's own candidates
    media_dir: Path | None = None  # stored background images (shared with the control plane)
    effect_fps: float | None = None
    preload_effects: bool = True
    drain_seconds: float = DRAIN_SECONDS


class RunnablePlane(MediaPlane, Protocol):
    """A media plane the worker starts and stops (`sfu.media_plane.LocalMediaPlane`)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class WorkerGate:
    """The media plane as the bus serves it: refuses new peers while draining, keeps track of the
    peers and of those in a meeting, and announces the public address in answers."""

    def __init__(self, plane: MediaPlane, *, public_ip: str | None = None) -> None:
        self._plane = plane
        self._public_ip = public_ip
        self.draining = False
        self.peers: set[str] = set()
        self.in_meeting: set[str] = set()  # peers routed to a partner
        self._changed = asyncio.Event()

    def add_listener(self, listener: EventListener) -> None:
        self._plane.add_listener(listener)

    async def request(self, command: Command) -> Reply:
        if self.draining and isinstance(command, AddPeer):
            return DRAINING
        reply = await self._plane.request(command)
        if isinstance(reply, Answered) and self._public_ip is not None:
            reply = Answered(sdp=announce(reply.sdp, self._public_ip))
        self._track(command, reply)
        return reply

    def _track(self, command: Command, reply: Reply) -> None:
        match command:
            case AddPeer(peer=peer) if isinstance(reply, Ok):
                self.peers.add(peer)
            case RemovePeer(peer=peer):
                self.peers.discard(peer)
                self.in_meeting.discard(peer)
            case Route(peer=peer, to=to) if isinstance(reply, Ok):
                if to == "partner":
                    self.in_meeting.add(peer)
                else:
                    self.in_meeting.discard(peer)
            case _:
                return
        self._changed.set()

    async def meetings_over(self) -> None:
        """Wait until no peer on this worker is in a meeting."""
        while self.in_meeting:
            self._changed.clear()
            await self._changed.wait()


async def serve_worker(
    nc: Client,
    plane: MediaPlane,
    options: WorkerOptions,
    *,
    stop: asyncio.Event,
    hurry: asyncio.Event | None = None,
) -> WorkerGate:
    """Serve `plane` until `stop` is set, then drain (until its meetings are over, `hurry` is set or
    the deadline passes) and stop serving. Returns the gate (tests look at what it saw)."""
    gate = WorkerGate(plane, public_ip=options.public_ip)
    server: MediaServer = await serve_media_plane(nc, gate, options.worker_id, public_ip=options.public_ip)
    try:
        await stop.wait()
        gate.draining = True
        await server.set_state("draining")
        logger.info(
            "media worker %s draining: %d attendees, %d in meetings (at most %.0f s)",
            options.worker_id,
            len(gate.peers),
            len(gate.in_meeting),
            options.drain_seconds,
        )
        await _drain(gate, options.drain_seconds, hurry)
    finally:
        await server.stop()
    return gate


async def _drain(gate: WorkerGate, seconds: float, hurry: asyncio.Event | None) -> None:
    over = asyncio.create_task(gate.meetings_over(), name="worker-drain")
    hurried = asyncio.create_task(hurry.wait(), name="worker-hurry") if hurry is not None else None
    try:
        done, _ = await asyncio.wait(
            [t for t in (over, hurried) if t is not None],
            timeout=seconds,
            return_when=asyncio.FIRST_COMPLETED,
        )
    finally:
        await cancel_and_wait(over, hurried)
    if over in done:
        logger.info("drained: no meeting runs here any more")
    elif hurried is not None and hurried in done:
        logger.warning("drain cut short: %d attendees still in meetings", len(gate.in_meeting))
    else:
        logger.warning("drain deadline passed: %d attendees still in meetings", len(gate.in_meeting))


def _image_lookup(folder: Path | None) -> Callable[[str], Path | None]:
    """The stored file of an image background, by the name the control plane gives."""

    def find(name: str) -> Path | None:
        if folder is None:
            return None
        path = folder / name
        return path if path.parent == folder and path.is_file() else None

    return find


def local_media_plane(options: WorkerOptions) -> RunnablePlane:
    """The in-process media plane (aiortc and the effects load here, not when this module does)."""
    from sfu.media_plane import LocalMediaPlane

    return LocalMediaPlane(
        ice_servers=list(options.ice_servers),
        effect_fps=options.effect_fps,
        image_path=_image_lookup(options.media_dir),
        worker=options.worker_id,
        preload_effects=options.preload_effects,
    )


async def run_worker(options: WorkerOptions, *, plane: RunnablePlane | None = None) -> int:
    """The worker process: connect, serve until SIGTERM/SIGINT, drain, stop (`plane`: the local media
    plane unless given)."""
    loop = asyncio.get_running_loop()
    stop, hurry = asyncio.Event(), asyncio.Event()

    def on_signal() -> None:
        (hurry if stop.is_set() else stop).set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal)
    logger.info("media worker %s connecting to %r", options.worker_id, options.bus)
    try:
        nc = await _connect_unless_stopped(options.bus, stop)
        if nc is None:
            return 0
        try:
            media = plane if plane is not None else local_media_plane(options)
            await media.start()
            try:
                await serve_worker(nc, media, options, stop=stop, hurry=hurry)
            finally:
                await media.stop()
        finally:
            await nc.close()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
    logger.info("media worker %s stopped", options.worker_id)
    return 0


async def _connect_unless_stopped(bus: BusSettings, stop: asyncio.Event) -> Client | None:
    """Connect (trying for ever), unless a signal asks the worker to stop first (then None)."""
    connecting = asyncio.create_task(connect(bus), name="worker-connect")
    stopping = asyncio.create_task(stop.wait(), name="worker-stop")
    try:
        await asyncio.wait([connecting, stopping], return_when=asyncio.FIRST_COMPLETED)
    finally:
        await cancel_and_wait(stopping)
        if not connecting.done():
            await cancel_and_wait(connecting)
    return connecting.result() if not connecting.cancelled() else None


def main(options: WorkerOptions) -> int:
    return asyncio.run(run_worker(options))
