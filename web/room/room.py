"""One live networking session: its matcher, its attendees' sockets, their media (through the media
interface) and its history rows.

The room owns a `Matcher` (built from the session's rules, history seeded from the store so cooldowns,
blocks and connections survive a restart), a named tick task that advances it, and one `Attendee` per
person who ever joined. Every matcher event becomes, in this order (see `Announcer` and `History`):

1. media routes (the partners' outgoing tracks switch sources: no renegotiation),
2. protocol messages to the attendees concerned (queued, never blocking),
3. store rows (meetings, their ends, connections, blocks, reports), written in order.

Commands and ticks run under one lock, so events are applied in the order they happened; nothing under
the lock waits for the store: rows are written by the room's `History` line, one transaction for
everything queued, and the messages about them are sent once they are stored. The welcome and the
matches list come from memory (the session's stored meetings are read once, when the room starts).

Pressing Ready does not pair at once: it wakes the tick task, which waits `pair_delay_seconds` for more
attendees to press Ready and then pairs them all in one round (a ready storm costs one round, not one per
attendee).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from aiohttp import web
from pydantic import BaseModel

from aio import cancel_and_wait, log_crash
from matcher import (
    AttendeeState,
    Blocked,
    ConnectionState,
    Event,
    InvalidCommand,
    Matcher,
    MatcherError,
    UnknownAttendee,
)
from sfu import interface as mi
from web.room import views
from web.room.announcer import Announcer
from web.room.attendee import Attendee
from web.room.budget import TokenBucket
from web.room.commands import named, run_command
from web.room.errors import CommandRejected, JoinRefused, removed_from_session
from web.room.history import History, rows_for
from web.room.live import LiveCounts, live_counts
from web.room.media import RoomMedia
from web.room.media_messages import MediaMessages
from web.room.roster import Roster
from web.room.settings import RoomSettings, rules_for
from web.room.socket import AttendeeSocket
from web.store.records import SessionRecord, TicketRecord
from web.store.store import Store
from wire import protocol as p

if TYPE_CHECKING:
    from web.session_metrics import SessionMetrics

logger = logging.getLogger(__name__)


def peer_id(session_id: int, ticket_id: int) -> str:
    """The media plane's name for an attendee's media in a session."""
    return f"s{session_id}-t{ticket_id}"


class SessionRoom(MediaMessages):
    """See module docstring. `start()` once; `stop()` cancels and awaits everything (safe twice)."""

    def __init__(
        self,
        session: SessionRecord,
        store: Store,
        media: mi.MediaPlane,
        *,
        ice_servers: list[p.IceServer] | None = None,
        settings: RoomSettings | None = None,
        clock: Callable[[], float] = time.time,
        metrics: SessionMetrics | None = None,
    ) -> None:
        self.session = session
        self.store = store
        self.settings = settings or RoomSettings()
        self.ice_servers = list(ice_servers or [])
        self.metrics = metrics
        self._clock = clock
        self.matcher = Matcher(rules_for(session, self.settings), clock)
        self.attendees: dict[str, Attendee] = {}
        self._by_peer: dict[str, Attendee] = {}
        self.media = RoomMedia(media, f"room-{session.id}")
        self._announcer = Announcer(self.attendees, self.matcher, self.media)
        self.history = History(store, session.id, self._send, metrics=metrics)
        self._lock = asyncio.Lock()
        self._tick_task: asyncio.Task[None] | None = None
        self._pair_soon = asyncio.Event()
        self.roster = Roster(session.id, session.event_id)
        self._media_failed: set[str] = set()  # attendees whose media failed or went silent, for the next tick
        self._media_back: set[str] = set()  # attendees whose media flows again, for the next tick
        self._started = False
        self._stopped = False

    # --- lifecycle --------------------------------------------------------------------------------

    async def start(self) -> None:
        """Seed the matcher with the event's history and start ticking."""
        if self._started:
            return
        self._started = True
        event_id = self.session.event_id
        meetings = await self.store.meetings_for_event(event_id)
        tickets = await self.store.list_tickets(event_id)
        interests = await self.store.interests.interests_of(t.id for t in tickets)
        self.roster.load(tickets, meetings, interests)
        removed = await self.store.moderation.removed_ticket_ids(self.session.id)
        self.roster.removed = {str(t) for t in removed}
        blocks = await self.store.blocks_for_event(event_id)
        connections = await self.store.connections_for_event(event_id)
        self.matcher.seed_history(
            [
                (str(m.a_ticket_id), str(m.b_ticket_id), (m.ended_at or m.started_at).timestamp())
                for m in meetings
                if m.a_ticket_id != m.b_ticket_id
            ],
            [(str(by), str(blocked)) for by, blocked in blocks if by != blocked],
            [
                (str(c.a_ticket_id), str(c.b_ticket_id), str(c.requested_by), ConnectionState(c.state))
                for c in connections
            ],
        )
        self.media.start()
        self.history.start()
        self._tick_task = asyncio.create_task(self._tick_loop(), name=f"room-{self.session.id}-tick")
        logger.info(
            "room for session %d started (%d past meetings, %d blocks, %d connections)",
            self.session.id,
            len(meetings),
            len(blocks),
            len(connections),
        )

    async def update_session(self, session: SessionRecord) -> None:
        """The organiser edited the session: its rules apply from the next pairing on (running meetings
        keep theirs), and everyone connected gets a fresh welcome with the new times and length."""
        if session.id != self.session.id:
            raise ValueError(f"room of session {self.session.id} cannot take session {session.id}")
        async with self._lock:
            self.session = session
            self.matcher.update_rules(rules_for(session, self.settings))
            welcomes: list[tuple[str, BaseModel]] = [
                (a.attendee, self._welcome(a))
                for a in self.attendees.values()
                if a.socket is not None and not a.socket.closed
            ]
            self.history.submit([], welcomes)
        logger.info("session %d: rules updated", session.id)

    async def stop(self) -> None:
        """Stop ticking, close every socket (telling clients why), write what is pending, free the media."""
        if self._stopped:
            return
        self._stopped = True
        await cancel_and_wait(self._tick_task)
        self._tick_task = None
        await self.history.stop()  # what is queued is written and told before the sockets close
        closing = []
        for attendee in self.attendees.values():
            sock, attendee.socket = attendee.socket, None
            if sock is not None:
                sock.send(p.Error(code="shutting_down", message="The server is restarting", fatal=True))
                closing.append(sock.close(p.CloseCode.SHUTTING_DOWN, "server shutting down"))
        await asyncio.gather(*closing, return_exceptions=True)
        for attendee in self.attendees.values():
            self.media.post(mi.RemovePeer(peer=attendee.peer))
        await self.media.stop()
        logger.info("room for session %d stopped", self.session.id)

    @property
    def stopped(self) -> bool:
        return self._stopped

    def finished(self) -> bool:
        """Over and empty: the session has ended, no meeting runs and nobody is connected. (Asked at
        every join: cheap while the session runs.)"""
        if not self.matcher.session_ended():
            return False
        summary = self.matcher.live_summary()
        return (
            summary.session_ended
            and summary.meetings_running == 0
            and not any(a.socket for a in self.attendees.values())
        )

    async def ticket_changed(self, before: TicketRecord, after: TicketRecord | None) -> None:
        """The organiser edited, revoked (a new secret) or deleted (`after` None) a ticket. Its old secret
        stops working here at once. A revoked or deleted ticket, or one whose role or ticket type
        changed, is taken out: a meeting it is in ends, and its socket closes (4011, `ticket_revoked`);
        the page may reconnect with a link that is still valid. A new name, headline or company reaches
        the holder and their partner as a fresh `welcome`."""
        self.roster.forget(before)
        if after is not None:
            self.roster.remember(after)
        async with self._lock:
            attendee = self.attendees.get(str(before.id))
            if attendee is None:
                return
            revoked = (
                after is None
                or after.secret != before.secret
                or after.is_admin != before.is_admin
                or after.ticket_type != before.ticket_type
            )
            if not revoked:
                assert after is not None
                attendee.card = views.me_of_ticket(after)
                told = [attendee] + ([attendee.partner] if attendee.partner is not None else [])
                self.history.submit(
                    [], [(a.attendee, self._welcome(a)) for a in told if a.socket is not None]
                )
                return
            out = self._take_out(attendee)
        message = "This ticket was changed by the organiser: open your newest invitation link"
        await self._taken_out(*out, JoinRefused("ticket_revoked", message, p.CloseCode.TICKET_REVOKED))

    async def remove(self, ticket_id: int) -> None:
        """Removed from the session: refused from now on, a meeting ends, the socket closes (4012)."""
        self.roster.removed.add(str(ticket_id))
        async with self._lock:
            attendee = self.attendees.get(str(ticket_id))
            out = self._take_out(attendee) if attendee is not None else None
        if out is not None:
            await self._taken_out(*out, removed_from_session())

    def _take_out(self, attendee: Attendee) -> tuple[asyncio.Future[None], AttendeeSocket | None]:
        """End the attendee's meeting and drop their socket and media (the caller holds the lock)."""
        events: list[Event] = []
        if self.matcher.view(attendee.attendee).state is AttendeeState.meeting:
            events += self.matcher.leave(attendee.attendee)
        sock, attendee.socket = attendee.socket, None
        if sock is not None:
            self.media.post(mi.ClosePeerConnection(peer=attendee.peer))
            events += self.matcher.disconnect(attendee.attendee)
        return self._apply(events), sock

    async def _taken_out(
        self, done: asyncio.Future[None], sock: AttendeeSocket | None, why: JoinRefused
    ) -> None:
        await done
        if sock is not None:
            sock.send(p.Error(code=why.code, message=why.message, fatal=True))
            await sock.close(why.close_code, why.message)

    def in_meeting(self, attendee: str) -> bool:
        if attendee not in self.attendees:
            return False
        return self.matcher.view(attendee).state is AttendeeState.meeting

    # --- joining ----------------------------------------------------------------------------------

    async def join(self, ws: web.WebSocketResponse, ticket: TicketRecord) -> tuple[Attendee, AttendeeSocket]:
        """Attach a new socket for `ticket` (replacing an older one) and send the whole state. Nothing of
        the join is left behind when it is refused or cancelled."""
        if self._stopped:
            raise JoinRefused("shutting_down", "The server is restarting", p.CloseCode.SHUTTING_DOWN)
        if str(ticket.id) in self.roster.removed:
            raise removed_from_session()
        sock = AttendeeSocket(
            ws,
            f"s{self.session.id}-t{ticket.id}",
            outbox_size=self.settings.outbox_messages,
            budget=TokenBucket(self.settings.message_rate, self.settings.message_burst, time.monotonic),
        )
        interests = self.roster.interests(str(ticket.id))
        if interests is None:  # a ticket made since the room started
            interests = (await self.store.interests.interests_of([ticket.id])).get(ticket.id, [])
            self.roster.set_interests(str(ticket.id), interests)
        replaced: AttendeeSocket | None = None
        added: asyncio.Future[mi.Reply] | None = None
        async with self._lock:
            card = views.me_of_ticket(ticket)
            attendee = self.attendees.get(str(ticket.id))
            if attendee is None:
                attendee = Attendee(str(ticket.id), card, peer_id(self.session.id, ticket.id))
                self.attendees[attendee.attendee] = attendee
                self._by_peer[attendee.peer] = attendee
                added = self.media.post(mi.AddPeer(peer=attendee.peer, label=f"ticket {ticket.id}"))
            else:
                attendee.card = card
            replaced, attendee.socket = attendee.socket, None
            if replaced is not None:
                # The older page's media stops now; the new page's offer makes a new peer connection.
                self.media.post(mi.ClosePeerConnection(peer=attendee.peer))
            attendee.media_down = False
            self._media_failed.discard(attendee.attendee)
            try:
                events = self.matcher.join(attendee.attendee, ticket.ticket_type, interests)
            except MatcherError as exc:
                raise JoinRefused("internal", f"Could not join: {exc}", p.CloseCode.PROTOCOL_ERROR) from exc
            # Nothing below waits: the join cannot be cut off half-way.
            attendee.socket = sock
            attendee.session_end_announced = False
            sock.start()
            self._apply(events, then=[(attendee.attendee, self._welcome(attendee))])
        if replaced is not None:
            replaced.send(
                p.Error(code="replaced", message="This ticket connected again from another page", fatal=True)
            )
            await replaced.close(p.CloseCode.REPLACED, "replaced by a newer connection")
        if added is not None:
            refusal = await added
            if isinstance(refusal, mi.Refused) and refusal.code == "no_capacity":
                refused = JoinRefused("no_media_capacity", refusal.message, p.CloseCode.NO_MEDIA_CAPACITY)
                await self._forget(attendee, sock, refused)
                raise refused
        return attendee, sock

    async def _forget(self, attendee: Attendee, sock: AttendeeSocket, why: JoinRefused) -> None:
        """An attendee the media plane had no room for: told why, and out of the room (a later join
        starts afresh)."""
        sock.send(p.Error(code=why.code, message=why.message, fatal=True))
        async with self._lock:
            if attendee.socket is sock:
                attendee.socket = None
                self._apply(self.matcher.disconnect(attendee.attendee))
            if self.attendees.get(attendee.attendee) is attendee and attendee.socket is None:
                del self.attendees[attendee.attendee]
                del self._by_peer[attendee.peer]
        await sock.close(why.close_code, why.message)

    async def socket_closed(self, attendee: Attendee, sock: AttendeeSocket) -> None:
        """The socket ended (tab closed, network lost, replaced): grace period if it was the current one."""
        async with self._lock:
            if attendee.socket is sock:
                attendee.socket = None
                self.media.post(mi.ClosePeerConnection(peer=attendee.peer))
                try:
                    self._apply(self.matcher.disconnect(attendee.attendee))
                except MatcherError:
                    logger.exception("disconnect of %s failed", attendee.attendee)
        await sock.close()

    # --- client messages --------------------------------------------------------------------------

    async def handle(self, attendee: Attendee, sock: AttendeeSocket, raw: str | bytes) -> None:
        """Handle one client message; every failure becomes an `error` message, never an exception."""
        if not sock.budget.take():
            logger.info("%s: message budget spent; closing the socket", sock.name)
            sock.send(p.Error(code="rate_limited", message="Too many messages: slow down", fatal=True))
            await sock.close(p.CloseCode.RATE_LIMITED, "too many messages")
            return
        try:
            message = p.parse_client(raw)
        except p.ProtocolError as exc:
            sock.bad_messages += 1
            if sock.bad_messages > self.settings.max_bad_messages:
                sock.send(
                    p.Error(
                        code="bad_message", message="Too many malformed messages", ref=exc.ref, fatal=True
                    )
                )
                await sock.close(p.CloseCode.PROTOCOL_ERROR, "too many malformed messages")
                return
            sock.send_error("bad_message", f"Malformed message: {exc}", exc.ref)
            return
        sock.bad_messages = 0
        try:
            await self._dispatch(attendee, sock, message)
        except CommandRejected as exc:
            sock.send_error(exc.code, exc.message, message.id)
        except UnknownAttendee as exc:
            sock.send_error("unknown_attendee", str(exc), message.id)
        except InvalidCommand as exc:
            sock.send_error("invalid_command", str(exc), message.id)
        except Exception:
            logger.exception(
                "session %d: handling %s from %s failed", self.session.id, message.type, sock.name
            )
            sock.send_error("internal", "The server could not handle this message", message.id)

    async def _dispatch(self, attendee: Attendee, sock: AttendeeSocket, msg: p.ClientMessage) -> None:
        match msg:
            case p.Hello():
                if msg.protocol != p.PROTOCOL_VERSION:
                    sock.send(
                        p.Error(
                            code="unsupported_version",
                            message=f"This server speaks protocol {p.PROTOCOL_VERSION}, not {msg.protocol}",
                            ref=msg.id,
                            fatal=True,
                        )
                    )
                    await sock.close(p.CloseCode.PROTOCOL_ERROR, "unsupported protocol version")
                    return
                async with self._lock:
                    self.history.submit([], [(attendee.attendee, self._welcome(attendee))])
            case p.Offer():
                await self._answer(attendee, sock, msg)
            case p.Answer():
                raise CommandRejected("invalid_command", "The server sent no offer to answer")
            case p.Ice():
                await self._add_ice_candidate(attendee, sock, msg)
            case p.Ping():
                sock.send(p.Pong(id=msg.id, server_time=self._clock()))
            case p.SetBackground() | p.Preview():
                await self._set_background(attendee, sock, msg)
            case _:
                async with self._lock:
                    self._command(attendee, msg)

    def _command(self, attendee: Attendee, msg: p.ClientMessage) -> asyncio.Future[None]:
        """Matcher commands (under the lock). The future is done once their rows are stored and the
        attendees told."""
        if isinstance(msg, p.Block):
            other = named(self.matcher, attendee.attendee, msg.ticket_id)
            events = self.matcher.block(attendee.attendee, other)
            if not any(isinstance(e, Blocked) for e in events):
                attendee.send(p.Blocked(ticket_id=int(other)))  # already blocked: confirm again
        else:
            events = run_command(self.matcher, attendee.attendee, msg)
        if isinstance(msg, p.Ready):
            self._pair_soon.set()
        return self._apply(events)

    async def reload_interests(self, attendees: list[str] | None = None) -> None:
        """Interests changed in the store (these attendees', or anyone's): the matcher weighs the new
        ones from its next pairing."""
        if attendees is None:
            self.roster.forget_interests()
        wanted = [a for a in (self.attendees if attendees is None else attendees) if a in self.attendees]
        stored = await self.store.interests.interests_of(int(a) for a in wanted)
        async with self._lock:
            for attendee in wanted:
                self.roster.set_interests(attendee, stored.get(int(attendee), []))
                self.matcher.set_interests(attendee, stored.get(int(attendee), []))

    async def request_connection(self, attendee: str, other: str) -> bool:
        """A connection request made away from the socket (the HTTP API), handled as the socket's
        `connect_request` is: the matcher decides (asking back accepts), both attendees get
        `connection`, and the row is written before this returns. False when this room cannot take
        it (the attendee never joined it, or its matcher refuses): the store's rules then answer."""
        async with self._lock:
            found = self.attendees.get(attendee)
            if self._stopped or found is None:
                return False
            try:
                done = self._command(found, p.ConnectRequest(ticket_id=int(other)))
            except (MatcherError, CommandRejected) as exc:
                logger.debug(
                    "session %d: connection %s -> %s left to the store: %s",
                    self.session.id,
                    attendee,
                    other,
                    exc,
                )
                return False
        await done  # the row is written (and both told) before this returns
        return True

    # --- media events and ticking -----------------------------------------------------------------

    def media_event(self, event: mi.MediaEvent) -> None:
        """An event about one of this room's peers (called on the loop; handled at the next tick): media
        that failed or went silent disconnects the attendee in the matcher (the grace period starts, the
        partner is told); media flowing again reconnects them."""
        if not isinstance(event, mi.PeerStateChanged):
            return
        attendee = self._by_peer.get(event.peer)
        if attendee is None:
            return
        if event.state == "connected":
            self._media_failed.discard(attendee.attendee)
            self._media_back.add(attendee.attendee)
        else:
            self._media_back.discard(attendee.attendee)
            self._media_failed.add(attendee.attendee)

    async def _tick_loop(self) -> None:
        """Tick every `tick_seconds`, and soon after someone presses Ready (see module docstring)."""
        while True:
            try:
                await asyncio.wait_for(self._pair_soon.wait(), self.settings.tick_seconds)
            except TimeoutError:
                pass
            else:
                await asyncio.sleep(self.settings.pair_delay_seconds)
            self._pair_soon.clear()
            with log_crash(logger, "session %d: tick", self.session.id):
                await self.tick()

    async def tick(self) -> None:
        """Advance the matcher (deadlines, grace periods, pairing), notice failed media, announce the end."""
        async with self._lock:
            events: list[Event] = []
            failed, self._media_failed = self._media_failed, set()
            back, self._media_back = self._media_back, set()
            for name in failed:
                attendee = self.attendees.get(name)
                if attendee is not None and attendee.socket is not None and not attendee.media_down:
                    attendee.media_down = True
                    events += self.matcher.disconnect(name)
            for name in back:
                attendee = self.attendees.get(name)
                if attendee is not None and attendee.socket is not None and attendee.media_down:
                    attendee.media_down = False
                    events += self.matcher.reconnect(name)
            started = time.perf_counter()
            events += self.matcher.tick()
            if self.metrics is not None:
                self.metrics.pairing_round_seconds.observe(time.perf_counter() - started)
            ended: list[tuple[str, BaseModel]] = []
            if self.matcher.session_ended():
                for attendee in self.attendees.values():
                    if attendee.socket is None or attendee.session_end_announced:
                        continue
                    if self.matcher.view(attendee.attendee).state is AttendeeState.meeting:
                        continue  # a meeting running at the end runs to its own end
                    attendee.session_end_announced = True
                    ended.append((attendee.attendee, p.SessionEnded(matches=self._matches(attendee))))
            self._apply(events, then=ended)

    def _apply(self, events: list[Event], then: Sequence[tuple[str, BaseModel]] = ()) -> asyncio.Future[None]:
        """Route media for `events` at once; queue their rows and messages (and `then`'s messages after
        them) on the history line. The future is done once they are stored and sent."""
        for event in events:
            try:
                self._announcer.announce(event)
            except Exception:
                logger.exception("session %d: applying %s failed", self.session.id, event.kind)
            if self.metrics is not None:
                self.metrics.observe_event(event)
        messages = self._announcer.take()
        messages.extend(then)
        return self.history.submit(rows_for(self.session.id, self.session.event_id, events), messages)

    def _reconnect(self, attendee: Attendee) -> None:
        """A new peer connection of an attendee whose media had failed: back in the matcher."""
        if attendee.media_down:
            attendee.media_down = False
            self._apply(self.matcher.reconnect(attendee.attendee))

    def _send(self, attendee: str, message: BaseModel) -> None:
        found = self.attendees.get(attendee)
        if found is not None:
            found.send(message)

    # --- views ------------------------------------------------------------------------------------

    def _matches(self, attendee: Attendee) -> list[p.MatchItem]:
        view = self.matcher.view(attendee.attendee)
        return self.roster.matches(
            attendee.attendee,
            self.matcher.matches_of(attendee.attendee),
            {c.other: c for c in view.connections},
            self._card,
            self._clock(),
        )

    def _card(self, attendee: str) -> p.PartnerCard | None:
        found = self.attendees.get(attendee)
        return found.partner_card if found is not None else self.roster.card(attendee)

    def _welcome(self, attendee: Attendee) -> p.Welcome:
        view = self.matcher.view(attendee.attendee)
        now = self._clock()
        return p.Welcome(
            server_time=now,
            me=attendee.card,
            session=views.session_info(self.session, now),
            ice_servers=list(self.ice_servers),
            state=view.state.value,
            meeting=views.meeting_info(view, self._announcer.card),
            waiting=views.waiting_info(view.waiting) if view.waiting is not None else None,
            connections=views.connections(view),
            matches=self._matches(attendee),
            background=attendee.background,
            preview=attendee.preview,
            session_over=view.session_ended,
        )

    async def live(self) -> LiveCounts:
        """Live counts for the organiser's live view."""
        attendees = list(self.attendees.values())
        reply = await self.media.call(mi.GetStats(peers=[a.peer for a in attendees]))
        stats = reply if isinstance(reply, mi.Stats) else mi.Stats()
        return live_counts(
            self.session.id,
            self.matcher.live_summary(),
            self.matcher,
            attendees,
            stats,
            store_errors=self.history.errors,
            now=self._clock(),
        )
