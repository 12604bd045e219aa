"""A room's line to the media plane: its media-interface commands, carried out in the order given.

`post()` queues a command whose reply nobody waits for (routes, closing a peer connection): it never
blocks the room, and a refusal is logged. `call()` queues one and waits for its reply. One owned task
sends them one after another, so a command never overtakes an earlier one of the same room.
"""

from __future__ import annotations

import asyncio
import logging

from aio import cancel_and_wait
from sfu.interface import Command, MediaError, MediaPlane, Refused, Reply

logger = logging.getLogger(__name__)


class RoomMedia:
    """See module docstring. `start()` once; `stop()` sends what is queued, then ends (safe twice)."""

    def __init__(self, plane: MediaPlane, name: str) -> None:
        self.plane = plane
        self.name = name
        # (command, its reply's future, whether a caller waits for it)
        self._queue: asyncio.Queue[tuple[Command, asyncio.Future[Reply], bool] | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._stopped = False
        self.refusals = 0

    def start(self) -> None:
        if self._task is None and not self._stopped:
            self._task = asyncio.create_task(self._run(), name=f"room-media-{self.name}")

    def post(self, command: Command) -> asyncio.Future[Reply]:
        """Queue `command` without waiting; a refusal is logged, never raised. The future gets the
        reply, for a caller that wants it later."""
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        if self._stopped:
            future.set_result(Refused(code="internal", message="The media for this session is stopping"))
        else:
            self._queue.put_nowait((command, future, False))
        return future

    async def call(self, command: Command) -> Reply:
        """Queue `command` behind the earlier ones and return its reply (Refused included)."""
        if self._stopped:
            return Refused(code="internal", message="The media for this session is stopping")
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((command, future, True))
        return await future

    async def call_ok(self, command: Command) -> Reply:
        """`call()`, raising `MediaError` when the command is refused."""
        reply = await self.call(command)
        if isinstance(reply, Refused):
            raise MediaError(reply)
        return reply

    async def stop(self, within: float = 5.0) -> None:
        """Carry out what is queued (for at most `within` seconds), then stop."""
        if self._stopped:
            return
        self._stopped = True
        task = self._task
        if task is not None:
            self._queue.put_nowait(None)
            with_timeout = asyncio.wait_for(asyncio.shield(task), within)
            try:
                await with_timeout
            except TimeoutError:
                logger.warning("%s: media commands still queued at stop; dropped", self.name)
        await cancel_and_wait(task)
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if item is not None and not item[1].done():
                item[1].set_result(Refused(code="internal", message="The media for this session stopped"))

    async def _run(self) -> None:
        while True:
            item = await self._queue.get()
            if item is None:
                return
            command, future, awaited = item
            try:
                reply: Reply = await self.plane.request(command)
            except asyncio.CancelledError:
                if not future.done():
                    future.set_result(Refused(code="internal", message="The media for this session stopped"))
                raise
            except Exception:
                logger.exception("%s: media command %s failed", self.name, command.type)
                reply = Refused(code="internal", message="The media server could not carry this out")
            if not future.done():
                future.set_result(reply)
            if not awaited and isinstance(reply, Refused):
                self.refusals += 1
                logger.info("%s: media refused %s: %s", self.name, command.type, reply.message)
