"""Request bodies: every byte received counts against the limit, and a body that stops coming (or comes
a byte at a time) is cut off with 408."""

from __future__ import annotations

import asyncio
import json
import time
from urllib.parse import urlsplit

import pytest
from aiohttp import StreamReader
from aiohttp.base_protocol import BaseProtocol

from tests.web.api_client import StartServer, make_demo
from web.body import BodyStream
from web.errors import PayloadTooLarge, RequestTimeout


def _stream() -> StreamReader:
    loop = asyncio.get_running_loop()
    protocol = BaseProtocol(loop)
    protocol.transport = asyncio.Transport()  # a connection that stays open and sends nothing more
    return StreamReader(protocol, 2**16, loop=loop)


def _too_large() -> PayloadTooLarge:
    return PayloadTooLarge("too large")


async def test_reads_lines_and_chunks_with_bytes_given_back() -> None:
    s = _stream()
    s.feed_data(b"first line\r\nsecond")
    s.feed_data(b" line\r\nrest")
    s.feed_eof()
    body = BodyStream(s, max_bytes=1000, too_large=_too_large, timeout=5)
    assert await body.readline() == b"first line\r\n"
    chunk = await body.read(4)
    assert chunk == b"seco"
    body.unread_data(b"eco")  # given back: read again first
    assert await body.readline() == b"econd line\r\n"
    assert await body.read(100) == b"rest"
    assert await body.read(100) == b""
    assert body.at_eof() and body.received == 29
    with pytest.raises(ValueError):
        await body.read(-1)


async def test_bytes_received_count_even_unread() -> None:
    s = _stream()
    s.feed_data(b"x" * 600)
    body = BodyStream(s, max_bytes=500, too_large=_too_large, timeout=5)
    with pytest.raises(PayloadTooLarge):
        await body.read(10)  # 600 bytes arrived: over the limit before any was read


async def test_a_body_must_keep_coming() -> None:
    s = _stream()
    opened = asyncio.get_running_loop().time()
    body = BodyStream(s, max_bytes=10**6, too_large=_too_large, timeout=0.2, min_rate=1000)
    s.feed_data(b"a" * 100)
    assert await body.read(1000) == b"a" * 100
    # 100 bytes earned 0.1 s on top of the 0.2 s: the deadline is 0.3 s after the start.
    assert body.deadline() == pytest.approx(opened + 0.3, abs=0.05)
    start = time.monotonic()
    with pytest.raises(RequestTimeout, match="arrived too slowly"):
        await body.read(1000)
    assert 0.1 < time.monotonic() - start < 1.0


async def _raw_request(url: str, head: str, body: bytes, wait: float) -> tuple[bytes, float]:
    """Send a request head and part of a body, then nothing; the server's reply and when it came."""
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    try:
        start = time.monotonic()
        writer.write(head.encode() + body)
        await writer.drain()
        async with asyncio.timeout(wait):
            reply = await reader.read()  # until the server closes the connection
        return reply, time.monotonic() - start
    finally:
        writer.close()
        await writer.wait_closed()


@pytest.mark.parametrize("route", ["json", "upload"])
async def test_a_stalled_body_gets_408_and_the_connection_closes(
    start_server: StartServer, route: str
) -> None:
    api = await start_server(body_timeout=1)
    demo = await make_demo(api)
    if route == "json":
        target, auth = "/api/admin/events", f"Authorization: Bearer {api.admin_token}\r\n"
    else:
        target, auth = f"/api/me/backgrounds?t={demo.secret('Ada')}", ""
    head = (
        f"POST {target} HTTP/1.1\r\nHost: test\r\n{auth}Content-Type: application/octet-stream\r\n"
        "Content-Length: 100000\r\n\r\n"
    )
    reply, took = await _raw_request(api.url, head, b'{"name": "Sl', wait=20)
    status_line, _, rest = reply.partition(b"\r\n")
    assert status_line == b"HTTP/1.1 408 Request Timeout", reply
    assert b"\r\nX-Content-Type-Options: nosniff\r\n" in reply and b"\r\nConnection: close\r\n" in reply
    body = json.loads(rest.partition(b"\r\n\r\n")[2])
    assert body == {"error": "the request body arrived too slowly: send it at once, at a steady pace"}
    assert 0.9 < took < 5  # closed once the timeout passed: no more waiting for the body
