"""The history line: rows of many batches in one transaction, messages only after their rows."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from matcher import Blocked, ConnectionChanged, ConnectionState, EndReason, Matched, MeetingEnded, Reported
from web.room.history import History, rows_for
from web.store import history as rows
from wire import protocol as p


class RecordingStore:
    """What History uses of the store: `record_history`, recorded; `fail` makes it raise."""

    def __init__(self) -> None:
        self.transactions: list[list[rows.HistoryRow]] = []
        self.release = asyncio.Event()
        self.release.set()
        self.fail = False
        self.next_id = 1

    async def record_history(self, batch: list[rows.HistoryRow], meeting_ids: dict[str, int]) -> None:
        await self.release.wait()
        if self.fail:
            raise RuntimeError("database down")
        self.transactions.append(list(batch))
        for row in batch:
            if isinstance(row, rows.MeetingStarted):
                meeting_ids[row.key] = self.next_id
                self.next_id += 1


def history(store: RecordingStore, sent: list[tuple[str, BaseModel]]) -> History:
    return History(store, 7, lambda attendee, message: sent.append((attendee, message)))  # type: ignore[arg-type]


def test_events_become_rows_in_order() -> None:
    at = 1_900_000_000.0
    events: list[Any] = [
        Matched("m1", "1", "2", at, at + 60, 1.5, 0.5),
        ConnectionChanged("1", "2", "1", ConnectionState.requested, at + 1),
        Blocked("2", "1", at + 2),
        Reported("2", "1", "rude", at + 2),
        MeetingEnded("m1", "1", "2", at, at + 2, EndReason.blocked, 0, "2"),
    ]
    made = rows_for(7, 3, events)
    t = datetime.fromtimestamp(at, UTC)
    assert made[0] == rows.MeetingStarted("m1", 7, 1, 2, t, 1.5, 0.5)
    assert [type(r) for r in made[1:]] == [
        rows.ConnectionSet,
        rows.BlockMade,
        rows.ReportMade,
        rows.MeetingEnded,
    ]
    assert made[2] == rows.BlockMade(3, 2, 1, datetime.fromtimestamp(at + 2, UTC))


async def test_batches_queued_together_are_one_transaction_and_told_after_it() -> None:
    store, sent = RecordingStore(), []
    line = history(store, sent)
    line.start()
    store.release.clear()  # the store is slow: batches pile up behind the first transaction
    t = datetime(2030, 1, 1, tzinfo=UTC)
    first = line.submit([rows.ReportMade(7, 1, 2, "a", t)], [("1", p.Reported(ticket_id=2))])
    await asyncio.sleep(0.01)
    second = line.submit([rows.ReportMade(7, 1, 3, "b", t)], [("1", p.Reported(ticket_id=3))])
    third = line.submit([], [("1", p.State(state="idle"))])  # no rows: still waits for the ones before
    fourth = line.submit([rows.ReportMade(7, 1, 4, "c", t)], [("1", p.Reported(ticket_id=4))])
    await asyncio.sleep(0.01)
    assert sent == [] and not first.done()
    store.release.set()
    await asyncio.gather(first, second, third, fourth)
    assert [len(tx) for tx in store.transactions] == [1, 2]  # the three queued batches: one transaction
    assert [type(m).__name__ for _, m in sent] == ["Reported", "Reported", "State", "Reported"]
    await line.stop()


async def test_a_failing_store_loses_the_rows_not_the_meetings() -> None:
    store, sent = RecordingStore(), []
    store.fail = True
    line = history(store, sent)
    line.start()
    t = datetime(2030, 1, 1, tzinfo=UTC)
    await line.submit([rows.ReportMade(7, 1, 2, "a", t)], [("1", p.Reported(ticket_id=2))])
    assert line.errors == 1 and len(sent) == 1
    await line.stop()


async def test_stop_writes_and_sends_what_is_queued() -> None:
    store, sent = RecordingStore(), []
    line = history(store, sent)
    line.start()
    t = datetime(2030, 1, 1, tzinfo=UTC)
    for i in range(5):
        line.submit([rows.ReportMade(7, 1, i + 2, "x", t)], [("1", p.Reported(ticket_id=i + 2))])
    await line.stop()
    assert sum(len(tx) for tx in store.transactions) == 5 and len(sent) == 5
    # After stop nothing can be written; messages still go out at once.
    done = line.submit([rows.ReportMade(7, 1, 9, "x", t)], [("1", p.Reported(ticket_id=9))])
    assert done.done() and len(sent) == 6
