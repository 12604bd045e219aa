"""Reading a request body: every byte received counts against a limit, and the body must keep coming.

aiohttp hands a handler the body as it arrives, as slowly as the client sends it, with no time limit. Every
body is read through a `BodyStream`: the bytes received so far (multipart boundaries, headers and fields
included, after any Content-Encoding is undone) may not pass `max_bytes`, and the body must arrive within
`timeout` seconds plus one second for every `min_rate` bytes received (a slow client that keeps sending
stays, one that trickles a byte now and then is cut off)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiohttp import StreamReader, web

from web.errors import RequestTimeout
from web.keys import CONFIG_KEY

MIN_BODY_RATE = 8 * 1024  # bytes per second, on average, once a body's grace time is spent
CHUNK = 64 * 1024

TooLarge = Callable[[], Exception]  # what to raise once the body passes its limit


class BodyStream:
    """The body of one request. It offers what aiohttp's MultipartReader reads a stream with (`read`,
    `readline`, `at_eof`, `unread_data`), so a multipart form is read through it too."""

    def __init__(
        self,
        stream: StreamReader,
        *,
        max_bytes: int,
        too_large: TooLarge,
        timeout: float,
        min_rate: float = MIN_BODY_RATE,
    ) -> None:
        self._stream = stream
        self.max_bytes = max_bytes  # may be lowered while reading, e.g. once the upload's type is known
        self._too_large = too_large
        self._timeout = timeout
        self._min_rate = min_rate
        self._loop = asyncio.get_running_loop()
        self._start = self._loop.time()
        self._pushback = b""

    @classmethod
    def of(cls, request: web.Request, max_bytes: int, too_large: TooLarge) -> BodyStream:
        """The request's body, under the server's body timeout."""
        return cls(
            request.content,
            max_bytes=max_bytes,
            too_large=too_large,
            timeout=request.app[CONFIG_KEY].body_timeout,
        )

    @property
    def received(self) -> int:
        """Bytes of the body received so far, read or not."""
        return self._stream.total_bytes

    def deadline(self) -> float:
        """When the body must be complete, at the rate it has come so far (event loop time)."""
        return self._start + self._timeout + self.received / self._min_rate

    def _check_size(self) -> None:
        if self.received > self.max_bytes:
            raise self._too_large()

    async def _wait(self, read: Callable[[], Awaitable[bytes]]) -> bytes:
        self._check_size()
        try:
            async with asyncio.timeout_at(self.deadline()):
                data = await read()
        except TimeoutError:
            raise RequestTimeout(
                "the request body arrived too slowly: send it at once, at a steady pace"
            ) from None
        self._check_size()
        return data

    async def read(self, n: int = CHUNK) -> bytes:
        """Up to `n` bytes (at least one), or b"" at the end of the body."""
        if n <= 0:
            raise ValueError("read() needs a positive size: a body is never read whole at once")
        if self._pushback:
            data, self._pushback = self._pushback[:n], self._pushback[n:]
            return data
        return await self._wait(lambda: self._stream.read(n))

    async def readline(self, *, max_line_length: int | None = None) -> bytes:
        """One line, with its b"\\n" (shorter at the end of the body)."""
        head = self._pushback
        cut = head.find(b"\n")
        if cut >= 0:
            self._pushback = head[cut + 1 :]
            return head[: cut + 1]
        self._pushback = b""
        rest = None if max_line_length is None else max(1, max_line_length - len(head))
        return head + await self._wait(lambda: self._stream.readline(max_line_length=rest))

    def at_eof(self) -> bool:
        return not self._pushback and self._stream.at_eof()

    def unread_data(self, data: bytes) -> None:
        """Give back bytes read too far (MultipartReader does, looking for a boundary)."""
        self._pushback = data + self._pushback
