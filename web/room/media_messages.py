"""The attendees' messages about their media, as a session room handles them: SDP offers and ICE
candidates (answered by the media plane), and background settings (an image background is checked here,
against the store's assets, before the media plane reads its file)."""

from __future__ import annotations

import asyncio

from sfu import interface as mi
from web.room.attendee import Attendee
from web.room.errors import CommandRejected
from web.room.media import RoomMedia
from web.room.socket import AttendeeSocket
from web.store.records import SessionRecord
from web.store.store import Store
from wire import protocol as p


class MediaMessages:
    """Part of `web.room.room.SessionRoom`, which provides what is declared here."""

    session: SessionRecord
    store: Store
    media: RoomMedia
    _lock: asyncio.Lock
    _media_failed: set[str]

    def _reconnect(self, attendee: Attendee) -> None:
        raise NotImplementedError

    async def _answer(self, attendee: Attendee, sock: AttendeeSocket, msg: p.Offer) -> None:
        # Negotiation (ICE gathering) takes a while: outside the lock.
        if attendee.socket is not sock:
            return
        reply = await self.media.call(mi.AnswerOffer(peer=attendee.peer, sdp=msg.sdp))
        if isinstance(reply, mi.Refused):
            raise CommandRejected("sdp_failed", reply.message)
        if not isinstance(reply, mi.Answered):
            raise CommandRejected("internal", "The media server gave no answer")
        sock.send(p.ServerAnswer(sdp=reply.sdp))
        async with self._lock:
            if attendee.socket is not sock:
                return
            self._media_failed.discard(attendee.attendee)  # a failure reported before is of the old one
            self._reconnect(attendee)

    async def _add_ice_candidate(self, attendee: Attendee, sock: AttendeeSocket, msg: p.Ice) -> None:
        if attendee.socket is sock:
            reply = await self.media.call(mi.AddIceCandidate(peer=attendee.peer, candidate=msg.candidate))
            if isinstance(reply, mi.Refused):
                raise CommandRejected("sdp_failed", reply.message)

    async def _set_background(
        self, attendee: Attendee, sock: AttendeeSocket, msg: p.SetBackground | p.Preview
    ) -> None:
        if isinstance(msg, p.SetBackground):
            image = await self._background_image(attendee, msg.background)
            command = mi.SetBackground(peer=attendee.peer, background=msg.background, image=image)
            reply = await self.media.call(command)
            if isinstance(reply, mi.Refused):
                if reply.code == "effects_off":
                    raise CommandRejected("invalid_command", "Virtual backgrounds are off on this server")
                raise CommandRejected("invalid_command", f"Background not available: {reply.message}")
            attendee.background = msg.background
            if msg.preview is not None:
                attendee.preview = msg.preview
        else:
            attendee.preview = msg.on
        self.media.post(attendee.route())
        sock.send(p.BackgroundSet(background=attendee.background, preview=attendee.preview))

    async def _background_image(self, attendee: Attendee, background: p.Background) -> str | None:
        """The stored file of an image background this attendee may use (the event's backgrounds and
        their own uploads); None for other kinds."""
        if not isinstance(background, p.ImageBackground):
            return None
        asset = await self.store.get_asset(background.asset_id)
        usable = (
            asset is not None
            and asset.event_id == self.session.event_id
            and asset.purpose == "background"
            and asset.kind == "image"
            and asset.ticket_id in (None, attendee.ticket_id)
        )
        if asset is None or not usable:
            raise CommandRejected(
                "invalid_command",
                f"Background not available: no background image {background.asset_id} for you",
            )
        return asset.filename
