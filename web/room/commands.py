"""Attendees' matcher commands: a protocol message turned into the matcher call it asks for. Pure: no
I/O, no locks (the room holds its lock around `run_command`)."""

from __future__ import annotations

from matcher import AttendeeState, Event, Matcher
from web.room.errors import CommandRejected
from wire import protocol as p

MatcherMessage = (
    p.Ready
    | p.Unready
    | p.Leave
    | p.ExtendOffer
    | p.ExtendAccept
    | p.ExtendDecline
    | p.ConnectRequest
    | p.ConnectAccept
    | p.Block
    | p.Report
)


def run_command(matcher: Matcher, attendee: str, msg: p.ClientMessage) -> list[Event]:
    """Carry out `msg` for `attendee`; raises CommandRejected (or a matcher error) when it cannot be."""
    match msg:
        case p.Ready():
            return matcher.ready(attendee)  # pairing is the next tick's (the room ticks soon after)
        case p.Unready():
            if matcher.view(attendee).state is AttendeeState.meeting:
                raise CommandRejected("invalid_command", "You are in a meeting: use leave")
            return matcher.unready(attendee)
        case p.Leave():
            _require_meeting(matcher, attendee)
            return matcher.leave(attendee)
        case p.ExtendOffer():
            _require_meeting(matcher, attendee)
            return matcher.extend_offer(attendee)
        case p.ExtendAccept():
            _require_meeting(matcher, attendee)
            return matcher.extend_accept(attendee)
        case p.ExtendDecline():
            _require_meeting(matcher, attendee)
            return matcher.extend_decline(attendee)
        case p.ConnectRequest():
            return matcher.connect_request(attendee, named(matcher, attendee, msg.ticket_id))
        case p.ConnectAccept():
            return matcher.connect_accept(attendee, named(matcher, attendee, msg.ticket_id))
        case p.Block():
            return matcher.block(attendee, named(matcher, attendee, msg.ticket_id))
        case p.Report():
            return matcher.report(attendee, named(matcher, attendee, msg.ticket_id), msg.reason)
    raise CommandRejected("bad_message", f"Unexpected message {msg.type}")


def _require_meeting(matcher: Matcher, attendee: str) -> None:
    if matcher.view(attendee).state is not AttendeeState.meeting:
        raise CommandRejected("not_in_meeting", "You are not in a meeting")


def named(matcher: Matcher, attendee: str, ticket_id: int | None) -> str:
    """The attendee a command names: the given ticket, or the current partner."""
    if ticket_id is not None:
        if str(ticket_id) == attendee:
            raise CommandRejected("invalid_command", "That is your own ticket")
        return str(ticket_id)
    meeting = matcher.view(attendee).meeting
    if meeting is None:
        raise CommandRejected("not_in_meeting", "Not in a meeting: name the attendee (ticket_id)")
    return meeting.partner
