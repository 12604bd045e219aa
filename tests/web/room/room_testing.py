"""A session room on a real store (SQLite in a temporary folder) with the recording media stand-in and
fake sockets: the room's logic without aiortc or a network."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from aiohttp import web
from media_stand_in import RecordingMediaPlane

from web.room.room import SessionRoom
from web.room.settings import RoomSettings
from web.store import EventInput, SessionInput, Store, TicketInput, default_database_url
from web.store.records import SessionRecord, TicketRecord

# A fixed instant: nothing here depends on the wall-clock date.
START = datetime(2030, 6, 1, 10, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START.timestamp()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeWebSocket:
    """What the room uses of aiohttp's WebSocketResponse: messages arrive in `sent`, decoded."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.closed = False
        self.close_code: int | None = None

    async def send_str(self, data: str) -> None:
        self.sent.append(json.loads(data))

    async def close(self, *, code: int = 1000, message: bytes = b"") -> bool:
        self.closed = True
        self.close_code = code
        return True

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.sent if m["type"] == kind]


def as_ws(fake: FakeWebSocket) -> web.WebSocketResponse:
    return cast(web.WebSocketResponse, fake)


async def until(condition: Callable[[], object], within: float = 2.0, what: object = "condition") -> None:
    """Poll `condition` until it holds; fail the test after `within` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"{what} not reached within {within} s")
        await asyncio.sleep(0.005)


@dataclass
class RoomSetup:
    store: Store
    session: SessionRecord
    tickets: list[TicketRecord]
    clock: Clock
    media: RecordingMediaPlane = field(default_factory=RecordingMediaPlane)

    def room(self, **settings: Any) -> SessionRoom:
        return SessionRoom(
            self.session,
            self.store,
            self.media,
            settings=RoomSettings(tick_seconds=3600, clock=self.clock, **settings),
            clock=self.clock,
        )


async def make_setup(data_dir: Path, tickets: int = 4, **session: Any) -> RoomSetup:
    store = Store(default_database_url(data_dir))
    await store.migrate()
    event = await store.create_event(
        EventInput(name="Expo", timezone="UTC", days=(START.date(), (START + timedelta(days=1)).date()))
    )
    await store.create_ticket_type(event.id, "A")
    created = await store.create_tickets(
        event.id,
        [TicketInput(name=f"Person {i}", email=f"p{i}@example.org", ticket_type="A") for i in range(tickets)],
    )
    fields: dict[str, Any] = {
        "title": "Morning",
        "starts_at": START - timedelta(minutes=5),
        "ends_at": START + timedelta(hours=1),
        "meeting_seconds": 120,
    }
    fields.update(session)
    record = await store.create_session(event.id, SessionInput(**fields))
    return RoomSetup(store, record, created, Clock())
