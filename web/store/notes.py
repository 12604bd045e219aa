"""Private notes and ratings after meetings: one per attendee and meeting, seen only by their author.

Organisers get aggregates per session (how many ratings, their average, the share "would meet again"),
never a note nor who rated whom.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from web.store import models as m
from web.store.errors import InvalidData, NotAllowed, NotFound

MAX_NOTE_LENGTH = 1000
RATING_MIN = 1
RATING_MAX = 5

Transaction = Callable[[], AbstractAsyncContextManager[AsyncSession]]


@dataclass(frozen=True)
class NoteRecord:
    meeting_id: int
    ticket_id: int  # the author: one of the meeting's two attendees
    note: str | None
    rating: int | None  # 1 to 5
    would_meet_again: bool | None
    updated_at: datetime


@dataclass(frozen=True)
class RatingSummary:
    """What organisers see of a session's notes: counts and averages only."""

    session_id: int
    ratings: int  # meetings rated (each side counts once)
    average_rating: float | None
    answers: int  # "would meet again" answered yes or no
    would_meet_again: int  # of which yes
    would_meet_again_share: float | None


def check_note(note: str | None, rating: int | None, would_meet_again: bool | None) -> str | None:
    """The note as stored (trimmed; empty is None); raises `InvalidData` for out-of-range values."""
    if note is not None:
        if not isinstance(note, str):
            raise InvalidData("note must be text")
        if len(note) > MAX_NOTE_LENGTH:
            raise InvalidData(f"a note has at most {MAX_NOTE_LENGTH} characters, got {len(note)}")
        note = note.strip() or None
    if rating is not None and (
        isinstance(rating, bool) or not isinstance(rating, int) or not RATING_MIN <= rating <= RATING_MAX
    ):
        raise InvalidData(f"rating must be a whole number from {RATING_MIN} to {RATING_MAX}, got {rating!r}")
    if would_meet_again is not None and not isinstance(would_meet_again, bool):
        raise InvalidData("would_meet_again must be true, false or null")
    return note


def _record(row: m.MeetingNote) -> NoteRecord:
    return NoteRecord(
        meeting_id=row.meeting_id,
        ticket_id=row.ticket_id,
        note=row.note,
        rating=row.rating,
        would_meet_again=row.would_meet_again,
        updated_at=row.updated_at.astimezone(UTC),
    )


class NoteStore:
    """Reads and writes of meeting notes, each in its own transaction of the `Store`."""

    def __init__(self, transaction: Transaction) -> None:
        self._tx = transaction

    async def save_note(
        self,
        meeting_id: int,
        ticket_id: int,
        note: str | None,
        rating: int | None,
        would_meet_again: bool | None,
        at: datetime,
    ) -> NoteRecord:
        """Write (or replace) `ticket_id`'s note on a meeting they had. `NotFound` for an unknown meeting,
        `NotAllowed` for someone else's, `InvalidData` for a note over 1,000 characters or a rating out of
        1-5; nothing changes then."""
        text = check_note(note, rating, would_meet_again)
        async with self._tx() as s:
            meeting = await s.get(m.Meeting, meeting_id)
            if meeting is None:
                raise NotFound(f"meeting {meeting_id} not found")
            if ticket_id not in (meeting.a_ticket_id, meeting.b_ticket_id):
                raise NotAllowed("you can only write notes on your own meetings")
            row = await s.scalar(
                select(m.MeetingNote).where(
                    m.MeetingNote.meeting_id == meeting_id, m.MeetingNote.ticket_id == ticket_id
                )
            )
            if row is None:
                row = m.MeetingNote(meeting_id=meeting_id, ticket_id=ticket_id)
                s.add(row)
            row.note = text
            row.rating = rating
            row.would_meet_again = would_meet_again
            row.updated_at = at
            await s.flush()
            return _record(row)

    async def notes_of(self, ticket_id: int) -> dict[int, NoteRecord]:
        """`ticket_id`'s own notes, by meeting id."""
        async with self._tx() as s:
            rows = await s.scalars(select(m.MeetingNote).where(m.MeetingNote.ticket_id == ticket_id))
            return {row.meeting_id: _record(row) for row in rows}

    async def rating_summary(self, session_id: int) -> RatingSummary:
        async with self._tx() as s:
            if await s.get(m.Session, session_id) is None:
                raise NotFound(f"session {session_id} not found")
            rows = (
                await s.execute(
                    select(m.MeetingNote.rating, m.MeetingNote.would_meet_again)
                    .join(m.Meeting, m.Meeting.id == m.MeetingNote.meeting_id)
                    .where(
                        m.Meeting.session_id == session_id,
                        or_(m.MeetingNote.rating.is_not(None), m.MeetingNote.would_meet_again.is_not(None)),
                    )
                )
            ).all()
        ratings = [rating for rating, _ in rows if rating is not None]
        answers = [again for _, again in rows if again is not None]
        yes = sum(1 for again in answers if again)
        return RatingSummary(
            session_id=session_id,
            ratings=len(ratings),
            average_rating=sum(ratings) / len(ratings) if ratings else None,
            answers=len(answers),
            would_meet_again=yes,
            would_meet_again_share=yes / len(answers) if answers else None,
        )
