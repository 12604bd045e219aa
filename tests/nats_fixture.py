"""Fixtures of the bus tests: a real `nats-server` on 127.0.0.1 (a free port, a generated password),
started by the embedded-server code the control plane uses, and clients of it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from nats.aio.client import Client
from nats.aio.subscription import Subscription

from sfu.bus.connect import BusSettings, connect, settle
from sfu.bus.subjects import LOAD_SUBJECT, WorkerReport, WorkerState, parse_report
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


class Reports:
    """The worker reports on the load subject, as the control plane sees them: `next` and `until` read
    each worker's reports in order, whatever other workers report in between."""

    def __init__(self, sub: Subscription) -> None:
        self._sub = sub
        self._seen: list[WorkerReport] = []
        self._cursor: dict[str, int] = {}

    async def next(self, worker: str, within: float = 30) -> WorkerReport:
        """The worker's next report."""
        async with asyncio.timeout(within):
            while True:
                start = self._cursor.get(worker, 0)
                for i in range(start, len(self._seen)):
                    if self._seen[i].worker == worker:
                        self._cursor[worker] = i + 1
                        return self._seen[i]
                self._cursor[worker] = len(self._seen)
                self._seen.append(parse_report((await self._sub.next_msg(timeout=within)).data))

    async def until(self, worker: str, state: WorkerState, within: float = 30) -> WorkerReport:
        """The worker's next report in `state` (skipping its others)."""
        async with asyncio.timeout(within):
            while (report := await self.next(worker, within)).state != state:
                pass
            return report


@pytest.fixture
async def reports(nats_clients: NatsClients) -> AsyncIterator[Reports]:
    """Every worker report from now on."""
    nc = await nats_clients()
    sub = await nc.subscribe(LOAD_SUBJECT)
    await settle(nc)
    yield Reports(sub)
    await sub.unsubscribe()
