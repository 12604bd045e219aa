"""What attendees are shown, built from the matcher's views and the room's cards: the meeting, the
waiting status, the matches list and the welcome. Pure functions, no I/O."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from matcher import AttendeeView, ConnectionView, MatchRecord, WaitingStatus
from web.store.records import MeetingRecord, SessionRecord, TicketRecord
from wire import protocol as p

CardOf = Callable[[str], p.PartnerCard | None]

END_REASONS: dict[str, p.EndReasonName] = {
    "timeout": "timeout",
    "left": "left",
    "partner_left": "partner_left",
    "blocked": "blocked",
    "session_closed": "session_closed",
    "server_restart": "server_restart",
}


def party(attendee: str, who: str | None) -> p.Party | None:
    if who is None:
        return None
    return "me" if who == attendee else "partner"


def meeting_info(view: AttendeeView, card_of: CardOf) -> p.MeetingInfo | None:
    meeting = view.meeting
    if meeting is None:
        return None
    card = card_of(meeting.partner)
    if card is None:
        return None
    connection = next((c for c in view.connections if c.other == meeting.partner), None)
    return p.MeetingInfo(
        meeting_id=meeting.meeting_id,
        partner=card,
        started_at=meeting.started_at,
        ends_at=meeting.ends_at,
        extend=p.ExtendInfo(
            offered_by=party(view.attendee, meeting.extend_offered_by),
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


def waiting_info(status: WaitingStatus) -> p.WaitingInfo:
    return p.WaitingInfo(
        since=status.waiting_since,
        eligible_waiting=status.eligible_waiting,
        eligible_ending_soon=status.eligible_ending_soon,
        estimated_wait_seconds=status.estimated_wait_seconds,
        reason=status.reason,
    )


def match_item(attendee: str, record: MatchRecord, card: p.PartnerCard) -> p.MatchItem:
    """One meeting of this session as the matcher remembers it."""
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


def past_match(
    attendee: str, meeting: MeetingRecord, card: p.PartnerCard, link: ConnectionView | None, now: float
) -> p.MatchItem:
    """A meeting of this session stored before the room started (a server restart), as the attendee
    sees it now (a meeting still open in the store counts its seconds up to `now`)."""
    ended = meeting.ended_at.timestamp() if meeting.ended_at is not None else None
    started = meeting.started_at.timestamp()
    return p.MatchItem(
        partner=card,
        started_at=started,
        ended_at=ended,
        seconds=(ended if ended is not None else max(started, now)) - started,
        extensions=meeting.extensions,
        end_reason=END_REASONS.get(meeting.end_reason or ""),
        connection=(
            p.ConnectionInfo(
                ticket_id=card.ticket_id,
                state=link.state.value,
                requested_by="me" if link.requested_by == attendee else "partner",
            )
            if link is not None
            else None
        ),
    )


def me_of_ticket(ticket: TicketRecord) -> p.Me:
    return p.Me(
        ticket_id=ticket.id,
        name=ticket.name,
        headline=ticket.headline,
        company=ticket.company,
        ticket_type=ticket.ticket_type,
        is_admin=ticket.is_admin,
    )


def card_of_ticket(ticket: TicketRecord) -> p.PartnerCard:
    return p.PartnerCard(
        ticket_id=ticket.id,
        name=ticket.name,
        headline=ticket.headline,
        company=ticket.company,
        ticket_type=ticket.ticket_type,
    )


def session_info(session: SessionRecord, now: float) -> p.SessionInfo:
    status = session.status(datetime.fromtimestamp(now, UTC))
    return p.SessionInfo(
        id=session.id,
        event_id=session.event_id,
        title=session.title,
        starts_at=session.starts_at.timestamp(),
        ends_at=session.ends_at.timestamp(),
        meeting_seconds=session.meeting_seconds,
        status="live" if status == "live" else ("upcoming" if status == "upcoming" else "ended"),
    )


def connections(view: AttendeeView) -> list[p.ConnectionInfo]:
    return [
        p.ConnectionInfo(
            ticket_id=int(c.other),
            state=c.state.value,
            requested_by="me" if c.requested_by == view.attendee else "partner",
        )
        for c in view.connections
    ]
