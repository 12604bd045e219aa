"""Local media workers: spawned, restarted with backoff after a crash, all gone after stop."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from sfu import interface as mi
from sfu.bus import RemoteMediaPlane
from tests.nats_fixture import NatsClients, Reports
from tests.sfu.sfu_testing import wait_until
from web.nats_server import EmbeddedNats
from web.supervisor import Backoff
from web.workers import LocalWorkers, default_worker_count, worker_command

ROOT = Path(__file__).resolve().parents[2]


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def fake_worker(nats_url: str) -> list[str]:
    return [sys.executable, "-m", "tests.web.fake_worker", "--nats-url", nats_url]


def test_one_worker_per_usable_core_by_default() -> None:
    assert 1 <= default_worker_count() <= (os.cpu_count() or 1)


def test_the_worker_command_carries_no_secret() -> None:
    argv = worker_command("nats://127.0.0.1:4222", ["--effect-fps", "20"])("local-3")
    assert argv[:3] == [sys.executable, "-m", "web.worker_cli"]
    assert argv[3:] == [
        "--nats-url",
        "nats://127.0.0.1:4222",
        "--worker-id",
        "local-3",
        "--drain-seconds",
        "0",
        "--effect-fps",
        "20",
    ]


async def test_local_workers_join_the_embedded_bus_and_leave_on_stop(
    nats_server: EmbeddedNats, nats_clients: NatsClients, reports: Reports
) -> None:
    env = {**nats_server.credential.env(), "PYTHONPATH": str(ROOT)}
    workers = LocalWorkers(2, lambda w: [*fake_worker(nats_server.url), "--worker-id", w], env=env)
    await workers.start()
    try:
        for worker in ("local-1", "local-2"):
            await reports.until(worker, "serving")
        remote = RemoteMediaPlane(await nats_clients(), "local-2")
        assert await remote.request(mi.AddPeer(peer="a")) == mi.Ok()
        pids = [pid for pid in workers.pids.values() if pid is not None]
        assert len(pids) == 2
    finally:
        await workers.stop()
    for worker in ("local-1", "local-2"):
        await reports.until(worker, "stopped", within=10)  # a clean SIGTERM, not a kill
    assert all(_gone(pid) for pid in pids)
    assert all(child.exit_codes == [] for child in workers.children.values())


async def test_a_killed_worker_comes_back_as_a_new_instance(
    nats_server: EmbeddedNats, reports: Reports
) -> None:
    env = {**nats_server.credential.env(), "PYTHONPATH": str(ROOT)}
    command = worker_command(nats_server.url)
    workers = LocalWorkers(
        1,
        lambda w: [*fake_worker(nats_server.url), *command(w)[5:]],  # its id and drain
        env=env,
        backoff=Backoff(first=0.1),
    )
    async with workers:
        first = await reports.until("local-1", "serving")
        pid = workers.pids["local-1"]
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        again = await reports.until("local-1", "serving")
        assert again.instance != first.instance
        assert workers.children["local-1"].exit_codes == [-signal.SIGKILL]


class RecordedSleep:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        await asyncio.sleep(0)


async def test_crashing_workers_restart_with_backoff_and_nothing_runs_after_stop() -> None:
    sleep = RecordedSleep()
    crash = [sys.executable, "-c", "import sys; sys.exit(7)"]
    workers = LocalWorkers(2, lambda w: crash, backoff=Backoff(first=0.25, longest=1.0), sleep=sleep)
    await workers.start()
    try:
        async with asyncio.timeout(60):
            for child in workers.children.values():
                await child.wait_started(4)
    finally:
        await workers.stop()
    for child in workers.children.values():
        assert child.exit_codes[:3] == [7, 7, 7]
        assert child.delays[:4] == [0.25, 0.5, 1.0, 1.0][: len(child.delays[:4])]
        assert child.pid is None
    assert len(sleep.delays) >= 6


async def test_stop_kills_a_worker_that_ignores_sigterm(tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    code = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        f"open({str(ready)!r}, 'w').close(); time.sleep(60)"
    )
    workers = LocalWorkers(1, lambda w: [sys.executable, "-c", code], stop_seconds=0.3)
    await workers.start()
    pid = workers.pids["local-1"]
    assert pid is not None
    await wait_until(ready.exists, within=30, what="the worker")
    await workers.stop()
    assert _gone(pid) and workers.pids == {"local-1": None}


async def test_a_worker_that_cannot_start_stops_the_others(tmp_path: Path) -> None:
    commands = {"local-1": ["sleep", "60"], "local-2": [str(tmp_path / "missing")]}
    workers = LocalWorkers(2, lambda w: commands[w], stop_seconds=2)
    with pytest.raises(OSError):
        await workers.start()
    assert workers.pids == {"local-1": None, "local-2": None}
