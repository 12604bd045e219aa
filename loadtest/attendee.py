"""One synthetic attendee of a load test: a `SyntheticPeer` that follows a behaviour `Profile`.

It sends the shared stamped astronaut clip and pre-encoded audio, measures what it receives with a
`VideoProbe`, and loops until the run's deadline: think, press Ready, meet (maybe extend, connect, leave
early or lose its network and come back), press Ready again. Partners are found in the run's directory
(ticket id -> attendee), which is how a receiver gets at its partner's send log and Ready time.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import get_args

import aiohttp
from aiortc import RTCIceServer

from loadtest.media import LoadMedia
from loadtest.probe import PartnerFeed, VideoProbe
from loadtest.profile import Profile
from loadtest.synthetic_peer import PeerError, SyntheticPeer
from loadtest.tracks import EncodedVideoTrack
from wire import protocol as p

logger = logging.getLogger(__name__)

SERVER_MESSAGE_TYPES: tuple[str, ...] = tuple(
    model.model_fields["type"].default for model in get_args(get_args(p.ServerMessage)[0])
)
MEETING_OVERRUN_SECONDS = 10.0  # a meeting_ended this late after ends_at counts as an error
CONNECT_ATTEMPTS = 3


@dataclass
class AttendeeCounters:
    meetings: int = 0
    extend_offers: int = 0
    extensions: int = 0  # extensions this attendee accepted
    connect_requests: int = 0
    connections: int = 0  # connections this attendee's request led to
    early_leaves: int = 0
    drops: int = 0
    errors: Counter[str] = field(default_factory=Counter)  # server error codes and client-side failures
    connected_seconds: float = 0.0


class SyntheticAttendee:
    """See module docstring. `run()` until a deadline; `close()` is safe to call twice."""

    def __init__(
        self,
        *,
        index: int,
        ticket_id: int,
        secret: str,
        base_url: str,
        session_id: int,
        media: LoadMedia,
        effects: bool,
        profile: Profile,
        directory: Mapping[int, SyntheticAttendee],
        http: aiohttp.ClientSession,
        ice_servers: list[RTCIceServer] | None = None,
        seed: int | None = None,
    ) -> None:
        self.name = f"attendee-{index}"
        self.ticket_id = ticket_id
        self.effects = effects
        self.profile = profile
        self._media = media
        self._directory = directory
        self._rng = random.Random(seed)
        self.log = media.send_log()
        self.probe = VideoProbe(self.name)
        self.counters = AttendeeCounters()
        self.ready_at: float | None = None  # monotonic time of the last Ready press
        self.connected = False
        self.in_meeting = False
        self._connected_since: float | None = None
        self._index = 0  # next message of peer.messages to handle
        self._clock_offset = 0.0  # server clock - local wall clock
        self._actions: list[tuple[float, str]] = []
        self.peer = SyntheticPeer(
            base_url,
            session_id,
            secret,
            name=self.name,
            http=http,
            ice_servers=ice_servers if ice_servers is not None else [],
            video_track=lambda: media.video_track(self.log),
            audio_track=media.audio_track,
            on_video_frame=self.probe.on_frame,
            summarise=False,
        )

    @property
    def feed(self) -> PartnerFeed:
        return PartnerFeed(self.log, lambda: self.log.count, self.effects)

    # --- lifecycle --------------------------------------------------------------------------------

    async def run(self, deadline: float) -> None:
        """Behave until `deadline` (monotonic); never raises for server misbehaviour (counts it)."""
        try:
            if not await self._connect():
                return
            while time.monotonic() < deadline:
                await self._sleep_until(
                    min(deadline, time.monotonic() + self._uniform(self.profile.think_seconds))
                )
                if time.monotonic() >= deadline:
                    break
                meeting = await self._ready_and_wait(deadline)
                if meeting is None:
                    break
                await self._meet(meeting, deadline)
        except asyncio.CancelledError:
            raise
        except (PeerError, aiohttp.ClientError, ConnectionError, TimeoutError) as exc:
            self._error("peer_failed")
            logger.warning("%s gave up: %s", self.name, str(exc)[:200])
        except Exception:
            self._error("crashed")
            logger.exception("%s: behaviour crashed", self.name)
        finally:
            self.probe.meeting_ended("run_over")
            self.in_meeting = False
            self._mark_disconnected()

    async def close(self) -> None:
        self.probe.meeting_ended("run_over")
        self._mark_disconnected()
        await self.peer.close()

    # --- helpers ----------------------------------------------------------------------------------

    def _error(self, code: str) -> None:
        self.counters.errors[code] += 1

    def _uniform(self, bounds: tuple[float, float]) -> float:
        return self._rng.uniform(*bounds)

    def _server_now(self) -> float:
        return time.time() + self._clock_offset

    def _local(self, server_time: float) -> float:
        """A server (epoch) time as a local monotonic time."""
        return time.monotonic() + (server_time - self._server_now())

    def _mark_connected(self) -> None:
        if self._connected_since is None:
            self._connected_since = time.monotonic()
        self.connected = True

    def _mark_disconnected(self) -> None:
        if self._connected_since is not None:
            self.counters.connected_seconds += time.monotonic() - self._connected_since
            self._connected_since = None
        self.connected = False

    async def _sleep_until(self, when: float) -> None:
        delay = when - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)

    async def _connect(self) -> bool:
        for attempt in range(CONNECT_ATTEMPTS):
            try:
                welcome = await self.peer.connect()
            except (PeerError, aiohttp.ClientError, ConnectionError, TimeoutError) as exc:
                self._error("connect_failed")
                logger.warning("%s: connect attempt %d failed: %s", self.name, attempt + 1, exc)
                await self.peer.drop_socket()
                await asyncio.sleep(1.0)
                continue
            self._on_welcome(welcome)
            self._hook_keyframes()
            if self.effects:
                await self.peer.set_background(p.BlurBackground(strength=0.6))
            return True
        return False

    def _hook_keyframes(self) -> None:
        """Let the pre-encoded video answer the server's keyframe requests."""
        pc, track = self.peer.pc, self.peer.video_track
        if pc is None or not isinstance(track, EncodedVideoTrack):
            return
        for sender in pc.getSenders():
            if sender.track is track:
                track.hook(sender)

    def _on_welcome(self, welcome: p.Welcome) -> None:
        self._clock_offset = welcome.server_time - time.time()
        self._mark_connected()
        # Carry on after the welcome: what came before it belongs to the previous connection.
        for i in range(len(self.peer.messages) - 1, -1, -1):
            if self.peer.messages[i] is welcome:
                self._index = i + 1
                break

    async def _next(self, until: float) -> p.ServerMessage | None:
        """The next server message, or None once monotonic time `until` passes."""
        within = until - time.monotonic()
        if within <= 0 and self._index >= len(self.peer.messages):
            return None
        try:
            message = await self.peer.wait_for(
                SERVER_MESSAGE_TYPES, since=self._index, advance=False, within=max(within, 0.0)
            )
        except TimeoutError:
            return None
        for i in range(self._index, len(self.peer.messages)):
            if self.peer.messages[i] is message:
                self._index = i + 1
                break
        if isinstance(message, p.Error):
            self._error(message.code)
        elif isinstance(message, p.Welcome):
            self._on_welcome(message)
        return message

    # --- behaviour --------------------------------------------------------------------------------

    async def _ready_and_wait(self, deadline: float) -> p.MeetingInfo | None:
        self.ready_at = time.monotonic()
        await self.peer.ready()
        while True:
            message = await self._next(deadline)
            if message is None:
                if time.monotonic() >= deadline:
                    await self.peer.unready()
                return None
            if isinstance(message, p.Matched):
                return message.meeting
            if isinstance(message, p.SessionEnded):
                return None

    async def _meet(self, meeting: p.MeetingInfo, deadline: float) -> None:
        mid = meeting.meeting_id
        partner_id = meeting.partner.ticket_id
        partner = self._directory.get(partner_id)
        both_ready = None
        if partner is not None and partner.ready_at is not None and self.ready_at is not None:
            both_ready = max(self.ready_at, partner.ready_at)
        self.counters.meetings += 1
        self.in_meeting = True
        self.probe.meeting_started(mid, partner_id, partner.feed if partner else None, both_ready)
        self._plan(meeting)
        ends_at = meeting.ends_at
        try:
            while True:
                hard_end = self._local(ends_at) + MEETING_OVERRUN_SECONDS
                now = time.monotonic()
                if now >= deadline:
                    return
                due = [a for a in self._actions if a[0] <= now]
                for action in due:
                    self._actions.remove(action)
                    result = await self._act(action[1], mid, partner_id)
                    if result is False:
                        return  # the meeting was lost while away
                if due:
                    continue
                wake = min([deadline, hard_end, *(a[0] for a in self._actions)])
                message = await self._next(wake)
                if message is None:
                    if time.monotonic() >= hard_end:
                        self._error("meeting_overran")
                        return
                    continue
                match message:
                    case p.MeetingEnded(meeting_id=ended) if ended == mid:
                        self.probe.meeting_ended(message.reason)
                        return
                    case p.MeetingDeadline(meeting_id=m, ends_at=new_end) if m == mid:
                        ends_at = new_end
                    case p.ExtendAccepted(meeting_id=m) if m == mid:
                        ends_at = message.ends_at
                        if message.by == "me":
                            self.counters.extensions += 1
                    case p.ExtendOffered(meeting_id=m, by="partner") if m == mid:
                        self._actions = [a for a in self._actions if a[1] != "extend_offer"]
                        accept = self._rng.random() < self.profile.accept_extend
                        self._schedule(
                            self._rng.uniform(0.3, 1.2), "extend_accept" if accept else "extend_decline"
                        )
                    case p.Connection(connection=info) if info.ticket_id == partner_id:
                        if info.state == "requested" and info.requested_by == "partner":
                            if self._rng.random() < self.profile.accept_connect:
                                self._schedule(self._rng.uniform(0.3, 1.5), "connect_accept")
                        elif info.state == "accepted" and info.requested_by == "me":
                            self.counters.connections += 1
                    case p.PartnerDisconnected(meeting_id=m) if m == mid:
                        self.probe.meeting_ended("partner_dropped")
                    case p.PartnerReconnected(meeting_id=m) if m == mid:
                        self.probe.meeting_started(mid, partner_id, partner.feed if partner else None, None)
                    case _:
                        pass
        finally:
            self._actions.clear()
            self.in_meeting = False
            self.probe.meeting_ended("run_over")

    def _schedule(self, delay: float, action: str) -> None:
        self._actions.append((time.monotonic() + delay, action))

    def _plan(self, meeting: p.MeetingInfo) -> None:
        """Draw what this attendee will do in this meeting."""
        self._actions.clear()
        remaining = max(1.0, meeting.ends_at - self._server_now())
        rng, profile = self._rng, self.profile
        if rng.random() < profile.connect:
            self._schedule(rng.uniform(0.5, max(1.0, 0.5 * remaining)), "connect_request")
        if rng.random() < profile.leave_early:
            bounds = profile.leave_seconds or (1.0, max(1.5, 0.7 * remaining))
            self._schedule(rng.uniform(*bounds), "leave")
        if rng.random() < profile.drop:
            self._schedule(rng.uniform(1.0, max(1.5, 0.6 * remaining)), "drop")
        if rng.random() < profile.extend and meeting.extend.extensions_left > 0:
            opens_in = max(0.5, meeting.extend.window_opens_at - self._server_now())
            at = opens_in + rng.uniform(0.0, 2.0)
            if at < remaining - 1.5:
                self._schedule(at, "extend_offer")

    async def _act(self, action: str, meeting_id: str, partner_id: int) -> bool:
        """Do a planned action; False if the attendee dropped and the meeting is gone on return."""
        match action:
            case "connect_request":
                self.counters.connect_requests += 1
                await self.peer.connect_request()
            case "connect_accept":
                await self.peer.connect_accept(partner_id)
            case "extend_offer":
                self.counters.extend_offers += 1
                await self.peer.extend_offer()
            case "extend_accept":
                await self.peer.extend_accept()
            case "extend_decline":
                await self.peer.extend_decline()
            case "leave":
                self.counters.early_leaves += 1
                await self.peer.leave()
            case "drop":
                return await self._drop_and_return(meeting_id, partner_id)
        return True

    async def _drop_and_return(self, meeting_id: str, partner_id: int) -> bool:
        """Lose the network (socket and peer connection at once), stay away a while, come back."""
        self.counters.drops += 1
        self.probe.meeting_ended("dropped")
        self._mark_disconnected()
        self._actions.clear()
        await self.peer.close_media()
        await self.peer.drop_socket()
        await asyncio.sleep(self._uniform(self.profile.drop_seconds))
        try:
            welcome = await self.peer.reconnect()
        except (PeerError, aiohttp.ClientError, ConnectionError, TimeoutError) as exc:
            self._error("reconnect_failed")
            logger.warning("%s: reconnect failed: %s", self.name, exc)
            return False
        self._on_welcome(welcome)
        self._hook_keyframes()
        if self.effects and welcome.background.kind != "blur":
            await self.peer.set_background(p.BlurBackground(strength=0.6))
        meeting = welcome.meeting
        if meeting is None or meeting.meeting_id != meeting_id:
            return False
        partner = self._directory.get(partner_id)
        self.probe.meeting_started(meeting_id, partner_id, partner.feed if partner else None, None)
        return True
