"""The media worker: its serving loop with a recording stand-in of the media plane on a real
nats-server, its drain, its signals, and the `speedmeet worker` command."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from nats.aio.client import Client

from aio import cancel_and_wait
from sfu import interface as mi
from sfu.bus import BusSettings, RemoteMediaPlane
from sfu.worker import DRAINING, WorkerGate, WorkerOptions, default_worker_id, run_worker, serve_worker
from tests.nats_fixture import NatsClients, Reports, bus_settings
from tests.web.room.media_stand_in import RecordingMediaPlane
from web.nats_server import EmbeddedNats

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Control:
    nc: Client
    reports: Reports

    def remote(self, worker: str) -> RemoteMediaPlane:
        return RemoteMediaPlane(self.nc, worker, timeout=5)


@pytest.fixture
async def control(nats_clients: NatsClients, reports: Reports) -> Control:
    return Control(await nats_clients(), reports)


def _options(server: EmbeddedNats, worker: str, **kwargs: object) -> WorkerOptions:
    return WorkerOptions(bus=bus_settings(server), worker_id=worker, **kwargs)  # type: ignore[arg-type]


@dataclass
class Served:
    """A worker serving a recording stand-in; `stop` is its SIGTERM, `hurry` a second one."""

    plane: RecordingMediaPlane
    stop: asyncio.Event
    hurry: asyncio.Event
    task: asyncio.Task[WorkerGate]


Serve = Callable[..., Awaitable[Served]]


@pytest.fixture
async def serve(nats_clients: NatsClients, nats_server: EmbeddedNats) -> AsyncIterator[Serve]:
    """`await serve(worker_id, **options)`: a worker's serving loop, ended after the test."""
    tasks: list[asyncio.Task[WorkerGate]] = []

    async def start(worker: str, **kwargs: object) -> Served:
        plane, stop, hurry = RecordingMediaPlane(), asyncio.Event(), asyncio.Event()
        options = _options(nats_server, worker, **kwargs)
        nc = await nats_clients()
        loop = serve_worker(nc, plane, options, stop=stop, hurry=hurry)
        task = asyncio.create_task(loop, name="test-worker")
        tasks.append(task)
        return Served(plane, stop, hurry, task)

    yield start
    await cancel_and_wait(*tasks)


async def test_a_worker_serves_until_told_then_drains_its_meetings(serve: Serve, control: Control) -> None:
    served = await serve("w1")
    plane, stop, task = served.plane, served.stop, served.task
    first = await control.reports.next("w1")
    assert first.state == "serving"
    remote = control.remote("w1")
    for peer in ("a", "b", "c"):
        assert await remote.request(mi.AddPeer(peer=peer)) == mi.Ok()
    assert await remote.request(mi.Route(peer="a", to="partner", partner="b")) == mi.Ok()
    assert await remote.request(mi.Route(peer="b", to="partner", partner="a")) == mi.Ok()

    stop.set()  # SIGTERM
    assert (await control.reports.until("w1", "draining")).instance == first.instance
    assert await remote.request(mi.AddPeer(peer="d")) == DRAINING
    assert "d" not in plane.peers
    # Running meetings go on; the worker waits for them.
    assert await remote.request(mi.SetBackground(peer="c")) == mi.Ok()
    assert await remote.request(mi.Route(peer="a", to="slate")) == mi.Ok()
    await asyncio.sleep(0.1)
    assert not task.done()
    assert await remote.request(mi.RemovePeer(peer="b")) == mi.Ok()  # the last meeting is over
    await control.reports.until("w1", "stopped")
    async with asyncio.timeout(10):
        await task
    reply = await remote.request(mi.AddPeer(peer="e"))
    assert isinstance(reply, mi.Refused) and "not running" in reply.message


async def test_a_worker_without_meetings_stops_at_once(serve: Serve, control: Control) -> None:
    served = await serve("w2")
    stop, task = served.stop, served.task
    await control.reports.next("w2")
    assert await control.remote("w2").request(mi.AddPeer(peer="waiting")) == mi.Ok()
    stop.set()
    async with asyncio.timeout(10):
        await task
    await control.reports.until("w2", "stopped")


async def test_the_drain_ends_at_its_deadline_or_on_a_second_signal(serve: Serve, control: Control) -> None:
    for worker, deadline in (("late", 0.2), ("hurried", 600.0)):
        served = await serve(worker, drain_seconds=deadline)
        stop, hurry, task = served.stop, served.hurry, served.task
        await control.reports.next(worker)
        remote = control.remote(worker)
        await remote.request(mi.AddPeer(peer="a"))
        await remote.request(mi.AddPeer(peer="b"))
        await remote.request(mi.Route(peer="a", to="partner", partner="b"))
        stop.set()
        await control.reports.until(worker, "draining")
        if worker == "hurried":
            hurry.set()
        async with asyncio.timeout(10):
            await task
        await control.reports.until(worker, "stopped")


async def test_answers_announce_the_public_address(serve: Serve, control: Control) -> None:
    served = await serve("w3", public_ip="203.0.113.9")
    stop, task = served.stop, served.task
    report = await control.reports.next("w3")
    assert report.public_ip == "203.0.113.9"
    remote = control.remote("w3")
    await remote.request(mi.AddPeer(peer="a"))
    offer = "v=0\r\na=candidate:1 1 udp 2130706431 10.1.2.3 50000 typ host"
    reply = await remote.request(mi.AnswerOffer(peer="a", sdp=offer))
    announced = "v=0\r\na=candidate:1 1 udp 2130706431 203.0.113.9 50000 typ host"
    assert reply == mi.Answered(sdp=f"answer to {announced}")
    stop.set()
    async with asyncio.timeout(10):
        await task


class StartablePlane(RecordingMediaPlane):
    def __init__(self) -> None:
        super().__init__()
        self.started = self.stopped = False

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.stopped = True


async def test_sigterm_drains_and_stops_the_worker_process(
    nats_server: EmbeddedNats, control: Control
) -> None:
    plane = StartablePlane()
    task = asyncio.create_task(run_worker(_options(nats_server, "w4"), plane=plane), name="test-run-worker")
    try:
        await control.reports.next("w4")  # the signal handlers are in place by now
        remote = control.remote("w4")
        await remote.request(mi.AddPeer(peer="a"))
        await remote.request(mi.AddPeer(peer="b"))
        await remote.request(mi.Route(peer="a", to="partner", partner="b"))
        os.kill(os.getpid(), signal.SIGTERM)
        await control.reports.until("w4", "draining")
        assert await remote.request(mi.AddPeer(peer="c")) == DRAINING
        await remote.request(mi.Route(peer="a", to="slate"))
        async with asyncio.timeout(10):
            assert await task == 0
    finally:
        await cancel_and_wait(task)
    await control.reports.until("w4", "stopped")
    assert plane.started and plane.stopped


async def test_a_worker_waiting_for_the_bus_stops_on_sigterm() -> None:
    options = WorkerOptions(bus=BusSettings(("nats://127.0.0.1:9",)), worker_id="lonely")
    plane = StartablePlane()
    task = asyncio.create_task(run_worker(options, plane=plane), name="test-run-worker")
    await asyncio.sleep(0.3)
    assert not task.done()
    os.kill(os.getpid(), signal.SIGTERM)
    async with asyncio.timeout(10):
        assert await task == 0
    assert not plane.started


def test_the_default_worker_id_is_a_subject_token() -> None:
    from sfu.bus import valid_worker_id

    assert valid_worker_id(default_worker_id())


def _worker_env(server: EmbeddedNats | None = None) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if server is not None:
        env |= server.credential.env()
    return env


def test_speedmeet_worker_help() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "web.cli", "worker", "--help"],
        capture_output=True,
        text=True,
        env=_worker_env(),
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    for flag in ("--nats-url", "--nats-user", "--public-ip", "--worker-id", "--drain-seconds"):
        assert flag in result.stdout


@pytest.mark.skipif(
    not (ROOT / "sfu" / "media_plane.py").exists(), reason="needs the local media plane (sfu/media_plane.py)"
)
async def test_a_worker_process_serves_the_local_media_plane_and_drains_on_sigterm(
    nats_server: EmbeddedNats, control: Control
) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "web.cli",
        "worker",
        "--nats-url",
        nats_server.url,
        "--worker-id",
        "proc1",
        env=_worker_env(nats_server),
        cwd=ROOT,
    )
    try:
        await control.reports.until("proc1", "serving", within=60)
        remote = control.remote("proc1")
        assert await remote.request(mi.AddPeer(peer="a")) == mi.Ok()
        assert await remote.request(mi.AddPeer(peer="b")) == mi.Ok()
        assert await remote.request(mi.Route(peer="a", to="partner", partner="b")) == mi.Ok()
        process.send_signal(signal.SIGTERM)
        await control.reports.until("proc1", "draining")
        assert await remote.request(mi.AddPeer(peer="c")) == DRAINING
        assert await remote.request(mi.RemovePeer(peer="a")) == mi.Ok()
        await control.reports.until("proc1", "stopped")
        async with asyncio.timeout(30):
            assert await process.wait() == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
