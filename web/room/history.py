"""Matcher events turned into store rows: meetings, their ends, connections, blocks and reports.

Rows are written by owned tasks chained one after another, so they reach the store in the order the
events happened even when the command that caused them is cancelled (its socket closed, the server
stopping); `drain()` waits for the last one.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from matcher import Blocked, ConnectionChanged, Event, Matched, MeetingEnded, Reported
from web.store.store import Store

logger = logging.getLogger(__name__)

STORED_EVENTS = (Matched, MeetingEnded, ConnectionChanged, Blocked, Reported)


def _dt(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


class History:
    """Writes one session's rows (see module docstring)."""

    def __init__(self, store: Store, session_id: int, event_id: int) -> None:
        self.store = store
        self.session_id = session_id
        self.event_id = event_id
        self._meeting_rows: dict[str, int] = {}  # matcher meeting id -> store meeting id
        self._last: asyncio.Task[None] | None = None
        self.errors = 0

    def record(self, events: list[Event]) -> asyncio.Task[None] | None:
        """Start writing the rows of `events` after the ones before; None when none is stored."""
        stored = [e for e in events if isinstance(e, STORED_EVENTS)]
        if not stored:
            return None
        job = asyncio.create_task(self._write(self._last, stored), name=f"room-{self.session_id}-store")
        self._last = job
        return job

    async def drain(self) -> None:
        """Wait until every row started so far is written (or has failed and been logged)."""
        if self._last is not None:
            await asyncio.gather(self._last, return_exceptions=True)

    async def _write(self, previous: asyncio.Task[None] | None, events: list[Event]) -> None:
        if previous is not None:
            await asyncio.gather(previous, return_exceptions=True)
        for event in events:
            await self._write_one(event)

    async def _write_one(self, event: Event) -> None:
        store = self.store
        try:
            match event:
                case Matched():
                    row = await store.record_meeting_started(
                        self.session_id,
                        int(event.a),
                        int(event.b),
                        _dt(event.started_at),
                        event.a_waited_seconds,
                        event.b_waited_seconds,
                    )
                    self._meeting_rows[event.meeting_id] = row
                case MeetingEnded():
                    row_id = self._meeting_rows.pop(event.meeting_id, None)
                    if row_id is not None:
                        await store.record_meeting_ended(
                            row_id, _dt(event.ended_at), event.extensions, event.reason.value
                        )
                case ConnectionChanged():
                    await store.set_connection(
                        int(event.a), int(event.b), int(event.requested_by), event.state.value, _dt(event.at)
                    )
                case Blocked():
                    await store.record_block(self.event_id, int(event.by), int(event.blocked), _dt(event.at))
                case Reported():
                    await store.record_report(
                        self.session_id, int(event.by), int(event.reported), event.reason, _dt(event.at)
                    )
        except Exception:
            # History matters, but a failing database must not stop the meetings: log loudly, go on.
            self.errors += 1
            logger.exception("session %d: storing %s failed", self.session_id, event.kind)
