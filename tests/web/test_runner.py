"""The runner the server listens with (web.app.make_runner): clients that send their headers slowly, or
nothing, are cut off after the header timeout; and the warning when it listens beyond loopback without
--public-host."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from tests.web.api_client import make_config
from web.app import create_app, make_runner, public_host_warning
from web.config import Config


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[tuple[str, int]]:
    config = make_config(tmp_path / "data", header_timeout=1.0)
    runner = make_runner(create_app(config), config)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        yield host, port
    finally:
        await runner.cleanup()


async def _closed_after(host: str, port: int, send: list[bytes], every: float) -> float | None:
    """Send `send` piece by piece, `every` seconds apart, then wait; when the server closed the connection
    (seconds after it opened), or None if it answered or was still open after 10 s."""
    reader, writer = await asyncio.open_connection(host, port)
    start = time.monotonic()
    try:
        async with asyncio.timeout(10):
            for piece in send:
                writer.write(piece)
                await writer.drain()
                try:
                    async with asyncio.timeout(every):
                        data = await reader.read(1024)
                except TimeoutError:
                    continue
                return time.monotonic() - start if data == b"" else None
            data = await reader.read(1024)
            return time.monotonic() - start if data == b"" else None
    except TimeoutError:
        return None
    except ConnectionResetError:
        return time.monotonic() - start
    finally:
        writer.close()
        await writer.wait_closed()


async def test_slow_headers_are_cut_off(server: tuple[str, int]) -> None:
    host, port = server
    # A header line every 0.3 s, never the blank line that ends them: many such clients at once.
    slow = [b"GET /healthz HTTP/1.1\r\n"] + [b"X-Slow-%d: 1\r\n" % i for i in range(30)]
    silent: list[bytes] = []
    results = await asyncio.gather(
        *(_closed_after(host, port, slow, every=0.3) for _ in range(20)),
        *(_closed_after(host, port, silent, every=0.3) for _ in range(5)),
    )
    assert all(r is not None and 0.9 < r < 3 for r in results), results


async def test_prompt_clients_and_keep_alive_still_work(server: tuple[str, int]) -> None:
    host, port = server
    reader, writer = await asyncio.open_connection(host, port)
    try:
        for _ in range(3):  # one connection, several requests, each within the header timeout
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200 OK"), head
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
            await asyncio.sleep(0.5)
        # Then idle: the connection goes after the header timeout.
        async with asyncio.timeout(5):
            assert await reader.read() == b""
    finally:
        writer.close()
        await writer.wait_closed()


@pytest.mark.parametrize(
    ("host", "public_host", "warns"),
    [
        ("127.0.0.1", None, False),
        ("::1", None, False),
        ("localhost", None, False),
        ("0.0.0.0", None, True),
        ("::", None, True),
        ("", None, True),
        ("192.168.1.20", None, True),
        ("meet.internal", None, True),
        ("0.0.0.0", "https://meet.example.org", False),
    ],
)
def test_public_host_warning(host: str, public_host: str | None, warns: bool) -> None:
    warning = public_host_warning(Config(host=host, public_host=public_host))
    assert (warning is not None) == warns
    if warning is not None:
        assert "--public-host" in warning and "Host header" in warning
