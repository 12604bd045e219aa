"""The media workers on the bus, seen by the control plane as one media plane.

Workers announce themselves with their reports (`sfu.bus.subjects.LOAD_SUBJECT`); each known worker is
driven through a `RemoteMediaPlane`. Commands about a peer go to the worker holding it. Placement is by
session: a session's first attendee is put on the worker with the most headroom (`web.placement`), and
the session's other attendees follow it there, so partners always share a worker (media is not yet piped
between workers). A session whose worker is gone or full is placed anew for the attendees who join next.

When no worker can take an attendee, `AddPeer` is refused with `no_capacity`. When a worker stops
reporting (killed, or cut off from the bus) or comes back as a new process, its peers' media is gone:
each of them gets a `failed` peer-state event, so their rooms treat them as dropped (grace period, the
partner is told).
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from aio import cancel_and_wait, log_crash, repeat
from sfu import interface as mi
from sfu.bus.connect import settle
from sfu.bus.remote import RemoteMediaPlane
from sfu.bus.subjects import LOAD_SUBJECT, WorkerReport, parse_report
from web.placement import Placement

logger = logging.getLogger(__name__)

PRUNE_SECONDS = 1.0


def session_key(peer: str) -> str:
    """What places peers together: the session part of a peer id (`s12` of `s12-t345`)."""
    return peer.partition("-")[0]


class MediaCluster:
    """Implements `sfu.interface.MediaPlane` over the workers on the bus. `start()` listens to their
    reports; `stop()` ends every subscription and task it made (safe twice)."""

    def __init__(self, nc: Client, placement: Placement | None = None, *, timeout: float = 10.0) -> None:
        self._nc = nc
        self.placement = placement or Placement()
        self._timeout = timeout
        self._workers: dict[str, RemoteMediaPlane] = {}
        self._instances: dict[str, str] = {}
        self._peers: dict[str, str] = {}  # peer -> worker
        self._sessions: dict[str, str] = {}  # session key -> worker
        self._listeners: list[mi.EventListener] = []
        self._subscription: Subscription | None = None
        self._prune_task: asyncio.Task[None] | None = None
        self._joining: set[asyncio.Task[None]] = set()
        self._wanted = 0
        self._enough = asyncio.Event()

    async def start(self) -> None:
        self._subscription = await self._nc.subscribe(LOAD_SUBJECT, cb=self._on_report)
        await settle(self._nc)
        self._prune_task = asyncio.create_task(
            repeat(self._prune, PRUNE_SECONDS, log=logger, what="pruning media workers"),
            name="media-cluster-prune",
        )

    async def stop(self) -> None:
        subscription, self._subscription = self._subscription, None
        if subscription is not None:
            with log_crash(logger, "unsubscribing from worker reports"):
                await subscription.unsubscribe()
        await cancel_and_wait(self._prune_task, *self._joining)
        await asyncio.gather(*(w.stop() for w in self._workers.values()), return_exceptions=True)
        self._workers.clear()

    def add_listener(self, listener: mi.EventListener) -> None:
        self._listeners.append(listener)

    def workers(self) -> list[str]:
        return sorted(self._workers)

    async def wait_for_workers(self, count: int, within: float) -> bool:
        """Wait until `count` workers have reported (at start, before attendees arrive); False if they
        have not within `within` seconds."""
        self._wanted = count
        self._enough.clear()
        if len(self.placement.workers()) >= count:
            return True
        try:
            await asyncio.wait_for(self._enough.wait(), within)
        except TimeoutError:
            return False
        return True

    # --- commands ---------------------------------------------------------------------------------

    async def request(self, command: mi.Command) -> mi.Reply:
        match command:
            case mi.AddPeer(peer=peer):
                return await self._add(command, peer)
            case mi.GetStats(peers=peers):
                return await self._stats(peers)
            case mi.RemovePeer(peer=peer):
                worker = self._peers.pop(peer, None)
                if worker is None or worker not in self._workers:
                    return mi.Ok()
                return await self._workers[worker].request(command)
        worker = self._peers.get(command.peer)
        plane = self._workers.get(worker) if worker is not None else None
        if plane is None:
            return mi.Refused(code="unknown_peer", message="This attendee's media is gone: send a new offer")
        if isinstance(command, mi.Route) and command.partner is not None:
            if self._peers.get(command.partner) != worker:
                return mi.Refused(code="unknown_peer", message="The partner's media is on another worker")
        return await plane.request(command)

    async def _add(self, command: mi.AddPeer, peer: str) -> mi.Reply:
        if peer in self._peers:
            return mi.Refused(code="peer_exists", message=f"peer {peer} exists")
        key = session_key(peer)
        worker = self._sessions.get(key)
        if worker is None or not self.placement.place_on(worker):
            worker = self.placement.place()
            if worker is None:
                return mi.Refused(code="no_capacity", message="No media server has room for you right now")
            self._sessions[key] = worker
        plane = self._plane(worker)
        reply = await plane.request(command)
        if isinstance(reply, mi.Refused):
            self.placement.unplace(worker)
            return reply
        self._peers[peer] = worker
        return reply

    async def _stats(self, peers: list[str]) -> mi.Stats:
        by_worker: dict[str, list[str]] = defaultdict(list)
        for peer in peers:
            worker = self._peers.get(peer)
            if worker in self._workers:
                by_worker[worker].append(peer)
        replies = await asyncio.gather(
            *(self._workers[w].request(mi.GetStats(peers=ps)) for w, ps in by_worker.items())
        )
        found = [r for r in replies if isinstance(r, mi.Stats)]
        return mi.Stats(
            peer_connections=sum(r.peer_connections for r in found),
            video_frames_in=sum(r.video_frames_in for r in found),
            video_frames_out=sum(r.video_frames_out for r in found),
        )

    # --- workers ----------------------------------------------------------------------------------

    def _plane(self, worker: str) -> RemoteMediaPlane:
        plane = self._workers.get(worker)
        if plane is None:
            plane = self._workers[worker] = RemoteMediaPlane(self._nc, worker, timeout=self._timeout)
            plane.add_listener(self._emit)
            task = asyncio.create_task(plane.start(), name=f"media-cluster-listen-{worker}")
            self._joining.add(task)
            task.add_done_callback(self._joining.discard)
        return plane

    async def _on_report(self, msg: Msg) -> None:
        try:
            report = parse_report(msg.data)
        except ValueError:
            logger.warning("a malformed worker report on %s was ignored", msg.subject)
            return
        self._take(report)

    def _take(self, report: WorkerReport) -> None:
        known = self._instances.get(report.worker)
        if known is not None and known != report.instance:
            logger.warning("media worker %s restarted: its attendees' media is gone", report.worker)
            self._lose(report.worker)
        self._instances[report.worker] = report.instance
        self.placement.report(report)
        if len(self.placement.workers()) >= self._wanted:
            self._enough.set()
        if report.state == "stopped":
            self._lose(report.worker)
            self._instances.pop(report.worker, None)
        else:
            self._plane(report.worker)

    async def _prune(self) -> None:
        for worker in self.placement.prune():
            logger.warning("media worker %s stopped reporting: its attendees' media is gone", worker)
            self._lose(worker)
            self._instances.pop(worker, None)

    def _lose(self, worker: str) -> None:
        """A worker's peers are gone: each is reported failed; their sessions are placed anew."""
        lost = [peer for peer, w in self._peers.items() if w == worker]
        for peer in lost:
            del self._peers[peer]
            self._emit(mi.PeerStateChanged(peer=peer, state="failed"))
        for key in [k for k, w in self._sessions.items() if w == worker]:
            del self._sessions[key]

    def _emit(self, event: mi.MediaEvent) -> None:
        for listener in self._listeners:
            listener(event)
