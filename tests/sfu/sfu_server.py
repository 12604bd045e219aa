"""A real server on 127.0.0.1:0 with a temporary data dir, an event with tickets and a live session.

Test modules import these helpers by name (`from sfu_server import ...`); conftest only holds fixtures.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp import web

from loadtest.synthetic_peer import SyntheticPeer
from sfu.media_plane import LocalMediaPlane
from web.app import create_app
from web.config import Config
from web.keys import MEDIA_PLANE_KEY, ROOM_SETTINGS_KEY, ROOMS_KEY, STORE_KEY
from web.room.registry import RoomRegistry
from web.store import EventInput, SessionInput, Store, TicketInput
from web.store.records import SessionRecord, TicketRecord

COLOURS = [(220, 40, 40), (40, 60, 220), (40, 200, 60), (230, 200, 40), (200, 60, 200)]
TONES = [440.0, 1000.0, 700.0, 1500.0, 300.0]


class ShiftedClock:
    """Wall clock plus an offset the test moves forward (meeting deadlines are wall-clock times)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@dataclass
class Server:
    app: web.Application
    base_url: str
    clock: ShiftedClock
    event_id: int = 0
    session: SessionRecord | None = None
    tickets: list[TicketRecord] = field(default_factory=list)

    @property
    def store(self) -> Store:
        return self.app[STORE_KEY]

    @property
    def rooms(self) -> RoomRegistry:
        return self.app[ROOMS_KEY]

    @property
    def media(self) -> LocalMediaPlane:
        plane = self.app[MEDIA_PLANE_KEY]
        assert isinstance(plane, LocalMediaPlane)
        return plane

    @property
    def session_id(self) -> int:
        assert self.session is not None
        return self.session.id


async def start_server(
    data_dir: Path, clock: ShiftedClock, database_url: str = "", workers: int = 0, **settings: object
) -> tuple[web.AppRunner, Server]:
    """A server on 127.0.0.1:0 (`database_url` empty: SQLite in `data_dir`; `workers` > 0: media in that
    many local worker processes over an embedded NATS server)."""
    config = Config(
        data_dir=data_dir,
        port=0,
        admin_token_file=data_dir / "admin-token",
        database_url=database_url,
        workers=workers,
        preload_effects=False,
    )
    app = create_app(config)
    app[ROOM_SETTINGS_KEY] = replace(app[ROOM_SETTINGS_KEY], clock=clock, **settings)  # type: ignore[arg-type]
    runner = web.AppRunner(app, shutdown_timeout=2.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, Server(app, f"http://127.0.0.1:{port}", clock)


async def seed(server: Server, tickets: int = 4, **session: object) -> None:
    """An event (yesterday to tomorrow, UTC: a session live now is on its days at any time of day),
    ticket types A and B, tickets, and a session live now."""
    store = server.store
    now = datetime.now(UTC)
    event = await store.create_event(
        EventInput(
            name="Expo", timezone="UTC", days=tuple((now + timedelta(days=d)).date() for d in (-1, 0, 1))
        )
    )
    await store.create_ticket_type(event.id, "A")
    await store.create_ticket_type(event.id, "B")
    created = await store.create_tickets(
        event.id,
        [
            TicketInput(
                name=f"Person {i}",
                email=f"p{i}@example.org",
                ticket_type="A",
                headline=f"Role {i}",
                company=f"Company {i}",
            )
            for i in range(tickets)
        ],
    )
    fields: dict[str, object] = {
        "title": "Morning",
        "starts_at": now - timedelta(minutes=5),
        "ends_at": now + timedelta(hours=1),
        "meeting_seconds": 120,
    }
    fields.update(session)
    server.session = await store.create_session(event.id, SessionInput(**fields))  # type: ignore[arg-type]
    server.event_id = event.id
    server.tickets = created


PeerFactory = Callable[..., Awaitable[SyntheticPeer]]
