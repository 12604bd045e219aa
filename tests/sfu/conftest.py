"""Fixtures for the sfu tests: a real server (see sfu_server.py) and synthetic peers on it.

The server is imported when a test asks for it, so the media plane's own tests (which need no server)
collect on their own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from sfu_server import PeerFactory, Server, ShiftedClock

    from loadtest.synthetic_peer import SyntheticPeer


@pytest.fixture
def clock() -> ShiftedClock:
    from sfu_server import ShiftedClock

    return ShiftedClock()


@pytest.fixture
async def server(
    tmp_path: Path, clock: ShiftedClock, request: pytest.FixtureRequest
) -> AsyncIterator[Server]:
    """A seeded server on SQLite, its media in its own process. A test parametrized with `server`
    (indirect) gets "postgresql": one on a fresh PostgreSQL database instead, or "workers": its media in
    a local worker process over NATS."""
    from sfu_server import seed, start_server

    database_url = ""
    kind = getattr(request, "param", "sqlite")
    if kind == "postgresql":
        database_url = await request.getfixturevalue("postgres_server").database()
    runner, srv = await start_server(
        tmp_path,
        clock,
        database_url=database_url,
        workers=1 if kind == "workers" else 0,
        tick_seconds=0.05,
        grace_seconds=3.0,
    )
    try:
        await seed(srv)
        yield srv
    finally:
        await runner.cleanup()


@pytest.fixture
async def peers(server: Server) -> AsyncIterator[PeerFactory]:
    """`await peers(i)`: a connected synthetic peer for ticket i, with its own colour and tone."""
    from sfu_server import COLOURS, TONES

    from loadtest.synthetic_peer import SyntheticPeer

    made: list[SyntheticPeer] = []

    async def make(index: int, *, connect: bool = True, **kwargs: object) -> SyntheticPeer:
        options: dict[str, object] = {"colour": COLOURS[index], "tone_hz": TONES[index], "name": f"p{index}"}
        options.update(kwargs)
        peer = SyntheticPeer(
            server.base_url,
            server.session_id,
            server.tickets[index].secret,
            ice_servers=[],
            **options,  # type: ignore[arg-type]
        )
        made.append(peer)
        if connect:
            await peer.connect()
        return peer

    try:
        yield make
    finally:
        for peer in made:
            await peer.close()
