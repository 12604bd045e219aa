"""Reads of what happened: meetings, blocks, connections, matches and session summaries."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from web.store import models as m
from web.store.core import StoreCore
from web.store.errors import NotFound
from web.store.helpers import (
    as_utc,
    as_utc_or_none,
    connection_record,
    meeting_record,
    ordered_pair,
    ticket_record,
)
from web.store.records import (
    ConnectionRecord,
    ConnectionView,
    MatchView,
    MeetingRecord,
    SessionSummary,
    TicketRecord,
)
from web.store.recovery import SERVER_RESTART


class SummaryMethods(StoreCore):
    """What happened, per event, session or ticket."""

    async def meetings_for_event(self, event_id: int) -> list[MeetingRecord]:
        async with self._tx() as s:
            rows = await s.scalars(
                select(m.Meeting)
                .join(m.Session, m.Session.id == m.Meeting.session_id)
                .where(m.Session.event_id == event_id)
                .order_by(m.Meeting.id)
            )
            return [meeting_record(r) for r in rows]

    async def meetings_for_session(self, session_id: int) -> list[MeetingRecord]:
        async with self._tx() as s:
            rows = await s.scalars(
                select(m.Meeting).where(m.Meeting.session_id == session_id).order_by(m.Meeting.id)
            )
            return [meeting_record(r) for r in rows]

    async def blocks_for_event(self, event_id: int) -> list[tuple[int, int]]:
        async with self._tx() as s:
            rows = await s.execute(
                select(m.Block.by_ticket_id, m.Block.blocked_ticket_id)
                .where(m.Block.event_id == event_id)
                .order_by(m.Block.id)
            )
            return [(by, blocked) for by, blocked in rows]

    async def connections_for_event(self, event_id: int) -> list[ConnectionRecord]:
        async with self._tx() as s:
            rows = await s.scalars(
                select(m.Connection).where(m.Connection.event_id == event_id).order_by(m.Connection.id)
            )
            return [connection_record(r) for r in rows]

    async def _tickets_with_types(self, s: AsyncSession, ids: Iterable[int]) -> dict[int, TicketRecord]:
        id_list = list(set(ids))
        if not id_list:
            return {}
        rows = await s.execute(
            select(m.Ticket, m.TicketType.name)
            .join(m.TicketType, m.TicketType.id == m.Ticket.ticket_type_id)
            .where(m.Ticket.id.in_(id_list))
        )
        return {t.id: ticket_record(t, name) for t, name in rows}

    async def matches_for_ticket(self, ticket_id: int, session_id: int | None = None) -> list[MatchView]:
        """The meetings a ticket had (in one session, or all), oldest first, with the partner's details."""
        async with self._tx() as s:
            q = select(m.Meeting).where(
                or_(m.Meeting.a_ticket_id == ticket_id, m.Meeting.b_ticket_id == ticket_id)
            )
            if session_id is not None:
                q = q.where(m.Meeting.session_id == session_id)
            meetings = (await s.scalars(q.order_by(m.Meeting.started_at, m.Meeting.id))).all()
            partners = {x.b_ticket_id if x.a_ticket_id == ticket_id else x.a_ticket_id for x in meetings}
            tickets = await self._tickets_with_types(s, partners)
            conns: dict[int, m.Connection] = {}
            if partners:
                for c in await s.scalars(
                    select(m.Connection).where(
                        or_(m.Connection.a_ticket_id == ticket_id, m.Connection.b_ticket_id == ticket_id)
                    )
                ):
                    conns[c.b_ticket_id if c.a_ticket_id == ticket_id else c.a_ticket_id] = c
            out = []
            for x in meetings:
                partner_id = x.b_ticket_id if x.a_ticket_id == ticket_id else x.a_ticket_id
                partner = tickets.get(partner_id)
                if partner is None:
                    continue
                conn = conns.get(partner_id)
                seconds = (x.ended_at - x.started_at).total_seconds() if x.ended_at is not None else None
                out.append(
                    MatchView(
                        meeting_id=x.id,
                        session_id=x.session_id,
                        partner_ticket_id=partner_id,
                        partner_name=partner.name,
                        partner_headline=partner.headline,
                        partner_company=partner.company,
                        partner_ticket_type=partner.ticket_type,
                        started_at=as_utc(x.started_at),
                        ended_at=as_utc_or_none(x.ended_at),
                        seconds=seconds,
                        extensions=x.extensions,
                        end_reason=x.end_reason,
                        connection=conn.state if conn else None,
                        connection_requested_by_me=bool(conn and conn.requested_by == ticket_id),
                    )
                )
            return out

    async def connections_for_ticket(self, ticket_id: int) -> list[ConnectionView]:
        async with self._tx() as s:
            rows = (
                await s.scalars(
                    select(m.Connection)
                    .where(or_(m.Connection.a_ticket_id == ticket_id, m.Connection.b_ticket_id == ticket_id))
                    .order_by(m.Connection.requested_at, m.Connection.id)
                )
            ).all()
            others = await self._tickets_with_types(s, (connection_record(c).other(ticket_id) for c in rows))
            out = []
            for c in rows:
                other = others[connection_record(c).other(ticket_id)]
                out.append(
                    ConnectionView(
                        other_ticket_id=other.id,
                        other_name=other.name,
                        other_headline=other.headline,
                        other_company=other.company,
                        other_ticket_type=other.ticket_type,
                        other_email=other.email if c.state == "accepted" else None,
                        state=c.state,
                        requested_by_me=c.requested_by == ticket_id,
                        requested_at=as_utc(c.requested_at),
                        accepted_at=as_utc_or_none(c.accepted_at),
                    )
                )
            return out

    async def session_summary(self, session_id: int) -> SessionSummary:
        async with self._tx() as s:
            sess = await s.get(m.Session, session_id)
            if sess is None:
                raise NotFound(f"session {session_id} not found")
            meetings = (await s.scalars(select(m.Meeting).where(m.Meeting.session_id == session_id))).all()
            pairs = {ordered_pair(x.a_ticket_id, x.b_ticket_id) for x in meetings}
            conns = (
                await s.scalars(select(m.Connection).where(m.Connection.event_id == sess.event_id))
            ).all()
            met_conns = [c for c in conns if (c.a_ticket_id, c.b_ticket_id) in pairs]
            blocks = (
                await s.execute(
                    select(m.Block.by_ticket_id, m.Block.blocked_ticket_id).where(
                        m.Block.event_id == sess.event_id
                    )
                )
            ).all()
            reports = await s.scalar(
                select(func.count()).select_from(m.Report).where(m.Report.session_id == session_id)
            )
            ended = [x for x in meetings if x.ended_at is not None]
            waits = [w for x in meetings for w in (x.a_waited_seconds, x.b_waited_seconds)]
            # A meeting closed on start has a lower bound for its end, not a length.
            lengths = [
                (x.ended_at - x.started_at).total_seconds()
                for x in ended
                if x.ended_at is not None and x.end_reason != SERVER_RESTART
            ]
            return SessionSummary(
                session_id=session_id,
                meetings=len(meetings),
                meetings_ended=len(ended),
                meetings_extended=sum(1 for x in meetings if x.extensions > 0),
                extensions=sum(x.extensions for x in meetings),
                attendees_met=len({t for p in pairs for t in p}),
                connections_requested=sum(1 for c in met_conns if c.state == "requested"),
                connections_accepted=sum(1 for c in met_conns if c.state == "accepted"),
                average_wait_seconds=sum(waits) / len(waits) if waits else None,
                average_meeting_seconds=sum(lengths) / len(lengths) if lengths else None,
                end_reasons=dict(Counter(x.end_reason for x in ended if x.end_reason is not None)),
                blocks=sum(1 for by, blocked in blocks if ordered_pair(by, blocked) in pairs),
                reports=int(reports or 0),
            )
