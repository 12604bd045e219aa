"""The live rooms of one control plane: one `SessionRoom` per live session, created on first join, and
the media plane's events handed to the room whose peer they concern."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sfu import interface as mi
from web.room.errors import JoinRefused
from web.room.live import LiveCounts
from web.room.room import SessionRoom
from web.room.settings import RoomSettings
from web.store.records import SessionRecord, TicketRecord
from web.store.store import Store
from wire import protocol as p

if TYPE_CHECKING:
    from web.session_metrics import SessionMetrics


def session_of_peer(peer: str) -> int | None:
    """The session id in a peer id made by `web.room.room.peer_id` (None for another form)."""
    head, _, _ = peer.partition("-")
    if not head.startswith("s") or not head[1:].isdigit():
        return None
    return int(head[1:])


class RoomRegistry:
    """Creates, finds and stops rooms. `close()` stops every room (safe to call twice)."""

    def __init__(
        self,
        store: Store,
        media: mi.MediaPlane,
        *,
        ice_servers: list[p.IceServer] | None = None,
        settings: RoomSettings | None = None,
        clock: Callable[[], float] | None = None,
        metrics: SessionMetrics | None = None,
    ) -> None:
        self.store = store
        self.media = media
        self.metrics = metrics
        self.settings = settings or RoomSettings()
        self._ice_servers = list(ice_servers or [])
        self._clock = clock or self.settings.clock
        self._rooms: dict[int, SessionRoom] = {}
        self._sessions_loading: dict[int, asyncio.Future[SessionRecord | None]] = {}
        self._lock = asyncio.Lock()
        self._closed = False
        media.add_listener(self._media_event)

    def get(self, session_id: int) -> SessionRoom | None:
        return self._rooms.get(session_id)

    def rooms(self) -> list[SessionRoom]:
        return list(self._rooms.values())

    async def live_summary(self, session_id: int) -> LiveCounts | None:
        """Live counts of a session's room for the admin API; None when no room runs for it."""
        room = self._rooms.get(session_id)
        return await room.live() if room is not None else None

    def holds(
        self, *, event_id: int | None = None, session_id: int | None = None, ticket_id: int | None = None
    ) -> bool:
        """See `web.keys.LiveRooms.holds`. A room counts while its session is live or a meeting in it
        runs: after that it writes no more meetings."""
        for room in self._rooms.values():
            summary = room.matcher.live_summary()
            if summary.session_ended and summary.meetings_running == 0:
                continue
            if event_id is not None and room.session.event_id == event_id:
                return True
            if session_id is not None and room.session.id == session_id:
                return True
            if ticket_id is not None and str(ticket_id) in room.attendees:
                return True
        return False

    async def ticket_changed(self, before: TicketRecord, after: TicketRecord | None) -> None:
        """An organiser changed or deleted a ticket: every room of its event applies it at once (see
        `SessionRoom.ticket_changed`)."""
        for room in list(self._rooms.values()):
            if room.session.event_id == before.event_id:
                await room.ticket_changed(before, after)

    async def removal_changed(self, session_id: int, ticket_id: int, removed: bool) -> None:
        """The organiser removed a ticket from a session (taken out of its running room at once, see
        `SessionRoom.remove`) or let it back."""
        room = self._rooms.get(session_id)
        if room is None:
            return
        if removed:
            await room.remove(ticket_id)
        else:
            room.roster.removed.discard(str(ticket_id))

    async def session_changed(self, session: SessionRecord) -> None:
        """Hand an edited session to its running room, if any (see `SessionRoom.update_session`)."""
        room = self._rooms.get(session.id)
        if room is not None:
            await room.update_session(session)

    async def interests_changed(self, event_id: int, ticket_ids: list[int] | None = None) -> None:
        """See `web.keys.LiveRooms.interests_changed`: the event's running rooms reload them."""
        attendees = None if ticket_ids is None else [str(t) for t in ticket_ids]
        for room in list(self._rooms.values()):
            if room.session.event_id == event_id:
                await room.reload_interests(attendees)

    async def connect(self, event_id: int, by_ticket_id: int, other_ticket_id: int) -> bool:
        """Ask to connect (asking back accepts) through a live room of the event that `by_ticket_id`
        joined, so that room's matcher stays the source of truth and both attendees hear of it at once.
        Only one room takes it (another would restate an older state). False when none does."""
        if self._closed:
            return False
        by, other = str(by_ticket_id), str(other_ticket_id)

        def rank(room: SessionRoom) -> tuple[bool, bool]:
            # Rooms where the other attendee is too, connected first: they see the change live.
            them = room.attendees.get(other)
            return them is None, them is None or them.socket is None

        rooms = [
            room
            for room in self._rooms.values()
            if room.session.event_id == event_id and by in room.attendees
        ]
        for room in sorted(rooms, key=rank):
            if await room.request_connection(by, other):
                return True
        return False

    async def session(self, session_id: int) -> SessionRecord | None:
        """The stored session; sockets arriving together share one look-up."""
        pending = self._sessions_loading.get(session_id)
        if pending is None:
            pending = asyncio.ensure_future(self.store.get_session(session_id))
            self._sessions_loading[session_id] = pending
            pending.add_done_callback(lambda _: self._sessions_loading.pop(session_id, None))
        return await asyncio.shield(pending)

    async def open_room(self, session_id: int) -> SessionRoom | None:
        """The running room of a session, started now if the session is live; None if it is not (or
        does not exist). A join storm reads the session once and starts its room once, before any of
        its sockets asks the store anything else."""
        room = self._rooms.get(session_id)
        if room is not None and not room.stopped:
            return room
        session = await self.session(session_id)
        if session is None or session.status(datetime.fromtimestamp(self._clock(), UTC)) != "live":
            return None
        try:
            return await self.room_for(session, "")
        except JoinRefused:
            return None

    async def room_for(self, session: SessionRecord, attendee: str) -> SessionRoom:
        """The room `attendee` may join now; raises JoinRefused when the session is not live (an attendee
        whose meeting is still running after the session's end may come back to it)."""
        async with self._lock:
            if self._closed:
                raise JoinRefused("shutting_down", "The server is restarting", p.CloseCode.SHUTTING_DOWN)
            await self._reap()
            room = self._rooms.get(session.id)
            status = session.status(datetime.fromtimestamp(self._clock(), UTC))
            if status == "live":
                if room is None:
                    room = SessionRoom(
                        session,
                        self.store,
                        self.media,
                        ice_servers=self._ice_servers,
                        settings=self.settings,
                        clock=self._clock,
                        metrics=self.metrics,
                    )
                    await room.start()
                    self._rooms[session.id] = room
                return room
            if room is not None and room.in_meeting(attendee):
                return room
            if status == "upcoming":
                starts = session.starts_at.strftime("%Y-%m-%d %H:%M UTC")
                raise JoinRefused(
                    "session_not_live",
                    f"The session has not started yet (starts {starts})",
                    p.CloseCode.SESSION_NOT_LIVE,
                )
            raise JoinRefused("session_not_live", "The session has ended", p.CloseCode.SESSION_NOT_LIVE)

    def _media_event(self, event: mi.MediaEvent) -> None:
        peer = getattr(event, "peer", None)
        if peer is None:
            return
        session_id = session_of_peer(peer)
        room = self._rooms.get(session_id) if session_id is not None else None
        if room is not None:
            room.media_event(event)

    async def _reap(self) -> None:
        """Stop rooms whose session is over and which nobody uses any more."""
        for session_id, room in list(self._rooms.items()):
            if room.finished():
                del self._rooms[session_id]
                await room.stop()

    async def close(self) -> None:
        async with self._lock:
            self._closed = True
            rooms, self._rooms = list(self._rooms.values()), {}
        await asyncio.gather(*(room.stop() for room in rooms), return_exceptions=True)
