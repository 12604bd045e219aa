"""Store records turned into the API's response models."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from web import schemas as s
from web.store import (
    AssetRecord,
    ConnectionView,
    EventRecord,
    MatchView,
    NoteRecord,
    RatingSummary,
    SessionRecord,
    SessionSummary,
    TicketRecord,
    TicketTypeRecord,
)


def event_out(e: EventRecord) -> s.EventOut:
    return s.EventOut(id=e.id, name=e.name, timezone=e.timezone, days=list(e.days), created_at=e.created_at)


def ticket_type_out(t: TicketTypeRecord) -> s.TicketTypeOut:
    return s.TicketTypeOut(id=t.id, event_id=t.event_id, name=t.name, ticket_count=t.ticket_count)


def media_out(a: AssetRecord) -> s.MediaOut:
    return s.MediaOut(
        id=a.id,
        url=a.url,
        kind="video" if a.kind == "video" else "image",
        content_type=a.content_type,
        width=a.width,
        height=a.height,
        size_bytes=a.size_bytes,
    )


def asset_out(a: AssetRecord, owner: Literal["event", "me"]) -> s.AssetOut:
    return s.AssetOut(**media_out(a).model_dump(), owner=owner, created_at=a.created_at)


def session_out(r: SessionRecord, now: datetime) -> s.SessionOut:
    return s.SessionOut(
        id=r.id,
        event_id=r.event_id,
        title=r.title,
        status=r.status(now),
        starts_at=r.starts_at,
        ends_at=r.ends_at,
        meeting_seconds=r.meeting_seconds,
        allow_rematch=r.allow_rematch,
        rematch_cooldown_seconds=r.rematch_cooldown_seconds,
        max_extensions=r.max_extensions,
        allowed_pairs=r.allowed_pairs,
        pre_session_media=media_out(r.pre_session_media) if r.pre_session_media else None,
        created_at=r.created_at,
        interest_weighting=r.interest_weighting,
    )


def join_url(base_url: str, session_id: int, secret: str) -> str:
    return f"{base_url}/s/{session_id}?t={secret}"


def ticket_out(
    t: TicketRecord, sessions: Sequence[SessionRecord], base_url: str, interests: Sequence[str] = ()
) -> s.TicketOut:
    return s.TicketOut(
        id=t.id,
        event_id=t.event_id,
        name=t.name,
        email=t.email,
        headline=t.headline,
        company=t.company,
        ticket_type_id=t.ticket_type_id,
        ticket_type=t.ticket_type,
        is_admin=t.is_admin,
        secret=t.secret,
        join_links=[
            s.JoinLink(session_id=x.id, title=x.title, url=join_url(base_url, x.id, t.secret))
            for x in sessions
        ],
        created_at=t.created_at,
        interests=list(interests),
    )


def summary_out(x: SessionSummary, status: str) -> s.SessionSummaryOut:
    return s.SessionSummaryOut(
        session_id=x.session_id,
        status=status,
        meetings=x.meetings,
        meetings_ended=x.meetings_ended,
        meetings_extended=x.meetings_extended,
        extensions=x.extensions,
        attendees_met=x.attendees_met,
        connections_requested=x.connections_requested,
        connections_accepted=x.connections_accepted,
        average_wait_seconds=x.average_wait_seconds,
        average_meeting_seconds=x.average_meeting_seconds,
        end_reasons=x.end_reasons,
        blocks=x.blocks,
        reports=x.reports,
    )


def me_out(t: TicketRecord) -> s.MeOut:
    return s.MeOut(
        ticket_id=t.id,
        name=t.name,
        headline=t.headline,
        company=t.company,
        ticket_type=t.ticket_type,
        is_admin=t.is_admin,
    )


def match_out(
    m: MatchView, shared_interests: Sequence[str] = (), note: s.NoteOut | None = None
) -> s.MatchOut:
    return s.MatchOut(
        meeting_id=m.meeting_id,
        session_id=m.session_id,
        partner=s.PersonOut(
            ticket_id=m.partner_ticket_id,
            name=m.partner_name,
            headline=m.partner_headline,
            company=m.partner_company,
            ticket_type=m.partner_ticket_type,
        ),
        started_at=m.started_at,
        ended_at=m.ended_at,
        seconds=m.seconds,
        extensions=m.extensions,
        end_reason=m.end_reason,
        connection=m.connection,
        connection_requested_by_me=m.connection_requested_by_me,
        shared_interests=list(shared_interests),
        note=note,
    )


def connection_out(c: ConnectionView) -> s.ConnectionOut:
    return s.ConnectionOut(
        person=s.PersonOut(
            ticket_id=c.other_ticket_id,
            name=c.other_name,
            headline=c.other_headline,
            company=c.other_company,
            ticket_type=c.other_ticket_type,
        ),
        email=c.other_email,
        state=c.state,
        requested_by_me=c.requested_by_me,
        requested_at=c.requested_at,
        accepted_at=c.accepted_at,
    )


def note_out(n: NoteRecord) -> s.NoteOut:
    return s.NoteOut(
        meeting_id=n.meeting_id,
        note=n.note,
        rating=n.rating,
        would_meet_again=n.would_meet_again,
        updated_at=n.updated_at,
    )


def rating_out(x: RatingSummary) -> s.RatingSummaryOut:
    return s.RatingSummaryOut(
        session_id=x.session_id,
        ratings=x.ratings,
        average_rating=x.average_rating,
        answers=x.answers,
        would_meet_again=x.would_meet_again,
        would_meet_again_share=x.would_meet_again_share,
    )
