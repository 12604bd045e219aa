"""An attendee inside a room, for the room's whole life, as the control plane keeps them: their card,
their current socket, who they are paired with, and their media settings (the media itself is the media
plane's peer `peer`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel

from sfu.interface import Route
from web.room.socket import AttendeeSocket
from wire import protocol as p


@dataclass
class Attendee:
    attendee: str  # the matcher's id: the ticket id as text
    card: p.Me
    peer: str  # the media plane's peer id
    socket: AttendeeSocket | None = None
    partner: Attendee | None = None
    background: p.Background = field(default_factory=p.NoBackground)
    preview: bool = False
    session_end_announced: bool = False
    media_down: bool = False  # disconnected in the matcher because their media failed

    @property
    def ticket_id(self) -> int:
        return self.card.ticket_id

    @property
    def partner_card(self) -> p.PartnerCard:
        return p.PartnerCard(
            ticket_id=self.card.ticket_id,
            name=self.card.name,
            headline=self.card.headline,
            company=self.card.company,
            ticket_type=self.card.ticket_type,
        )

    def route(self) -> Route:
        """What this attendee should see and hear now: the partner, their own preview, or the slate."""
        if self.partner is not None:
            return Route(peer=self.peer, to="partner", partner=self.partner.peer)
        if self.preview:
            return Route(peer=self.peer, to="preview")
        return Route(peer=self.peer, to="slate")

    def send(self, message: BaseModel) -> None:
        if self.socket is not None:
            self.socket.send(message)
