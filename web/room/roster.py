"""The event's people as a room knows them, read once when the room starts: every ticket (for admitting
sockets without the store, and for the cards of partners who are not in the room), and this session's
meetings stored before the room started (after a restart, the matches list still has them), and the
attendees the organiser removed from the session (kept up to date by the room)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from matcher import ConnectionView, MatchRecord
from web.room import views
from web.store.records import MeetingRecord, TicketRecord
from wire import protocol as p


class Roster:
    def __init__(self, session_id: int, event_id: int) -> None:
        self.session_id = session_id
        self.event_id = event_id
        self._tickets: dict[str, TicketRecord] = {}  # by secret
        self._cards: dict[str, p.PartnerCard] = {}  # by attendee (the ticket id as text)
        self._past: dict[str, list[MeetingRecord]] = {}  # by attendee
        self._interests: dict[str, list[str]] = {}  # by attendee; None known: none
        self._loaded: set[str] = set()  # attendees whose interests were read
        self.removed: set[str] = set()  # attendees the organiser removed from this session

    def load(
        self,
        tickets: Iterable[TicketRecord],
        meetings: Iterable[MeetingRecord],
        interests: Mapping[int, list[str]],
    ) -> None:
        """The event's tickets, its meetings (those of this session are kept) and its tickets' interests."""
        for ticket in tickets:
            self.remember(ticket)
            self.set_interests(str(ticket.id), interests.get(ticket.id, []))
        for meeting in meetings:
            if meeting.session_id == self.session_id:
                for ticket_id in (meeting.a_ticket_id, meeting.b_ticket_id):
                    self._past.setdefault(str(ticket_id), []).append(meeting)

    def ticket_by_secret(self, secret: str) -> TicketRecord | None:
        """A ticket of the event (None: not known here; ask the store)."""
        return self._tickets.get(secret)

    def remember(self, ticket: TicketRecord) -> None:
        if ticket.event_id == self.event_id:
            self._tickets[ticket.secret] = ticket
            self._cards[str(ticket.id)] = views.card_of_ticket(ticket)

    def forget(self, ticket: TicketRecord) -> None:
        """The ticket's secret stops working here (its card stays, for the matches lists)."""
        self._tickets.pop(ticket.secret, None)

    def interests(self, attendee: str) -> list[str] | None:
        """The attendee's interest tags (None: not read yet, e.g. a ticket made since the room started)."""
        return self._interests.get(attendee, []) if attendee in self._loaded else None

    def forget_interests(self) -> None:
        """Interests changed in the store: read each again when needed."""
        self._loaded.clear()
        self._interests.clear()

    def set_interests(self, attendee: str, interests: list[str]) -> None:
        self._loaded.add(attendee)
        if interests:
            self._interests[attendee] = list(interests)
        else:
            self._interests.pop(attendee, None)

    def card(self, attendee: str) -> p.PartnerCard | None:
        return self._cards.get(attendee)

    def matches(
        self,
        attendee: str,
        live: Iterable[MatchRecord],
        links: Mapping[str, ConnectionView],
        card_of: views.CardOf,
        now: float,
    ) -> list[p.MatchItem]:
        """Everyone the attendee met in this session: the meetings stored before the room started, then
        the room's own (`live`, the matcher's records), with each connection as it is now."""
        items = []
        for meeting in self._past.get(attendee, []):
            partner = str(
                meeting.b_ticket_id if str(meeting.a_ticket_id) == attendee else meeting.a_ticket_id
            )
            card = card_of(partner)
            if card is not None:
                items.append(views.past_match(attendee, meeting, card, links.get(partner), now))
        for record in live:
            card = card_of(record.partner)
            if card is not None:
                items.append(views.match_item(attendee, record, card))
        return items
