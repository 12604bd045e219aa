"""One attendee's signalling WebSocket, as the room sees it.

Messages to the client go through a bounded outbox drained by a sender task, so a client that stops
reading can never stall the room: it is dropped when its outbox overflows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from aiohttp import web
from pydantic import BaseModel

from aio import cancel_and_wait
from web.room.budget import TokenBucket
from wire import protocol as p

logger = logging.getLogger(__name__)

_CLOSE_SENTINEL = object()


class AttendeeSocket:
    """A WebSocket with an outbox. `start()` starts its sender; `close()` is safe to call twice."""

    def __init__(
        self,
        ws: web.WebSocketResponse,
        name: str,
        *,
        outbox_size: int = 512,
        budget: TokenBucket | None = None,
    ) -> None:
        self.ws = ws
        self.name = name
        # What the client may send: a generous default, tightened by the room's settings.
        self.budget = budget or TokenBucket(rate=50, burst=200, clock=time.monotonic)
        self._outbox: asyncio.Queue[str | object] = asyncio.Queue(maxsize=outbox_size)
        self._sender: asyncio.Task[None] | None = None
        self.closed = False
        self.bad_messages = 0
        self.messages_sent = 0

    def start(self) -> None:
        if self._sender is None and not self.closed:
            self._sender = asyncio.create_task(self._send_loop(), name=f"room-ws-send-{self.name}")

    def send(self, message: BaseModel) -> None:
        """Queue a message for the client; never blocks. A client whose outbox overflows is dropped."""
        if self.closed:
            return
        try:
            self._outbox.put_nowait(p.dump(message))
        except asyncio.QueueFull:
            logger.warning("%s: client is not reading its messages; dropping the connection", self.name)
            self.closed = True
            # The sender task closes the socket; the handler's read loop then ends as for any drop.
            if self._sender is not None:
                self._sender.cancel()

    def send_error(self, code: p.ErrorCode, message: str, ref: str | None = None) -> None:
        self.send(p.Error(code=code, message=message, ref=ref))

    async def close(self, code: int = 1000, message: str = "") -> None:
        """Flush queued messages (briefly), then close the socket with `code`."""
        sender = self._sender
        if not self.closed:
            self.closed = True
            with contextlib.suppress(asyncio.QueueFull):
                self._outbox.put_nowait(_CLOSE_SENTINEL)
            if sender is not None:
                with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                    await asyncio.wait_for(asyncio.shield(sender), 1.0)
        await cancel_and_wait(sender)
        if not self.ws.closed:
            with contextlib.suppress(Exception):
                await self.ws.close(code=code, message=message.encode()[:120])

    async def _send_loop(self) -> None:
        try:
            while True:
                item = await self._outbox.get()
                if item is _CLOSE_SENTINEL:
                    return
                assert isinstance(item, str)
                if self.ws.closed:
                    continue
                await self.ws.send_str(item)
                self.messages_sent += 1
        except asyncio.CancelledError:
            if not self.ws.closed and self.closed:
                # Dropped for not reading: close the socket so the read loop ends.
                with contextlib.suppress(Exception):
                    await self.ws.close(code=p.CloseCode.PROTOCOL_ERROR, message=b"not reading")
            raise
        except (ConnectionError, RuntimeError) as exc:
            logger.info("%s: socket send failed: %s", self.name, exc)
        except Exception:
            logger.exception("%s: sender loop crashed", self.name)
