"""One live networking session: its matcher, its attendees' media and signalling, and its history rows.

The room owns a `Matcher` (built from the session's rules, history seeded from the store so cooldowns,
blocks and connections survive a restart), a named tick task that advances it, and one `Participant`
per attendee who ever joined. Every matcher event becomes, in this order:

1. media routing (the partners' outgoing tracks switch sources: no renegotiation),
2. protocol messages to the attendees concerned (queued, never blocking),
3. store rows (meetings, their ends, connections, blocks, reports), written as they happen.

Commands and ticks run under one lock, so events are applied and persisted in the order they happened.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import Executor
from datetime import UTC, datetime
from typing import Protocol

from aiohttp import web
from aiortc import RTCIceServer
from pydantic import BaseModel

from matcher import (
    AttendeeState,
    AttendeeView,
    Blocked,
    ConnectionChanged,
    ConnectionState,
    Event,
    ExtendAccepted,
    ExtendDeclined,
    ExtendOffered,
    InvalidCommand,
    Matched,
    Matcher,
    MatcherError,
    MeetingDeadlineChanged,
    MeetingEnded,
    PartnerDisconnected,
    PartnerReconnected,
    Reported,
    SessionRules,
    UnknownAttendee,
    WaitingStatus,
)
from matcher import AttendeeStateChanged as StateChanged
from sfu.connection import AttendeeConnection
from sfu.errors import CommandRejected, JoinRefused, NegotiationFailed
from sfu.metrics import Metrics
from sfu.participant import Participant
from sfu.settings import RoomSettings
from sfu.slate import Slate
from sfu.video_source import FrameProcessor
from web.store.records import MatchView, SessionRecord, TicketRecord
from web.store.store import Store
from wire import protocol as p

logger = logging.getLogger(__name__)


class BackgroundProvider(Protocol):
    """Turns an attendee's background setting into a frame processor (see `sfu.backgrounds`)."""

    async def processor_for(
        self, participant: Participant, background: p.Background, event_id: int
    ) -> FrameProcessor | None: ...

    def release(self, participant: Participant) -> None: ...


_END_REASONS: dict[str, p.EndReasonName] = {
    "timeout": "timeout",
    "left": "left",
    "partner_left": "partner_left",
    "blocked": "blocked",
    "session_closed": "session_closed",
}


_STORED_EVENTS = (Matched, MeetingEnded, ConnectionChanged, Blocked, Reported)


def _dt(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def rules_for(session: SessionRecord, settings: RoomSettings) -> SessionRules:
    """The matcher rules of a stored session."""
    return SessionRules(
        meeting_seconds=float(session.meeting_seconds),
        allow_rematch=session.allow_rematch,
        rematch_cooldown_seconds=float(session.rematch_cooldown_seconds),
        allowed_pairs=SessionRules.pairs_from(session.allowed_pairs),
        max_extensions=session.max_extensions,
        extend_window_seconds=settings.extend_window_seconds,
        grace_seconds=settings.grace_seconds,
        ends_at=session.ends_at.timestamp(),
        interest_weighting=session.interest_weighting,
    )


class SessionRoom:
    """See module docstring. `start()` once; `stop()` cancels and awaits everything (safe twice)."""

    def __init__(
        self,
        session: SessionRecord,
        store: Store,
        *,
        ice_servers: list[RTCIceServer] | None = None,
        settings: RoomSettings | None = None,
        slate: Slate | None = None,
        clock: Callable[[], float] = time.time,
        executor: Executor | None = None,
        backgrounds: BackgroundProvider | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.session = session
        self.metrics = metrics
        self.store = store
        self.settings = settings or RoomSettings()
        self._ice_servers = list(ice_servers or [])
        self._slate = slate or Slate(self.settings.slate_text)
        self._clock = clock
        self._executor = executor
        self._backgrounds = backgrounds
        self.matcher = Matcher(rules_for(session, self.settings), clock)
        self.participants: dict[str, Participant] = {}
        self._meeting_rows: dict[str, int] = {}  # matcher meeting id -> store meeting id
        self._meetings: dict[str, tuple[str, str]] = {}  # matcher meeting id -> its two attendees
        self._lock = asyncio.Lock()
        self._tick_task: asyncio.Task[None] | None = None
        self._persisting: asyncio.Task[None] | None = None  # the latest history-writing task
        self._media_down: set[str] = set()  # attendees disconnected because their media failed
        self._started = False
        self._stopped = False
        self.store_errors = 0

    # --- lifecycle --------------------------------------------------------------------------------

    async def start(self) -> None:
        """Seed the matcher with the event's history and start ticking."""
        if self._started:
            return
        self._started = True
        event_id = self.session.event_id
        meetings = await self.store.meetings_for_event(event_id)
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
        self._tick_task = asyncio.create_task(self._tick_loop(), name=f"sfu-room-{self.session.id}-tick")
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
            for participant in list(self.participants.values()):
                conn = participant.connection
                if conn is not None and not conn.closed:
                    conn.send(await self._welcome(participant))
        logger.info("session %d: rules updated", session.id)

    async def stop(self) -> None:
        """Stop ticking, close every connection (telling clients why) and every peer connection."""
        if self._stopped:
            return
        self._stopped = True
        task, self._tick_task = self._tick_task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        closing = []
        for participant in self.participants.values():
            conn, participant.connection = participant.connection, None
            if conn is not None:
                conn.send(p.Error(code="shutting_down", message="The server is restarting", fatal=True))
                closing.append(conn.close(p.CloseCode.SHUTTING_DOWN, "server shutting down"))
        await asyncio.gather(*closing, return_exceptions=True)
        await asyncio.gather(*(pt.close() for pt in self.participants.values()), return_exceptions=True)
        if self._persisting is not None:
            await asyncio.gather(self._persisting, return_exceptions=True)
        if self._backgrounds is not None:
            for participant in self.participants.values():
                self._backgrounds.release(participant)
        logger.info("room for session %d stopped", self.session.id)

    @property
    def stopped(self) -> bool:
        return self._stopped

    def finished(self) -> bool:
        """Over and empty: the session has ended, no meeting runs and nobody is connected."""
        summary = self.matcher.live_summary()
        return (
            summary.session_ended
            and summary.meetings_running == 0
            and not any(pt.connection for pt in self.participants.values())
        )

    def in_meeting(self, attendee: str) -> bool:
        if attendee not in self.participants:
            return False
        return self.matcher.view(attendee).state is AttendeeState.meeting

    # --- joining ----------------------------------------------------------------------------------

    async def join(
        self, ws: web.WebSocketResponse, ticket: TicketRecord
    ) -> tuple[Participant, AttendeeConnection]:
        """Attach a new socket for `ticket` (replacing an older one) and send the whole state."""
        if self._stopped:
            raise JoinRefused("shutting_down", "The server is restarting", p.CloseCode.SHUTTING_DOWN)
        attendee = str(ticket.id)
        conn = AttendeeConnection(
            ws,
            f"s{self.session.id}-t{ticket.id}",
            ice_servers=self._ice_servers,
            slate=self._slate,
            outbox_size=self.settings.outbox_messages,
        )
        replaced: AttendeeConnection | None = None
        interests = (await self.store.interests.interests_of([ticket.id])).get(ticket.id, [])
        async with self._lock:
            card = p.Me(
                ticket_id=ticket.id,
                name=ticket.name,
                headline=ticket.headline,
                company=ticket.company,
                ticket_type=ticket.ticket_type,
                is_admin=ticket.is_admin,
            )
            participant = self.participants.get(attendee)
            if participant is None:
                participant = self.participants[attendee] = Participant(
                    attendee, card, self._executor, self.settings.effect_fps
                )
            else:
                participant.card = card
            replaced, participant.connection = participant.connection, None
            self._media_down.discard(attendee)
            try:
                events = self.matcher.join(attendee, ticket.ticket_type, interests)
            except MatcherError as exc:
                raise JoinRefused("internal", f"Could not join: {exc}", p.CloseCode.PROTOCOL_ERROR) from exc
            await self._apply(events)
            participant.connection = conn
            participant.session_end_announced = False
            conn.send(await self._welcome(participant))
        if replaced is not None:
            replaced.send(
                p.Error(code="replaced", message="This ticket connected again from another page", fatal=True)
            )
            await replaced.close(p.CloseCode.REPLACED, "replaced by a newer connection")
        return participant, conn

    async def connection_closed(self, participant: Participant, conn: AttendeeConnection) -> None:
        """The socket ended (tab closed, network lost, replaced): grace period if it was the current one."""
        async with self._lock:
            if participant.connection is conn:
                participant.connection = None
                try:
                    await self._apply(self.matcher.disconnect(participant.attendee))
                except MatcherError:
                    logger.exception("disconnect of %s failed", participant.attendee)
        await conn.close()

    # --- client messages --------------------------------------------------------------------------

    async def handle(self, participant: Participant, conn: AttendeeConnection, raw: str | bytes) -> None:
        """Handle one client message; every failure becomes an `error` message, never an exception."""
        try:
            message = p.parse_client(raw)
        except p.ProtocolError as exc:
            conn.bad_messages += 1
            if conn.bad_messages > self.settings.max_bad_messages:
                conn.send(p.Error(code="bad_message", message="Too many malformed messages", fatal=True))
                await conn.close(p.CloseCode.PROTOCOL_ERROR, "too many malformed messages")
                return
            conn.send_error("bad_message", f"Malformed message: {exc}")
            return
        conn.bad_messages = 0
        try:
            await self._dispatch(participant, conn, message)
        except CommandRejected as exc:
            conn.send_error(exc.code, exc.message, message.id)
        except NegotiationFailed as exc:
            conn.send_error("sdp_failed", str(exc), message.id)
        except UnknownAttendee as exc:
            conn.send_error("unknown_attendee", str(exc), message.id)
        except InvalidCommand as exc:
            conn.send_error("invalid_command", str(exc), message.id)
        except Exception:
            logger.exception(
                "session %d: handling %s from %s failed", self.session.id, message.type, conn.name
            )
            conn.send_error("internal", "The server could not handle this message", message.id)

    async def _dispatch(
        self, participant: Participant, conn: AttendeeConnection, msg: p.ClientMessage
    ) -> None:
        attendee = participant.attendee
        match msg:
            case p.Hello():
                if msg.protocol != p.PROTOCOL_VERSION:
                    conn.send(
                        p.Error(
                            code="unsupported_version",
                            message=f"This server speaks protocol {p.PROTOCOL_VERSION}, not {msg.protocol}",
                            ref=msg.id,
                            fatal=True,
                        )
                    )
                    await conn.close(p.CloseCode.PROTOCOL_ERROR, "unsupported protocol version")
                    return
                async with self._lock:
                    conn.send(await self._welcome(participant))
            case p.Offer():
                # Negotiation (ICE gathering) takes a while: outside the lock.
                answer = await conn.negotiate(msg.sdp, participant.video, participant.audio)
                conn.send(p.ServerAnswer(sdp=answer))
                async with self._lock:
                    if participant.connection is not conn:
                        return
                    participant.route()
                    if attendee in self._media_down:
                        self._media_down.discard(attendee)
                        await self._apply(self.matcher.reconnect(attendee))
            case p.Answer():
                raise CommandRejected("invalid_command", "The server sent no offer to answer")
            case p.Ice():
                await conn.add_ice_candidate(msg.candidate)
            case p.Ping():
                conn.send(p.Pong(id=msg.id, server_time=self._clock()))
            case p.SetBackground() | p.Preview():
                await self._set_background(participant, conn, msg)
            case _:
                async with self._lock:
                    await self._command(participant, msg)

    async def _command(self, participant: Participant, msg: p.ClientMessage) -> None:
        """Matcher commands (under the lock)."""
        attendee = participant.attendee
        matcher = self.matcher
        events: list[Event]
        match msg:
            case p.Ready():
                events = matcher.ready(attendee)
                events += matcher.tick()  # pair at once rather than on the next tick
            case p.Unready():
                if self._state(attendee) is AttendeeState.meeting:
                    raise CommandRejected("invalid_command", "You are in a meeting: use leave")
                events = matcher.unready(attendee)
            case p.Leave():
                self._require_meeting(attendee)
                events = matcher.leave(attendee)
            case p.ExtendOffer():
                self._require_meeting(attendee)
                events = matcher.extend_offer(attendee)
            case p.ExtendAccept():
                self._require_meeting(attendee)
                events = matcher.extend_accept(attendee)
            case p.ExtendDecline():
                self._require_meeting(attendee)
                events = matcher.extend_decline(attendee)
            case p.ConnectRequest():
                events = matcher.connect_request(attendee, self._other(attendee, msg.ticket_id))
            case p.ConnectAccept():
                events = matcher.connect_accept(attendee, self._other(attendee, msg.ticket_id))
            case p.Block():
                other = self._other(attendee, msg.ticket_id)
                events = matcher.block(attendee, other)
                if not any(isinstance(e, Blocked) for e in events):
                    participant_conn = participant.connection
                    if participant_conn is not None:  # already blocked: confirm again
                        participant_conn.send(p.Blocked(ticket_id=int(other)))
            case p.Report():
                events = matcher.report(attendee, self._other(attendee, msg.ticket_id), msg.reason)
            case _:
                raise CommandRejected("bad_message", f"Unexpected message {msg.type}")
        await self._apply(events)

    async def reload_interests(self, attendees: list[str] | None = None) -> None:
        """Interests changed in the store (these attendees', or anyone's): the matcher weighs the new
        ones from its next pairing."""
        async with self._lock:
            known = self.participants
            wanted = [a for a in (known if attendees is None else attendees) if a in known]
            stored = await self.store.interests.interests_of(int(a) for a in wanted)
            for attendee in wanted:
                self.matcher.set_interests(attendee, stored.get(int(attendee), []))

    async def request_connection(self, attendee: str, other: str) -> bool:
        """A connection request made away from the socket (the HTTP API), handled as the socket's
        `connect_request` is: the matcher decides (asking back accepts), both attendees get
        `connection`, and the row is written before this returns. False when this room cannot take
        it (the attendee never joined it, or its matcher refuses): the store's rules then answer."""
        async with self._lock:
            participant = self.participants.get(attendee)
            if self._stopped or participant is None:
                return False
            try:
                await self._command(participant, p.ConnectRequest(ticket_id=int(other)))
            except (MatcherError, CommandRejected) as exc:
                logger.debug(
                    "session %d: connection %s -> %s left to the store: %s",
                    self.session.id,
                    attendee,
                    other,
                    exc,
                )
                return False
            return True

    def _state(self, attendee: str) -> AttendeeState:
        return self.matcher.view(attendee).state

    def _require_meeting(self, attendee: str) -> None:
        if self._state(attendee) is not AttendeeState.meeting:
            raise CommandRejected("not_in_meeting", "You are not in a meeting")

    def _other(self, attendee: str, ticket_id: int | None) -> str:
        """The attendee a command names: the given ticket, or the current partner."""
        if ticket_id is not None:
            if str(ticket_id) == attendee:
                raise CommandRejected("invalid_command", "That is your own ticket")
            return str(ticket_id)
        meeting = self.matcher.view(attendee).meeting
        if meeting is None:
            raise CommandRejected("not_in_meeting", "Not in a meeting: name the attendee (ticket_id)")
        return meeting.partner

    async def _set_background(
        self, participant: Participant, conn: AttendeeConnection, msg: p.SetBackground | p.Preview
    ) -> None:
        if isinstance(msg, p.SetBackground):
            processor: FrameProcessor | None = None
            if self._backgrounds is not None:
                try:
                    processor = await self._backgrounds.processor_for(
                        participant, msg.background, self.session.event_id
                    )
                except (ValueError, LookupError) as exc:
                    raise CommandRejected("invalid_command", f"Background not available: {exc}") from exc
            elif msg.background.kind != "none":
                raise CommandRejected("invalid_command", "Virtual backgrounds are off on this server")
            if processor is not None and self.metrics is not None:
                processor = self.metrics.timed(processor)
            participant.video.set_processor(processor)
            participant.background = msg.background
            if msg.preview is not None:
                participant.preview = msg.preview
        else:
            participant.preview = msg.on
        participant.route()
        conn.send(p.BackgroundSet(background=participant.background, preview=participant.preview))

    # --- ticking ----------------------------------------------------------------------------------

    async def _tick_loop(self) -> None:
        interval = self.settings.tick_seconds
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("session %d: tick failed", self.session.id)
            await asyncio.sleep(interval)

    async def tick(self) -> None:
        """Advance the matcher (deadlines, grace periods, pairing), notice failed media, announce the end."""
        async with self._lock:
            events: list[Event] = []
            for participant in self.participants.values():
                conn = participant.connection
                if conn is not None and conn.media_failed and participant.attendee not in self._media_down:
                    self._media_down.add(participant.attendee)
                    events += self.matcher.disconnect(participant.attendee)
            events += self.matcher.tick()
            await self._apply(events)
            if self.matcher.session_ended():
                for participant in self.participants.values():
                    conn = participant.connection
                    if conn is None or participant.session_end_announced:
                        continue
                    if self._state(participant.attendee) is AttendeeState.meeting:
                        continue  # a meeting running at the end runs to its own end
                    participant.session_end_announced = True
                    conn.send(p.SessionEnded(matches=await self._matches(participant)))

    # --- events -> media, messages, rows ----------------------------------------------------------

    def _send(self, attendee: str, message: BaseModel) -> None:
        participant = self.participants.get(attendee)
        if participant is not None and participant.connection is not None:
            participant.connection.send(message)

    @staticmethod
    def _party(attendee: str, who: str | None) -> p.Party | None:
        if who is None:
            return None
        return "me" if who == attendee else "partner"

    async def _apply(self, events: list[Event]) -> None:
        """Route media and send messages for `events` at once, then persist them in order."""
        for event in events:
            try:
                self._notify(event)
            except Exception:
                logger.exception("session %d: applying %s failed", self.session.id, event.kind)
            if self.metrics is not None:
                self.metrics.observe_event(event)
        if not any(isinstance(e, _STORED_EVENTS) for e in events):
            return
        # Rows are written by a room-owned task, chained after the previous one: if the command that
        # caused them is cancelled (its socket closed, the server stopping), history is still written,
        # in order, and stop() waits for it.
        previous = self._persisting
        job = asyncio.create_task(
            self._persist_all(previous, events), name=f"sfu-room-{self.session.id}-store"
        )
        self._persisting = job
        await asyncio.shield(job)

    async def _persist_all(self, previous: asyncio.Task[None] | None, events: list[Event]) -> None:
        if previous is not None:
            await asyncio.gather(previous, return_exceptions=True)
        for event in events:
            await self._persist(event)

    def _notify(self, event: Event) -> None:
        match event:
            case Matched(meeting_id=mid, a=a, b=b):
                self._meetings[mid] = (a, b)
                pa, pb = self.participants[a], self.participants[b]
                pa.partner, pb.partner = pb, pa
                pa.route()
                pb.route()
                for attendee in (a, b):
                    info = self._meeting_info(self.matcher.view(attendee))
                    if info is not None and info.meeting_id == mid:
                        self._send(attendee, p.Matched(meeting=info))
            case MeetingDeadlineChanged(meeting_id=mid, ends_at=ends_at):
                for attendee in self._meeting_members(mid):
                    self._send(attendee, p.MeetingDeadline(meeting_id=mid, ends_at=ends_at))
            case ExtendOffered(meeting_id=mid, by=by):
                for attendee in self._meeting_members(mid):
                    party = self._party(attendee, by)
                    assert party is not None
                    self._send(attendee, p.ExtendOffered(meeting_id=mid, by=party))
            case ExtendAccepted(meeting_id=mid, by=by, ends_at=ends_at):
                for attendee in self._meeting_members(mid):
                    meeting = self.matcher.view(attendee).meeting
                    left = meeting.extensions_left if meeting is not None else 0
                    party = self._party(attendee, by)
                    assert party is not None
                    self._send(
                        attendee,
                        p.ExtendAccepted(meeting_id=mid, by=party, ends_at=ends_at, extensions_left=left),
                    )
            case ExtendDeclined(meeting_id=mid, by=by):
                for attendee in self._meeting_members(mid):
                    self._send(attendee, p.ExtendDeclined(meeting_id=mid, by=self._party(attendee, by)))
            case MeetingEnded(meeting_id=mid, a=a, b=b):
                for attendee in (a, b):
                    participant = self.participants.get(attendee)
                    if participant is not None and participant.partner is not None:
                        if participant.partner.attendee in (a, b):
                            participant.partner = None
                            participant.route()
                    self._send(
                        attendee,
                        p.MeetingEnded(
                            meeting_id=mid,
                            reason=event.reason.value,
                            left_by=self._party(attendee, event.left_by),
                            ended_at=event.ended_at,
                            match=self._match_item(attendee, mid),
                        ),
                    )
            case PartnerDisconnected(meeting_id=mid, attendee=dropped, grace_until=grace):
                for attendee in self._meeting_members(mid):
                    if attendee != dropped:
                        self._send(attendee, p.PartnerDisconnected(meeting_id=mid, grace_until=grace))
            case PartnerReconnected(meeting_id=mid, attendee=back):
                for attendee in self._meeting_members(mid):
                    if attendee != back:
                        self._send(attendee, p.PartnerReconnected(meeting_id=mid))
            case ConnectionChanged(a=a, b=b, requested_by=by, state=link_state):
                for attendee, other in ((a, b), (b, a)):
                    party = self._party(attendee, by)
                    assert party is not None
                    link = p.ConnectionInfo(ticket_id=int(other), state=link_state.value, requested_by=party)
                    self._send(attendee, p.Connection(connection=link, partner=self._card(other)))
            case WaitingStatus():
                self._send(event.attendee, p.Waiting(waiting=self._waiting_info(event)))
            case StateChanged(attendee=attendee, state=attendee_state):
                self._send(attendee, p.State(state=attendee_state.value))
            case Blocked(by=by, blocked=blocked):
                self._send(by, p.Blocked(ticket_id=int(blocked)))
            case Reported(by=by, reported=reported):
                self._send(by, p.Reported(ticket_id=int(reported)))

    async def _persist(self, event: Event) -> None:
        store = self.store
        try:
            match event:
                case Matched():
                    row = await store.record_meeting_started(
                        self.session.id,
                        int(event.a),
                        int(event.b),
                        _dt(event.started_at),
                        event.a_waited_seconds,
                        event.b_waited_seconds,
                    )
                    self._meeting_rows[event.meeting_id] = row
                case MeetingEnded():
                    row_id = self._meeting_rows.pop(event.meeting_id, None)
                    if row_id is not None:
                        await store.record_meeting_ended(
                            row_id, _dt(event.ended_at), event.extensions, event.reason.value
                        )
                case ConnectionChanged():
                    await store.set_connection(
                        int(event.a), int(event.b), int(event.requested_by), event.state.value, _dt(event.at)
                    )
                case Blocked():
                    await store.record_block(
                        self.session.event_id, int(event.by), int(event.blocked), _dt(event.at)
                    )
                case Reported():
                    await store.record_report(
                        self.session.id, int(event.by), int(event.reported), event.reason, _dt(event.at)
                    )
        except Exception:
            # History matters, but a failing database must not stop the meetings: log loudly, go on.
            self.store_errors += 1
            logger.exception("session %d: storing %s failed", self.session.id, event.kind)

    def _meeting_members(self, meeting_id: str) -> tuple[str, ...]:
        # Kept after the meeting ends: an offer lapsing at 0:00 is reported after the end.
        return self._meetings.get(meeting_id, ())

    # --- views ------------------------------------------------------------------------------------

    def _card(self, attendee: str) -> p.PartnerCard | None:
        participant = self.participants.get(attendee)
        return participant.partner_card if participant is not None else None

    def _meeting_info(self, view: AttendeeView) -> p.MeetingInfo | None:
        meeting = view.meeting
        if meeting is None:
            return None
        card = self._card(meeting.partner)
        if card is None:
            return None
        connection = next((c for c in view.connections if c.other == meeting.partner), None)
        return p.MeetingInfo(
            meeting_id=meeting.meeting_id,
            partner=card,
            started_at=meeting.started_at,
            ends_at=meeting.ends_at,
            extend=p.ExtendInfo(
                offered_by=self._party(view.attendee, meeting.extend_offered_by),
                extensions_left=meeting.extensions_left,
                window_opens_at=meeting.extend_window_opens_at,
            ),
            connection=(
                p.ConnectionInfo(
                    ticket_id=int(connection.other),
                    state=connection.state.value,
                    requested_by="me" if connection.requested_by == view.attendee else "partner",
                )
                if connection is not None
                else None
            ),
            partner_connected=meeting.partner_connected,
            partner_grace_until=meeting.partner_grace_until,
            shared_interests=sorted(meeting.shared_interests),
        )

    @staticmethod
    def _waiting_info(status: WaitingStatus) -> p.WaitingInfo:
        return p.WaitingInfo(
            since=status.waiting_since,
            eligible_waiting=status.eligible_waiting,
            eligible_ending_soon=status.eligible_ending_soon,
            estimated_wait_seconds=status.estimated_wait_seconds,
            reason=status.reason,
        )

    def _match_item(self, attendee: str, meeting_id: str) -> p.MatchItem | None:
        record = next((r for r in self.matcher.matches_of(attendee) if r.meeting_id == meeting_id), None)
        card = self._card(record.partner) if record is not None else None
        if record is None or card is None:
            return None
        connection = None
        if record.connection is not None and record.connection_requested_by is not None:
            connection = p.ConnectionInfo(
                ticket_id=card.ticket_id,
                state=record.connection.value,
                requested_by="me" if record.connection_requested_by == attendee else "partner",
            )
        return p.MatchItem(
            partner=card,
            started_at=record.started_at,
            ended_at=record.ended_at,
            seconds=record.seconds,
            extensions=record.extensions,
            end_reason=record.end_reason.value if record.end_reason is not None else None,
            connection=connection,
        )

    async def _matches(self, participant: Participant) -> list[p.MatchItem]:
        """Everyone the attendee met in this session, from the store (so a restart loses nothing)."""
        rows = await self.store.matches_for_ticket(participant.ticket_id, self.session.id)
        return [self._match_from_row(row) for row in rows]

    @staticmethod
    def _match_from_row(row: MatchView) -> p.MatchItem:
        ended = row.ended_at.timestamp() if row.ended_at is not None else None
        started = row.started_at.timestamp()
        connection = None
        if row.connection in ("requested", "accepted"):
            connection = p.ConnectionInfo(
                ticket_id=row.partner_ticket_id,
                state="accepted" if row.connection == "accepted" else "requested",
                requested_by="me" if row.connection_requested_by_me else "partner",
            )
        return p.MatchItem(
            partner=p.PartnerCard(
                ticket_id=row.partner_ticket_id,
                name=row.partner_name,
                headline=row.partner_headline,
                company=row.partner_company,
                ticket_type=row.partner_ticket_type,
            ),
            started_at=started,
            ended_at=ended,
            seconds=row.seconds if row.seconds is not None else max(0.0, time.time() - started),
            extensions=row.extensions,
            end_reason=_END_REASONS.get(row.end_reason or ""),
            connection=connection,
        )

    async def _welcome(self, participant: Participant) -> p.Welcome:
        view = self.matcher.view(participant.attendee)
        session = self.session
        now = self._clock()
        status = session.status(_dt(now))
        return p.Welcome(
            server_time=now,
            me=participant.card,
            session=p.SessionInfo(
                id=session.id,
                event_id=session.event_id,
                title=session.title,
                starts_at=session.starts_at.timestamp(),
                ends_at=session.ends_at.timestamp(),
                meeting_seconds=session.meeting_seconds,
                status="live" if status == "live" else ("upcoming" if status == "upcoming" else "ended"),
            ),
            ice_servers=[
                p.IceServer(
                    urls=[s.urls] if isinstance(s.urls, str) else list(s.urls),
                    username=s.username,
                    credential=s.credential,
                )
                for s in self._ice_servers
            ],
            state=view.state.value,
            meeting=self._meeting_info(view),
            waiting=self._waiting_info(view.waiting) if view.waiting is not None else None,
            connections=[
                p.ConnectionInfo(
                    ticket_id=int(c.other),
                    state=c.state.value,
                    requested_by="me" if c.requested_by == participant.attendee else "partner",
                )
                for c in view.connections
            ],
            matches=await self._matches(participant),
            background=participant.background,
            preview=participant.preview,
            session_over=view.session_ended,
        )

    # --- live counts ------------------------------------------------------------------------------

    def live(self) -> dict[str, object]:
        """Live counts for the admin page: the matcher's summary plus media figures."""
        summary = self.matcher.live_summary()
        connections = [pt.connection for pt in self.participants.values() if pt.connection is not None]
        return {
            "session_id": self.session.id,
            "attendees": summary.attendees,
            "connected": summary.connected,
            "idle": summary.idle,
            "waiting": summary.waiting,
            "in_meetings": summary.in_meetings,
            "meetings_running": summary.meetings_running,
            "meetings_started": summary.meetings_started,
            "meetings_ended": summary.meetings_ended,
            "extensions": summary.extensions,
            "connections_requested": summary.connections_requested,
            "connections_accepted": summary.connections_accepted,
            "blocks": summary.blocks,
            "reports": summary.reports,
            "session_ended": summary.session_ended,
            "sockets": len(connections),
            "peer_connections": sum(
                1 for c in connections if c.pc is not None and c.pc.connectionState == "connected"
            ),
            "video_frames_in": sum(
                max(pt.video.frames_in, pt.video.relay.frames_in) for pt in self.participants.values()
            ),
            "video_frames_out": sum(c.video_out.frames_sent for c in connections if c.video_out is not None),
            "store_errors": self.store_errors,
            "server_time": self._clock(),
            "meetings": self._running_meetings(),
        }

    def _running_meetings(self) -> list[dict[str, object]]:
        """The meetings in progress, for the organiser's live view (names, deadline, extensions)."""
        running: list[tuple[float, dict[str, object]]] = []
        for participant in self.participants.values():
            partner = participant.partner
            if partner is None or participant.attendee > partner.attendee:
                continue  # not in a meeting, or listed from the other side
            meeting = self.matcher.view(participant.attendee).meeting
            if meeting is None:
                continue
            item: dict[str, object] = {
                "meeting_id": meeting.meeting_id,
                "a": {"ticket_id": participant.ticket_id, "name": participant.card.name},
                "b": {"ticket_id": partner.ticket_id, "name": partner.card.name},
                "started_at": meeting.started_at,
                "ends_at": meeting.ends_at,
                "extensions": meeting.extensions,
            }
            running.append((meeting.ends_at, item))
        running.sort(key=lambda pair: pair[0])
        return [item for _, item in running]
