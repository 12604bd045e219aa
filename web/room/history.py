"""A room's history rows and the messages that tell of them, in one ordered line.

The room hands over each batch of events (under its lock, never waiting): the rows they make and the
messages for the attendees. One owned writer task takes every batch queued so far, writes all their rows
in **one transaction** (group commit), and only then sends their messages, in order. So:

* nothing waits for the store while holding the room's lock;
* an attendee is never told of a meeting or a connection that is not stored: a crash (kill -9) can lose
  events nobody heard of, never one somebody was told about;
* messages keep the order in which the room made them (a batch without rows waits for the batches before
  it).

If the store fails, the rows of that transaction are logged as lost and the messages still go out: the
meetings must not stop because the database is down.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from pydantic import BaseModel

from aio import cancel_and_wait
from matcher import Blocked, ConnectionChanged, Event, Matched, MeetingEnded, Reported
from web.store import history as rows
from web.store.store import Store

if TYPE_CHECKING:
    from web.session_metrics import SessionMetrics

logger = logging.getLogger(__name__)

Send = Callable[[str, BaseModel], None]  # (attendee, message): queue a message on their current socket


def _dt(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def rows_for(session_id: int, event_id: int, events: list[Event]) -> list[rows.HistoryRow]:
    """The store rows of `events`, in order (events that change no history make none)."""
    out: list[rows.HistoryRow] = []
    for event in events:
        match event:
            case Matched():
                out.append(
                    rows.MeetingStarted(
                        event.meeting_id,
                        session_id,
                        int(event.a),
                        int(event.b),
                        _dt(event.started_at),
                        event.a_waited_seconds,
                        event.b_waited_seconds,
                    )
                )
            case MeetingEnded():
                out.append(
                    rows.MeetingEnded(
                        event.meeting_id, _dt(event.ended_at), event.extensions, event.reason.value
                    )
                )
            case ConnectionChanged():
                out.append(
                    rows.ConnectionSet(
                        int(event.a), int(event.b), int(event.requested_by), event.state.value, _dt(event.at)
                    )
                )
            case Blocked():
                out.append(rows.BlockMade(event_id, int(event.by), int(event.blocked), _dt(event.at)))
            case Reported():
                out.append(
                    rows.ReportMade(
                        session_id, int(event.by), int(event.reported), event.reason, _dt(event.at)
                    )
                )
    return out


@dataclass
class Batch:
    rows: list[rows.HistoryRow]
    messages: list[tuple[str, BaseModel]]
    done: asyncio.Future[None] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class History:
    """See module docstring. `start()` once; `stop()` writes and sends what is queued, then ends."""

    def __init__(
        self, store: Store, session_id: int, send: Send, *, metrics: SessionMetrics | None = None
    ) -> None:
        self.store = store
        self.metrics = metrics
        self.session_id = session_id
        self._send = send
        self._queue: list[Batch] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._meeting_ids: dict[str, int] = {}  # matcher meeting id -> store meeting id
        self._stopping = False
        self.errors = 0
        self.transactions = 0

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"room-{self.session_id}-history")

    def submit(
        self, batch_rows: list[rows.HistoryRow], messages: list[tuple[str, BaseModel]]
    ) -> asyncio.Future[None]:
        """Queue rows and the messages that tell of them; the future is done once both are handled."""
        batch = Batch(batch_rows, messages)
        if self._task is None or self._task.done():
            # Not running (before start, after stop): nothing can be written; the messages still go out.
            self._release(batch)
            return batch.done
        self._queue.append(batch)
        self._wake.set()
        return batch.done

    async def drain(self) -> None:
        """Wait until everything queued so far is written and sent."""
        if self._queue:
            await asyncio.shield(self._queue[-1].done)

    async def stop(self) -> None:
        await self.drain()
        await cancel_and_wait(self._task)
        for batch in self._queue:  # only if the writer was cancelled half-way
            self._release(batch)
        self._queue.clear()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            taken, self._queue = self._queue, []
            if not taken:
                continue
            try:
                await self._write([row for batch in taken for row in batch.rows])
            finally:
                for batch in taken:
                    self._release(batch)

    async def _write(self, batch_rows: list[rows.HistoryRow]) -> None:
        if not batch_rows:
            return
        started = time.perf_counter()
        try:
            await self.store.record_history(batch_rows, self._meeting_ids)
            self.transactions += 1
            if self.metrics is not None:
                self.metrics.history_commit_seconds.observe(time.perf_counter() - started)
        except asyncio.CancelledError:
            raise
        except Exception:
            # History matters, but a failing database must not stop the meetings: log loudly, go on.
            self.errors += 1
            logger.exception("session %d: storing %d history rows failed", self.session_id, len(batch_rows))
        for row in batch_rows:
            if isinstance(row, rows.MeetingEnded):
                self._meeting_ids.pop(row.key, None)

    def _release(self, batch: Batch) -> None:
        for attendee, message in batch.messages:
            try:
                self._send(attendee, message)
            except Exception:
                logger.exception("session %d: sending %s failed", self.session_id, type(message).__name__)
        if not batch.done.done():
            batch.done.set_result(None)
