"""Fixtures of the bus tests: a real `nats-server` on 127.0.0.1 (a free port, a generated password),
started by the embedded-server code the control plane uses, and clients of it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from nats.aio.client import Client

from sfu.bus.connect import BusSettings, connect
from web.nats_server import EmbeddedNats

NatsClients = Callable[[], Awaitable[Client]]


def bus_settings(server: EmbeddedNats) -> BusSettings:
    return BusSettings(
        servers=(server.url,), user=server.credential.user, password=server.credential.password
    )


@pytest.fixture
async def nats_server() -> AsyncIterator[EmbeddedNats]:
    async with EmbeddedNats() as server:
        yield server


@pytest.fixture
async def nats_clients(nats_server: EmbeddedNats) -> AsyncIterator[NatsClients]:
    """`await nats_clients()`: a new client connection to `nats_server`, closed after the test."""
    made: list[Client] = []

    async def make() -> Client:
        nc = await connect(bus_settings(nats_server), forever=False)
        made.append(nc)
        return nc

    try:
        yield make
    finally:
        for nc in reversed(made):
            await nc.close()
