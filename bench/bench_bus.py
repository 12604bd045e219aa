"""The media interface over NATS against the same calls in process: command round trips one at a time
and many at once, and event delivery, through the embedded nats-server on this machine.

    python -m bench bus            # SPEEDMEET_BENCH_BUS_COMMANDS=5000 for more samples

Both ends run in this process (one event loop), so the CPU figure is the bus's whole cost per command:
client and worker side together, JSON included, the nats-server's own CPU not counted."""

from __future__ import annotations

import asyncio
import os
import statistics
import time

from sfu import interface as mi
from sfu.bus import RemoteMediaPlane, connect, serve_media_plane
from sfu.bus.connect import BusSettings
from web.nats_server import EmbeddedNats


class AnsweringPlane:
    """A media plane that carries out nothing and answers every command `ok` at once."""

    def __init__(self) -> None:
        self.listeners: list[mi.EventListener] = []

    async def request(self, command: mi.Command) -> mi.Reply:
        return mi.Ok()

    def add_listener(self, listener: mi.EventListener) -> None:
        self.listeners.append(listener)


def _ms(samples: list[float], q: float) -> str:
    return f"{statistics.quantiles(samples, n=100)[int(q) - 1] * 1000:.3f}"


async def _round_trips(plane: mi.MediaPlane, count: int) -> tuple[list[float], float]:
    command = mi.Route(peer="s1-t1", to="partner", partner="s1-t2")
    times: list[float] = []
    cpu = time.process_time()
    for _ in range(count):
        started = time.perf_counter()
        await plane.request(command)
        times.append(time.perf_counter() - started)
    return times, (time.process_time() - cpu) / count


async def _concurrent(plane: mi.MediaPlane, count: int, width: int) -> float:
    commands = [mi.Route(peer=f"p{i % width}", to="slate") for i in range(count)]
    started = time.perf_counter()
    for i in range(0, count, width):
        await asyncio.gather(*(plane.request(c) for c in commands[i : i + width]))
    return count / (time.perf_counter() - started)


async def _events(worker: AnsweringPlane, remote: RemoteMediaPlane, count: int) -> list[float]:
    sent: dict[str, float] = {}
    got: list[float] = []
    done = asyncio.Event()

    def on_event(event: mi.MediaEvent) -> None:
        if isinstance(event, mi.PeerStateChanged):
            got.append(time.perf_counter() - sent[event.peer])
            if len(got) == count:
                done.set()

    remote.add_listener(on_event)
    for i in range(count):
        peer = f"p{i}"
        sent[peer] = time.perf_counter()
        for listener in worker.listeners:
            listener(mi.PeerStateChanged(peer=peer, state="connected"))
        await asyncio.sleep(0.001)
    async with asyncio.timeout(30):
        await done.wait()
    return got


async def run(count: int) -> None:
    local = AnsweringPlane()
    times, cpu = await _round_trips(local, count)
    print(f"in process:  round trip p50 {_ms(times, 50)} ms, p95 {_ms(times, 95)} ms, {cpu * 1e6:.0f} us CPU")
    async with EmbeddedNats() as server:
        settings = BusSettings(
            (server.url,), user=server.credential.user, password=server.credential.password
        )
        worker_nc, control_nc = await connect(settings), await connect(settings)
        worker = AnsweringPlane()
        served = await serve_media_plane(worker_nc, worker, "bench")
        remote = RemoteMediaPlane(control_nc, "bench")
        await remote.start()
        try:
            await _round_trips(remote, min(200, count))  # warm up
            times, cpu = await _round_trips(remote, count)
            print(
                f"over NATS:   round trip p50 {_ms(times, 50)} ms, p95 {_ms(times, 95)} ms, "
                f"{cpu * 1e6:.0f} us CPU per command (both ends)"
            )
            for width in (10, 100):
                rate = await _concurrent(remote, count, width)
                print(f"over NATS:   {rate:,.0f} commands/s with {width} in flight")
            got = await _events(worker, remote, min(1000, count))
            print(f"over NATS:   event delivery p50 {_ms(got, 50)} ms, p95 {_ms(got, 95)} ms")
        finally:
            await remote.stop()
            await served.stop()
            await worker_nc.close()
            await control_nc.close()


def main() -> None:
    asyncio.run(run(int(os.environ.get("SPEEDMEET_BENCH_BUS_COMMANDS", "2000"))))
