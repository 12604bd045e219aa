"""The embedded NATS server: a real nats-server child on 127.0.0.1 with a generated credential."""

from __future__ import annotations

import asyncio
import os
import signal
import stat
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from nats.errors import Error as NatsError

from sfu.bus.connect import BusSettings, connect
from tests.nats_fixture import bus_settings
from web.nats_server import EmbeddedNats, NatsServerError, embedded_nats


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


async def _round_trip(settings: BusSettings) -> bytes:
    nc = await connect(settings, forever=False)
    try:
        sub = await nc.subscribe("t.echo")
        await nc.publish("t.echo", b"hello")
        msg = await sub.next_msg(timeout=5)
        return msg.data
    finally:
        await nc.close()


async def test_it_accepts_its_credential_on_localhost(nats_server: EmbeddedNats) -> None:
    assert nats_server.url.startswith("nats://127.0.0.1:")
    assert await _round_trip(bus_settings(nats_server)) == b"hello"


@pytest.mark.parametrize("auth", ["wrong password", "none", "token"])
async def test_it_refuses_any_other_credential(nats_server: EmbeddedNats, auth: str) -> None:
    url = (nats_server.url,)
    settings = {
        "wrong password": BusSettings(url, user=nats_server.credential.user, password="not-it"),
        "none": BusSettings(url),
        "token": BusSettings(url, token=nats_server.credential.password),
    }[auth]
    with pytest.raises(NatsError):
        await connect(settings, forever=False)


def _check_private(pid: int, password: str) -> None:
    """The password is not on the command line; the configuration file is the owner's alone."""
    argv = Path(f"/proc/{pid}/cmdline").read_text().split("\0")
    assert password not in " ".join(argv)
    config = Path(argv[argv.index("-c") + 1])
    assert password in config.read_text()
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert stat.S_IMODE(config.parent.stat().st_mode) == 0o700


async def test_the_password_is_in_no_readable_place(nats_server: EmbeddedNats) -> None:
    pid = nats_server.pid
    assert pid is not None
    if not sys.platform.startswith("linux"):
        pytest.skip("reads /proc")
    _check_private(pid, nats_server.credential.password)
    assert nats_server.credential.password not in repr(nats_server.credential)


async def test_after_stop_it_is_gone() -> None:
    server = EmbeddedNats()
    await server.start()
    pid, url = server.pid, server.url
    settings = bus_settings(server)
    child = server.child
    assert pid is not None and child is not None
    await server.stop()
    assert _gone(pid)
    with pytest.raises(RuntimeError):
        _ = server.url
    with pytest.raises((NatsError, OSError)):
        await connect(BusSettings((url,), user=settings.user, password=settings.password), forever=False)
    await server.stop()  # twice is fine


async def test_a_crashed_server_comes_back_on_the_same_port_and_clients_reconnect(
    nats_server: EmbeddedNats,
) -> None:
    nc = await connect(bus_settings(nats_server))  # re-connects for ever
    try:
        port, pid = nats_server.port, nats_server.pid
        assert pid is not None and nats_server.child is not None
        os.kill(pid, signal.SIGKILL)
        async with asyncio.timeout(20):
            await nats_server.child.wait_started(2)
        assert nats_server.port == port
        sub = await nc.subscribe("t.after")
        async with asyncio.timeout(20):
            while True:  # until the client is back (publishes before that may be lost)
                await nc.publish("t.after", b"again")
                try:
                    msg = await sub.next_msg(timeout=0.5)
                    break
                except NatsError:
                    continue
        assert msg.data == b"again"
    finally:
        await nc.close()


async def test_a_missing_binary_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        async with embedded_nats(binary=tmp_path / "nats-server"):
            pass


async def test_a_binary_that_never_listens_is_reported(tmp_path: Path) -> None:
    fake = tmp_path / "nats-server"
    fake.write_text("#!/bin/sh\nexec sleep 30\n")
    fake.chmod(0o700)
    server = EmbeddedNats(binary=fake, start_seconds=0.5, stop_seconds=1)
    with pytest.raises(NatsServerError, match="did not start"):
        await server.start()
    assert server.child is None and server.port is None


async def test_it_runs_in_an_aiohttp_cleanup_context() -> None:
    seen: list[int | None] = []

    async def nats_ctx(app: web.Application) -> AsyncIterator[None]:
        async with embedded_nats() as nats:
            seen.append(nats.pid)
            yield

    app = web.Application()
    app.cleanup_ctx.append(nats_ctx)
    runner = web.AppRunner(app)
    await runner.setup()
    pid = seen[0]
    assert pid is not None and not _gone(pid)
    await runner.cleanup()
    assert _gone(pid)
