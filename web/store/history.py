"""A session's history rows (meetings, their ends, connections, blocks, reports) written in one
transaction: the rooms write every row a tick produced together ("group commit"), in order."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from typing import cast

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from web.store import models as m
from web.store.errors import InvalidData, NotFound

CONNECTION_STATES = ("requested", "accepted")


@dataclass(frozen=True)
class MeetingStarted:
    key: str  # the caller's name for the meeting, for its end (e.g. the matcher's meeting id)
    session_id: int
    a_ticket_id: int
    b_ticket_id: int
    started_at: datetime
    a_waited_seconds: float
    b_waited_seconds: float


@dataclass(frozen=True)
class MeetingEnded:
    key: str
    ended_at: datetime
    extensions: int
    end_reason: str


@dataclass(frozen=True)
class ConnectionSet:
    """Upsert the pair's connection: accepted stays accepted; the first requester is kept."""

    a_ticket_id: int
    b_ticket_id: int
    requested_by: int
    state: str
    at: datetime


@dataclass(frozen=True)
class BlockMade:
    """Also withdraws the pair's connection: neither sees the other's contact details any more."""

    event_id: int
    by_ticket_id: int
    blocked_ticket_id: int
    at: datetime


@dataclass(frozen=True)
class ReportMade:
    session_id: int
    by_ticket_id: int
    reported_ticket_id: int
    reason: str
    at: datetime


HistoryRow = MeetingStarted | MeetingEnded | ConnectionSet | BlockMade | ReportMade

Upsert = Callable[[AsyncSession, int, int, int, str, datetime], Awaitable[object]]


def pair(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


def check_connection(row: ConnectionSet) -> None:
    if row.state not in CONNECTION_STATES:
        raise InvalidData(f"unknown connection state {row.state!r}")
    if row.a_ticket_id == row.b_ticket_id:
        raise InvalidData("a ticket cannot connect with itself")
    if row.requested_by not in (row.a_ticket_id, row.b_ticket_id):
        raise InvalidData("requested_by must be one of the pair")


async def write_history(
    s: AsyncSession, rows: Sequence[HistoryRow], meeting_ids: dict[str, int], upsert_connection: Upsert
) -> None:
    """Write `rows` in order in the transaction `s`. `meeting_ids` maps meeting keys to row ids: a new
    meeting's id is added, an ended one's is looked up (NotFound when unknown).

    A run of meetings started one after another is one INSERT of many rows, and a run of meetings ended
    one UPDATE of many: a tick that pairs a thousand attendees costs two statements, not a thousand."""
    for kind, run in groupby(rows, key=type):
        batch = list(run)
        if kind is MeetingStarted:
            await _start_meetings(s, cast(list[MeetingStarted], batch), meeting_ids)
        elif kind is MeetingEnded:
            await _end_meetings(s, cast(list[MeetingEnded], batch), meeting_ids)
        else:
            for row in batch:
                await _write_one(s, row, upsert_connection)


async def _start_meetings(s: AsyncSession, rows: list[MeetingStarted], meeting_ids: dict[str, int]) -> None:
    values = [
        {
            "session_id": row.session_id,
            "a_ticket_id": row.a_ticket_id,
            "b_ticket_id": row.b_ticket_id,
            "started_at": row.started_at,
            "extensions": 0,
            "a_waited_seconds": max(0.0, float(row.a_waited_seconds)),
            "b_waited_seconds": max(0.0, float(row.b_waited_seconds)),
        }
        for row in rows
    ]
    ids = await s.scalars(insert(m.Meeting).returning(m.Meeting.id, sort_by_parameter_order=True), values)
    for row, meeting_id in zip(rows, ids, strict=True):
        meeting_ids[row.key] = meeting_id


async def _end_meetings(s: AsyncSession, rows: list[MeetingEnded], meeting_ids: dict[str, int]) -> None:
    values = []
    for row in rows:
        meeting_id = meeting_ids.get(row.key)
        if meeting_id is None:
            raise NotFound(f"meeting {row.key} not found")
        values.append(
            {
                "id": meeting_id,
                "ended_at": row.ended_at,
                "extensions": row.extensions,
                "end_reason": row.end_reason,
            }
        )
    found = set(await s.scalars(select(m.Meeting.id).where(m.Meeting.id.in_([v["id"] for v in values]))))
    missing = [row.key for row, v in zip(rows, values, strict=True) if v["id"] not in found]
    if missing:
        raise NotFound(f"meeting {missing[0]} not found")
    await s.execute(update(m.Meeting), values)


async def _write_one(s: AsyncSession, row: HistoryRow, upsert_connection: Upsert) -> None:
    match row:
        case ConnectionSet():
            check_connection(row)
            a, b = pair(row.a_ticket_id, row.b_ticket_id)
            await upsert_connection(s, a, b, row.requested_by, row.state, row.at)
        case BlockMade():
            exists = await s.scalar(
                select(m.Block.id).where(
                    m.Block.by_ticket_id == row.by_ticket_id,
                    m.Block.blocked_ticket_id == row.blocked_ticket_id,
                )
            )
            if exists is None:
                s.add(
                    m.Block(
                        event_id=row.event_id,
                        by_ticket_id=row.by_ticket_id,
                        blocked_ticket_id=row.blocked_ticket_id,
                        created_at=row.at,
                    )
                )
            a, b = pair(row.by_ticket_id, row.blocked_ticket_id)
            await s.execute(
                delete(m.Connection).where(m.Connection.a_ticket_id == a, m.Connection.b_ticket_id == b)
            )
        case ReportMade():
            s.add(
                m.Report(
                    session_id=row.session_id,
                    by_ticket_id=row.by_ticket_id,
                    reported_ticket_id=row.reported_ticket_id,
                    reason=row.reason,
                    created_at=row.at,
                )
            )
