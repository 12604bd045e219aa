"""Matcher events turned into what attendees see: media routes (posted to the media plane at once) and
protocol messages (collected in `outbox`: the room sends them once the events' rows are stored, see
`web.room.history`)."""

from __future__ import annotations

from pydantic import BaseModel

from matcher import AttendeeStateChanged as StateChanged
from matcher import (
    Blocked,
    ConnectionChanged,
    Event,
    ExtendAccepted,
    ExtendDeclined,
    ExtendOffered,
    Matched,
    Matcher,
    MeetingDeadlineChanged,
    MeetingEnded,
    PartnerDisconnected,
    PartnerReconnected,
    Reported,
    WaitingStatus,
)
from web.room import views
from web.room.attendee import Attendee
from web.room.media import RoomMedia
from wire import protocol as p


class Announcer:
    """See module docstring. Shares the room's attendees and matcher; owns the meetings' members."""

    def __init__(self, attendees: dict[str, Attendee], matcher: Matcher, media: RoomMedia) -> None:
        self._attendees = attendees
        self.matcher = matcher
        self._media = media
        self._meetings: dict[str, tuple[str, str]] = {}  # matcher meeting id -> its two attendees
        self.outbox: list[tuple[str, BaseModel]] = []  # (attendee, message), in order

    def take(self) -> list[tuple[str, BaseModel]]:
        """The messages collected since the last call."""
        out, self.outbox = self.outbox, []
        return out

    def card(self, attendee: str) -> p.PartnerCard | None:
        found = self._attendees.get(attendee)
        return found.partner_card if found is not None else None

    def match_item(self, attendee: str, meeting_id: str) -> p.MatchItem | None:
        record = next((r for r in self.matcher.matches_of(attendee) if r.meeting_id == meeting_id), None)
        card = self.card(record.partner) if record is not None else None
        if record is None or card is None:
            return None
        return views.match_item(attendee, record, card)

    def _send(self, attendee: str, message: BaseModel) -> None:
        self.outbox.append((attendee, message))

    def _members(self, meeting_id: str) -> tuple[str, ...]:
        # Kept after the meeting ends: an offer lapsing at 0:00 is reported after the end.
        return self._meetings.get(meeting_id, ())

    def announce(self, event: Event) -> None:
        match event:
            case Matched(meeting_id=mid, a=a, b=b):
                self._meetings[mid] = (a, b)
                pa, pb = self._attendees[a], self._attendees[b]
                pa.partner, pb.partner = pb, pa
                self._media.post(pa.route())
                self._media.post(pb.route())
                for attendee in (a, b):
                    info = views.meeting_info(self.matcher.view(attendee), self.card)
                    if info is not None and info.meeting_id == mid:
                        self._send(attendee, p.Matched(meeting=info))
            case MeetingDeadlineChanged(meeting_id=mid, ends_at=ends_at):
                for attendee in self._members(mid):
                    self._send(attendee, p.MeetingDeadline(meeting_id=mid, ends_at=ends_at))
            case ExtendOffered(meeting_id=mid, by=by):
                for attendee in self._members(mid):
                    by_party = views.party(attendee, by)
                    assert by_party is not None
                    self._send(attendee, p.ExtendOffered(meeting_id=mid, by=by_party))
            case ExtendAccepted(meeting_id=mid, by=by, ends_at=ends_at):
                for attendee in self._members(mid):
                    meeting = self.matcher.view(attendee).meeting
                    left = meeting.extensions_left if meeting is not None else 0
                    by_party = views.party(attendee, by)
                    assert by_party is not None
                    self._send(
                        attendee,
                        p.ExtendAccepted(meeting_id=mid, by=by_party, ends_at=ends_at, extensions_left=left),
                    )
            case ExtendDeclined(meeting_id=mid, by=by):
                for attendee in self._members(mid):
                    self._send(attendee, p.ExtendDeclined(meeting_id=mid, by=views.party(attendee, by)))
            case MeetingEnded(meeting_id=mid, a=a, b=b):
                for attendee in (a, b):
                    found = self._attendees.get(attendee)
                    if found is not None and found.partner is not None and found.partner.attendee in (a, b):
                        found.partner = None
                        self._media.post(found.route())
                    self._send(
                        attendee,
                        p.MeetingEnded(
                            meeting_id=mid,
                            reason=event.reason.value,
                            left_by=views.party(attendee, event.left_by),
                            ended_at=event.ended_at,
                            match=self.match_item(attendee, mid),
                        ),
                    )
            case PartnerDisconnected(meeting_id=mid, attendee=dropped, grace_until=grace):
                for attendee in self._members(mid):
                    if attendee != dropped:
                        self._send(attendee, p.PartnerDisconnected(meeting_id=mid, grace_until=grace))
            case PartnerReconnected(meeting_id=mid, attendee=back):
                for attendee in self._members(mid):
                    if attendee != back:
                        self._send(attendee, p.PartnerReconnected(meeting_id=mid))
            case ConnectionChanged(a=a, b=b, requested_by=by, state=link_state):
                for attendee, other in ((a, b), (b, a)):
                    by_party = views.party(attendee, by)
                    assert by_party is not None
                    link = p.ConnectionInfo(
                        ticket_id=int(other), state=link_state.value, requested_by=by_party
                    )
                    self._send(attendee, p.Connection(connection=link, partner=self.card(other)))
            case WaitingStatus():
                self._send(event.attendee, p.Waiting(waiting=views.waiting_info(event)))
            case StateChanged(attendee=attendee, state=attendee_state):
                self._send(attendee, p.State(state=attendee_state.value))
            case Blocked(by=by, blocked=blocked):
                self._send(by, p.Blocked(ticket_id=int(blocked)))
            case Reported(by=by, reported=reported):
                self._send(by, p.Reported(ticket_id=int(reported)))
