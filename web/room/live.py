"""A room's live counts for the organiser's live view: the matcher's summary plus media figures."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from matcher import LiveSummary, Matcher
from sfu.interface import Stats
from web.room.attendee import Attendee


@dataclass(frozen=True)
class LivePerson:
    ticket_id: int
    name: str


@dataclass(frozen=True)
class LiveMeeting:
    meeting_id: str
    a: LivePerson
    b: LivePerson
    started_at: float
    ends_at: float
    extensions: int


@dataclass(frozen=True)
class LiveCounts:
    session_id: int
    attendees: int
    connected: int
    idle: int
    waiting: int
    in_meetings: int
    meetings_running: int
    meetings_started: int
    meetings_ended: int
    extensions: int
    connections_requested: int
    connections_accepted: int
    blocks: int
    reports: int
    session_ended: bool
    sockets: int
    peer_connections: int
    video_frames_in: int
    video_frames_out: int
    store_errors: int
    server_time: float
    meetings: list[LiveMeeting] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


def live_counts(
    session_id: int,
    summary: LiveSummary,
    matcher: Matcher,
    attendees: list[Attendee],
    media: Stats,
    *,
    store_errors: int,
    now: float,
) -> LiveCounts:
    return LiveCounts(
        session_id=session_id,
        attendees=summary.attendees,
        connected=summary.connected,
        idle=summary.idle,
        waiting=summary.waiting,
        in_meetings=summary.in_meetings,
        meetings_running=summary.meetings_running,
        meetings_started=summary.meetings_started,
        meetings_ended=summary.meetings_ended,
        extensions=summary.extensions,
        connections_requested=summary.connections_requested,
        connections_accepted=summary.connections_accepted,
        blocks=summary.blocks,
        reports=summary.reports,
        session_ended=summary.session_ended,
        sockets=sum(1 for a in attendees if a.socket is not None),
        peer_connections=media.peer_connections,
        video_frames_in=media.video_frames_in,
        video_frames_out=media.video_frames_out,
        store_errors=store_errors,
        server_time=now,
        meetings=running_meetings(matcher, attendees),
    )


def running_meetings(matcher: Matcher, attendees: list[Attendee]) -> list[LiveMeeting]:
    """The meetings in progress, soonest ending first (names, deadline, extensions)."""
    running: list[LiveMeeting] = []
    for one in attendees:
        partner = one.partner
        if partner is None or one.attendee > partner.attendee:
            continue  # not in a meeting, or listed from the other side
        meeting = matcher.view(one.attendee).meeting
        if meeting is None:
            continue
        running.append(
            LiveMeeting(
                meeting_id=meeting.meeting_id,
                a=LivePerson(one.ticket_id, one.card.name),
                b=LivePerson(partner.ticket_id, partner.card.name),
                started_at=meeting.started_at,
                ends_at=meeting.ends_at,
                extensions=meeting.extensions,
            )
        )
    running.sort(key=lambda m: m.ends_at)
    return running
